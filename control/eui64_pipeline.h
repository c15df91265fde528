// Eui64Pipeline: IPv6 EUI-64 exposure reports (METHODS §5). Merges the workers' per-bin
// (/56, MAC) tables into hourly and daily UTC windows and, when a window closes, writes
// one JSON line to <state_dir>/eui64/eui64.jsonl: the /56 prefixes seen on the
// subscriber side, those with at least one EUI-64 address (the exposed share), and the
// manufacturers of the MACs by the longest IEEE registry match, flagged IoT-only when
// the organisation matches `eui64.iot_manufacturers`. Prefixes and MACs are
// pseudonymised like line ids; MACs never leave in clear unless pseudonymisation is off.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/pseudonym.h"
#include "dataplane/bin_record.h"
#include "signatures/oui_db.h"

namespace haystack {

class Eui64Pipeline {
 public:
  // Loads the OUI registries (throws ConfigError / std::runtime_error).
  explicit Eui64Pipeline(const Config& cfg);

  void add(const BinRecord& rec);
  // Every worker has moved past now_ns: close windows that ended.
  void advance(uint64_t now_ns);
  void finish();
  // The last closed hourly and daily reports (haystackctl eui64) and run counters.
  nlohmann::ordered_json summary() const;
  const nlohmann::ordered_json& last_report(bool daily) const { return daily ? last_day_ : last_hour_; }
  // Every closed window's report (the object written to eui64.jsonl) also goes to each
  // sink (store, exporters).
  using ReportSink = std::function<void(const nlohmann::ordered_json&)>;
  void add_report_sink(ReportSink sink) { report_sinks_.push_back(std::move(sink)); }

 private:
  struct Window {
    std::map<uint64_t, std::set<uint64_t>> prefixes;  // /56 -> MACs (empty: no EUI-64)
  };
  void close(bool daily, uint64_t start, const Window& w);
  std::string manufacturer(uint64_t mac, bool& iot_only) const;

  const Config& cfg_;
  Pseudonymizer ids_;
  oui::OuiDb db_;
  std::map<uint64_t, Window> hours_, days_;  // by window start
  std::ofstream out_;
  nlohmann::ordered_json last_hour_, last_day_;
  std::vector<ReportSink> report_sinks_;
  uint64_t windows_closed_ = 0;
  uint64_t late_bins_ = 0;
  uint64_t closed_hours_until_ = 0, closed_days_until_ = 0;
};

}  // namespace haystack
