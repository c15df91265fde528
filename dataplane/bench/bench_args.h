// Command-line value parsing shared by the haystack-bench subcommands.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace haystack::bench {

// An unsigned integer option value in [lo, hi]; throws std::invalid_argument naming the
// option otherwise.
inline uint64_t to_u64(const std::string& opt, const std::string& v, uint64_t lo, uint64_t hi) {
  size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size() || n < lo || n > hi) {
    throw std::invalid_argument(
        fmt::format("{}: expected an integer in [{}, {}], got '{}'", opt, lo, hi, v));
  }
  return n;
}

}  // namespace haystack::bench
