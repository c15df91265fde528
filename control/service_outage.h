// ServiceOutageDetector: the backend-outage alert of METHODS §6. When an hourly window
// closes, each service's count of detected lines is compared with the same UTC hour of
// the previous day; a fall of more than `drop_percent` raises an event, provided the
// previous day had at least `min_lines` lines (small counts are noise). Services the
// current hitlist no longer lists are not compared (that is a hitlist change, not an
// outage). Keeps 25 hours of counts. Pure logic; IotPipeline turns events into alerts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace haystack::detection {

struct OutageConfig {
  bool enabled = true;
  double drop_percent = 30.0;  // (0, 100]
  uint64_t min_lines = 10;     // previous-day lines needed before a drop counts
};

struct OutageEvent {
  std::string service_key;
  uint64_t hour_start_ns = 0;
  uint64_t lines = 0;
  uint64_t lines_day_before = 0;
  double drop_percent = 0.0;  // 100 * (before - now) / before
};

class ServiceOutageDetector {
 public:
  explicit ServiceOutageDetector(OutageConfig cfg) : cfg_(cfg) {}

  // One closed hourly window: lines per service key (every service of the bundle,
  // including those with 0 lines). Returns the drops, by service key.
  std::vector<OutageEvent> observe_hour(uint64_t hour_start_ns,
                                        const std::map<std::string, uint64_t>& lines);

 private:
  OutageConfig cfg_;
  std::map<uint64_t, std::map<std::string, uint64_t>> hours_;  // by hour start
};

}  // namespace haystack::detection
