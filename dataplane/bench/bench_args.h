// Command-line value parsing shared by the haystack-bench subcommands.
#pragma once

#include <cstdint>
#include <cstdio>
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

// The shape every subcommand's main shares: parse (usage and exit 2 on a bad option),
// --help, then run (exit 1 with the error on failure). `run` returns the exit code.
template <typename Parse, typename Run>
int run_subcommand(const char* name, const char* usage, Parse parse, Run run) {
  decltype(parse()) o;
  try {
    o = parse();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "haystack-bench: %s\n\n%s", e.what(), usage);
    return 2;
  }
  if (o.help) {
    std::fputs(usage, stdout);
    return 0;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "haystack-bench %s: %s\n", name, e.what());
    return 1;
  }
}

}  // namespace haystack::bench
