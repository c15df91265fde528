// LogLimiter: keeps repeated warnings from flooding the log. At most `burst` messages
// per key (e.g. alert type + subject) within a window; the rest are counted, and the
// next message that gets through says how many of its kind were suppressed. The alert
// file itself is never limited, only the log copy. Control threads only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace haystack {

class LogLimiter {
 public:
  // burst 0: unlimited.
  explicit LogLimiter(uint32_t burst = 10, uint64_t window_ns = 60'000'000'000ULL)
      : burst_(burst), window_ns_(window_ns) {}

  // Whether a message for `key` may be logged at `now_ns`; if so, `suppressed` is the
  // number of messages for that key dropped since the last one logged.
  bool allow(std::string_view key, uint64_t now_ns, uint64_t& suppressed);
  uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  struct Slot {
    uint64_t window_start = 0;
    uint32_t in_window = 0;
    uint64_t suppressed = 0;
  };
  static constexpr size_t kMaxKeys = 4096;  // beyond: idle keys are forgotten

  uint32_t burst_;
  uint64_t window_ns_;
  std::unordered_map<std::string, Slot> slots_;
  uint64_t suppressed_total_ = 0;
};

}  // namespace haystack
