// Loader for the hitlist text format (docs/hitlist-format.md): parse + strict validation.
// Every problem throws HitlistError whose what() reads "file:line: field: message".
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "signatures/hitlist.h"

namespace haystack::hitlist {

inline constexpr int kFormatVersion = 1;

class HitlistError : public std::runtime_error {
 public:
  HitlistError(std::string file, int line, std::string field, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }            // 1-based; 0 = not tied to a line
  const std::string& field() const { return field_; }  // e.g. "endpoint.port"
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string field_;
  std::string message_;
};

// Size limits. The defaults are the format's hard limits; smaller values let callers
// (and tests) bound memory.
struct Limits {
  size_t max_services = 65534;          // ServiceId 0xffff is kNoService
  size_t max_domains = size_t{4} << 20;     // 4 Mi
  size_t max_endpoints = size_t{16} << 20;  // 16 Mi
  size_t max_line = 4096;               // bytes, without the line terminator
};

// Reads and validates a bundle file. Bundle::source is set to path.
Bundle load_bundle(const std::string& path, const Limits& limits = {});
// Parses and validates text; name is used in error messages and as Bundle::source.
Bundle parse_bundle(std::string_view text, const std::string& name, const Limits& limits = {});

// Helpers shared with tools and tests.
bool valid_date(std::string_view yyyy_mm_dd);
// Lower-cases, strips one trailing dot; returns false if not a valid host name
// (labels 1..63 of [a-z0-9_-], total <= 253).
bool normalize_fqdn(std::string_view in, std::string& out);

}  // namespace haystack::hitlist
