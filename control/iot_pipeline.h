// IotPipeline: everything control does for IoT detection. Loads and compiles the hitlist
// bundle for the workers, turns each worker's closed per-bin evidence table into
// detection evidence, runs the detection engine over hourly and daily windows, and
// reports: one JSON line per detection and per window summary in
// <state_dir>/detections/detections.jsonl, first-detection and telnet/ssh-scan alerts,
// and a summary for the statistics document.
#pragma once

#include <cstdint>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "control/alert_sink.h"
#include "control/config.h"
#include "control/detection.h"
#include "dataplane/bin_record.h"
#include "control/service_outage.h"
#include "signatures/hitlist_generation.h"

namespace haystack {

// Where subscriber lines live (mode, prefixes, line lengths), for the workers' IoT and
// EUI-64 stages; the hitlist table is added by IotPipeline.
IotSettings subscriber_settings(const Config& cfg);

class IotPipeline {
 public:
  // Throws ConfigError (bad hitlist file: file, line, field) or std::runtime_error.
  // `names` (on-the-wire learning): every generation also gets its name matcher.
  IotPipeline(const Config& cfg, AlertSink& alerts,
              const hitlist::NameMatcherSpec* names = nullptr);

  // Settings for the workers' IoT stage (the daemon adds a HitlistSource per worker).
  IotSettings worker_settings() const;

  using GenerationPtr = std::shared_ptr<const hitlist::Generation>;
  const GenerationPtr& current() const { return current_; }
  // Loads, validates and compiles the next generation (throws hitlist::HitlistError or
  // std::exception); nothing changes until adopt().
  GenerationPtr load(const std::string& path) const;
  // `g` is now what the workers adopt: the engine remaps open windows to it.
  void adopt(GenerationPtr g);
  void reload_failed() { ++reloads_failed_; }
  void forget(uint64_t generation);
  // One worker's closed bin.
  void add(const BinRecord& rec);
  // Every worker has moved past now_ns (start of the slowest open bin): close windows.
  void advance(uint64_t now_ns);
  void finish();
  nlohmann::ordered_json summary() const;
  // Also hands every batch of closed windows to each sink (IPFIX exporter, store).
  using ReportSink = std::function<void(const std::vector<detection::WindowReport>&)>;
  void add_report_sink(ReportSink sink) { report_sinks_.push_back(std::move(sink)); }

  // Read-only views for the control socket (control thread only). Bounded: the oldest
  // entries go first and are counted.
  struct ReportedDetection {
    detection::WindowKind kind = detection::WindowKind::kHour;
    uint64_t window_start_ns = 0;
    detection::Detection d;
  };
  struct WindowServiceLines {
    detection::WindowKind kind = detection::WindowKind::kHour;
    uint64_t start_ns = 0;
    std::vector<detection::ServiceLineCount> services;  // those with lines > 0
  };
  static constexpr size_t kRecentDetections = 100000;
  static constexpr size_t kRecentWindows = 24 * 14 + 14;  // two weeks of hours and days
  const std::deque<ReportedDetection>& recent_detections() const { return recent_; }
  const std::deque<WindowServiceLines>& recent_windows() const { return windows_; }
  uint64_t detections_evicted() const { return recent_evicted_; }
  // One detection as written to detections.jsonl.
  static nlohmann::ordered_json detection_json(const ReportedDetection& r);

 private:
  void report(const std::vector<detection::WindowReport>& reports);
  void check_outage(const detection::WindowReport& w);
  void log_generation(const char* what) const;

  const Config& cfg_;
  AlertSink& alerts_;
  const hitlist::NameMatcherSpec* names_ = nullptr;
  GenerationPtr current_;
  std::map<uint64_t, GenerationPtr> older_;  // retired, records may still arrive
  std::map<uint64_t, detection::BundleIdMap> id_maps_;  // older generation -> current
  std::unique_ptr<detection::DetectionEngine> engine_;
  detection::ServiceOutageDetector outage_;
  uint64_t reloads_ = 0;
  uint64_t reloads_failed_ = 0;
  uint64_t records_unknown_generation_ = 0;  // evidence dropped: bundle already freed
  uint64_t records_translated_ = 0;
  std::ofstream out_;
  std::string out_path_;
  uint64_t windows_closed_ = 0;
  uint64_t detections_written_ = 0;
  uint64_t bins_ = 0;
  uint64_t lines_truncated_ = 0;  // per-line bounds hit: evidence incomplete for that bin
  // service key -> lines detected in the last closed daily window
  std::map<std::string, std::pair<uint64_t, uint64_t>> last_day_counts_;
  uint64_t last_day_start_ = 0;
  std::string stale_day_alerted_;  // the last day a hitlist_stale alert was written for
  std::vector<ReportSink> report_sinks_;  // closed windows: IPFIX exporter, store
  std::deque<ReportedDetection> recent_;
  uint64_t recent_evicted_ = 0;
  std::deque<WindowServiceLines> windows_;
};

}  // namespace haystack
