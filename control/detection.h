// IoT detection engine (METHODS §3; Saidi et al. IMC 2020, dissertation ch. 5.3-5.4).
// Pure logic, no DPDK: merges per-bin line evidence (detection_evidence.h) into hourly and
// daily UTC windows and, when a window closes, applies the detection rule per line.
//
// Rule (RuleSet): line L shows service S (N = number of IoT-specific domains of S, i.e.
// the domains with a primary or support use for S) when L contacted >= 1 primary domain of
// S and >= k distinct domains of S, where
//   - ThresholdPolicy::kFraction (default): k = max(1, floor(D*N)), D = 0.4 by default
//     (floor with a 1e-9 tolerance so that e.g. 0.3*10 gives 3, not 2);
//   - ThresholdPolicy::kGuoHeidemann (Guo & Heidemann, ISI-TR-726B §II-A2): "at least 2/3
//     of the device server names" when N <= 20, else "at least 1/2": k = ceil(2N/3) for
//     N <= 20, k = ceil(N/2) for N > 20 (so N=1 -> 1, 2 -> 2, 3 -> 2, 20 -> 14, 21 -> 11).
//     The primary-domain requirement is Haystack's and applies to both policies
//     (require_primary, default true).
// N counts only the domains whose uses name S itself: a parent's domain counts towards a
// child only if the bundle lists S among that domain's uses (the model allows a domain to
// serve several services). Hierarchy: a child is detected only if its parent is detected in
// the same window (recursively; a parent cycle means "not detected").
//
// Windows: hour [h, h+1h) and day [d, d+24h) aligned to UTC (Unix time). A bin belongs to
// the windows containing its start. Windows close in close_until(now) when end <= now
// (hours before days with the same end); bins arriving for a closed window are dropped
// and counted in late_bins().
//
// Hygiene: a line with > scanner_max_backend_ips distinct hitlist server IPs in a UTC day
// is a scanner: listed in `scanners`, no detections. The daily window uses the full day;
// an hourly window uses the day-to-date count known when the hour closes (so a line can
// be reported in early hours before it crosses the threshold later that day).
//
// Active use: packets of the line to S in an hour >= active_min_packets marks the line
// active for S in that hour. A daily detection is active when at least one hour of that
// day was active (active_hours counts them).
//
// Time to first detection: for every (line, service key) the earliest window end at which
// the rule held, over the whole run (hourly and daily windows both count);
// time_to_detect_ns = that window end - the first hitlist packet of the line in the run.
// The first time a pair is detected a FirstDetection is also put in new_detections.
//
// Mirai-like scan event: a line with >= 1 detection in the window and more than
// scan_alert_min_destinations distinct destinations of TCP connection attempts on ports
// 23/2323/22 in that window.
//
// Line ids in every output are Pseudonymizer::id() of the line. Not thread-safe: one
// control thread owns the engine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/detection_evidence.h"
#include "control/pseudonym.h"
#include "signatures/hitlist.h"

namespace haystack::detection {

inline constexpr uint64_t kHourNs = 3600ULL * 1'000'000'000ULL;
inline constexpr uint64_t kDayNs = 24 * kHourNs;

enum class ThresholdPolicy : uint8_t { kFraction = 0, kGuoHeidemann = 1 };

struct DetectionConfig {
  ThresholdPolicy policy = ThresholdPolicy::kFraction;
  double fraction_d = 0.4;                  // D, in (0, 1]
  bool require_primary = true;              // >= 1 primary domain of S
  uint64_t scanner_max_backend_ips = 100;   // per UTC day; more => scanner
  uint64_t active_min_packets = 10;         // per hour per service; >= => active
  uint64_t scan_alert_min_destinations = 20;  // K; more distinct targets => scan event
};

// Throws std::invalid_argument naming the field if the config is unusable (D outside
// (0,1], a count threshold not below BoundedDistinctSet::kCapacity).
void validate(const DetectionConfig& cfg);

// k for a service with N domains (see the header comment). N = 0 gives 1 (never met).
uint32_t required_domains(const DetectionConfig& cfg, uint32_t n);

// The rule compiled from a bundle.
class RuleSet {
 public:
  // Throws std::invalid_argument if ids are not indices or references dangle.
  RuleSet(std::shared_ptr<const hitlist::Bundle> bundle, const DetectionConfig& cfg);

  const hitlist::Bundle& bundle() const { return *bundle_; }
  uint32_t domain_count(hitlist::ServiceId s) const { return uint32_t(svc_[s].domains.size()); }
  uint32_t required(hitlist::ServiceId s) const { return svc_[s].required; }
  // Rule alone (no hierarchy) for one service, given the sorted distinct domains contacted.
  bool rule_holds(hitlist::ServiceId s, std::span<const hitlist::DomainId> contacted) const;
  // Services detected (rule + hierarchy), ascending.
  std::vector<hitlist::ServiceId> detect(std::span<const hitlist::DomainId> contacted) const;
  // The contacted domains that belong to S, ascending.
  std::vector<hitlist::DomainId> evidence(hitlist::ServiceId s,
                                          std::span<const hitlist::DomainId> contacted) const;

 private:
  struct Svc {
    std::vector<hitlist::DomainId> domains;  // sorted
    std::vector<hitlist::DomainId> primary;  // sorted
    uint32_t required = 1;
  };
  std::shared_ptr<const hitlist::Bundle> bundle_;
  DetectionConfig cfg_;
  std::vector<Svc> svc_;
};

enum class WindowKind : uint8_t { kHour = 0, kDay = 1 };
std::string_view window_kind_name(WindowKind k);  // "hour", "day"

struct Detection {
  std::string line;                  // pseudonymised line id
  hitlist::ServiceId service = 0;
  std::string service_key;
  hitlist::Level level = hitlist::Level::kPlatform;
  std::vector<std::string> domains;  // evidence: contacted fqdns of the service, sorted
  uint32_t domains_required = 0;     // k
  uint32_t domains_total = 0;        // N
  uint64_t packets = 0;              // to the service's domains in the window
  uint64_t bytes = 0;
  uint64_t first_seen_ns = 0;        // first / last packet to the service in the window
  uint64_t last_seen_ns = 0;
  bool active = false;
  uint32_t active_hours = 0;         // hourly window: 0/1; daily: active hours that day
};

struct ServiceLineCount {
  hitlist::ServiceId service = 0;
  std::string service_key;
  hitlist::Level level = hitlist::Level::kPlatform;
  uint64_t lines = 0;         // lines with a detection in the window
  uint64_t active_lines = 0;  // of which active
};

struct FirstDetection {
  std::string line;
  std::string service_key;
  hitlist::Level level = hitlist::Level::kPlatform;
  WindowKind kind = WindowKind::kHour;  // the window in which the rule first held
  uint64_t window_start_ns = 0;
  uint64_t detected_at_ns = 0;          // that window's end
  uint64_t line_first_seen_ns = 0;      // first hitlist packet of the line in the run
  uint64_t time_to_detect_ns = 0;       // detected_at - line_first_seen (0 if negative)
};

struct ScannerLine {
  std::string line;
  uint64_t backend_ips = 0;  // distinct hitlist server IPs (day-to-date)
  bool saturated = false;    // count is a lower bound (>= BoundedDistinctSet::kCapacity)
};

struct ScanPortEvent {
  std::string line;
  uint64_t destinations = 0;  // distinct targets on 23/2323/22 in the window
  bool saturated = false;
  uint64_t connections = 0;
  std::vector<std::string> services;  // keys of the services detected on the line
};

struct WindowReport {
  WindowKind kind = WindowKind::kHour;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t lines = 0;                          // lines with evidence in the window
  std::vector<Detection> detections;           // by (line, service)
  std::vector<ServiceLineCount> service_counts;  // every service of the bundle, by id
  std::vector<FirstDetection> new_detections;  // first-detection alerts
  std::vector<ScannerLine> scanners;
  std::vector<ScanPortEvent> scan_events;
};

class DetectionEngine {
 public:
  // Validates cfg and the bundle (throws std::invalid_argument).
  DetectionEngine(DetectionConfig cfg, std::shared_ptr<const hitlist::Bundle> bundle,
                  Pseudonymizer ids);

  // A new hitlist generation: evidence of open windows is remapped by fqdn / service key
  // (domains and services absent from the new bundle are dropped from open windows).
  void set_bundle(std::shared_ptr<const hitlist::Bundle> bundle);
  const RuleSet& rules() const { return *rules_; }

  // Merge one bin (DomainIds / ServiceIds refer to the current bundle).
  void add_bin(const BinEvidence& bin);
  // Close every window with end <= now_ns, in order of end (hours first).
  std::vector<WindowReport> close_until(uint64_t now_ns);
  // Close every open window (end of replay / shutdown).
  std::vector<WindowReport> close_all();

  // Earliest detection per (pseudonymised line, service key) over the run.
  std::vector<FirstDetection> first_detections() const;
  uint64_t late_bins() const { return late_bins_; }
  size_t open_windows() const { return hours_.size() + days_.size(); }

 private:
  struct LineWindow {
    LineBinEvidence ev;
    std::map<hitlist::ServiceId, uint32_t> active_hours;  // daily windows only
  };
  using Lines = std::unordered_map<LineId, LineWindow, LineIdHash>;
  struct FirstKey {
    LineId line;
    std::string service_key;
    bool operator<(const FirstKey& o) const {
      if (line == o.line) return service_key < o.service_key;
      return line < o.line;
    }
  };

  WindowReport close_window(WindowKind kind, uint64_t start, Lines& lines);
  std::vector<WindowReport> close_if(uint64_t now_ns, bool all);

  DetectionConfig cfg_;
  std::unique_ptr<RuleSet> rules_;
  Pseudonymizer ids_;
  std::map<uint64_t, Lines> hours_;  // by window start
  std::map<uint64_t, Lines> days_;
  uint64_t hours_closed_until_ = 0;  // windows ending at or before this are closed
  uint64_t days_closed_until_ = 0;
  uint64_t late_bins_ = 0;
  std::unordered_map<LineId, uint64_t, LineIdHash> line_first_seen_;
  std::map<FirstKey, FirstDetection> first_;
};

}  // namespace haystack::detection
