#include "control/service_outage.h"

#include "control/detection.h"

namespace haystack::detection {

std::vector<OutageEvent> ServiceOutageDetector::observe_hour(
    uint64_t hour_start_ns, const std::map<std::string, uint64_t>& lines) {
  std::vector<OutageEvent> out;
  if (!cfg_.enabled) return out;
  hours_[hour_start_ns] = lines;
  while (!hours_.empty() && hours_.begin()->first + kDayNs < hour_start_ns) {
    hours_.erase(hours_.begin());
  }
  if (hour_start_ns < kDayNs) return out;
  auto prev = hours_.find(hour_start_ns - kDayNs);
  if (prev == hours_.end()) return out;
  for (const auto& [key, now] : lines) {
    auto it = prev->second.find(key);
    if (it == prev->second.end() || it->second < cfg_.min_lines || now >= it->second) continue;
    double drop = 100.0 * double(it->second - now) / double(it->second);
    if (drop > cfg_.drop_percent) out.push_back({key, hour_start_ns, now, it->second, drop});
  }
  return out;
}

}  // namespace haystack::detection
