#include "telemetry/log_limiter.h"

namespace haystack {

bool LogLimiter::allow(std::string_view key, uint64_t now_ns, uint64_t& suppressed) {
  suppressed = 0;
  if (burst_ == 0) return true;
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= kMaxKeys) {
      std::erase_if(slots_, [&](const auto& kv) {
        return kv.second.suppressed == 0 && now_ns - kv.second.window_start >= window_ns_;
      });
    }
    it = slots_.emplace(std::string(key), Slot{now_ns, 0, 0}).first;
  }
  Slot& s = it->second;
  if (now_ns - s.window_start >= window_ns_) {
    s.window_start = now_ns;
    s.in_window = 0;
  }
  if (s.in_window >= burst_) {
    ++s.suppressed;
    ++suppressed_total_;
    return false;
  }
  ++s.in_window;
  suppressed = s.suppressed;
  s.suppressed = 0;
  return true;
}

}  // namespace haystack
