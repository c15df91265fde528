// Store: where control keeps what it has once a bin, window or alert is complete.
// Two backends implement it: SqliteStore (embedded default, one file in the state
// directory) and ClickHouseStore (network-wide, rows over the HTTP interface). Both are
// also FlowQL tree sources, so queries run on either.
//
// Threading: every put_* is called on the control thread and must return quickly. A
// backend that talks to a remote server queues (bounded) and writes from its own
// thread; what it cannot keep is counted in StoreCounters::dropped_rows, never blocks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/alert_sink.h"
#include "control/detection.h"
#include "control/flow_summaries.h"
#include "control/flowql/tree_source.h"
#include "control/store/store_counters.h"

namespace haystack::store {

// One loaded hitlist generation, as recorded for audit.
struct HitlistGenerationRow {
  uint64_t number = 0;
  std::string path;
  std::string valid_from;   // YYYY-MM-DD
  std::string valid_until;  // YYYY-MM-DD
  uint64_t services = 0;
  uint64_t endpoints = 0;
  uint64_t loaded_ns = 0;   // wall clock
  std::string trigger;      // "start", "SIGHUP", "haystackctl"
};

class Store : public flowql::TreeSource {
 public:
  ~Store() override = default;
  // A completed site tree set (a bin, or a roll-up FlowSummaries produced).
  virtual void put_trees(const SiteTrees& s) = 0;
  // Closed hourly/daily IoT windows: detections and per-service line counts.
  virtual void put_windows(const std::vector<detection::WindowReport>& reports) = 0;
  // One closed EUI-64 window report, the JSON object Eui64Pipeline writes per window.
  virtual void put_eui64(const nlohmann::ordered_json& report) = 0;
  virtual void put_alert(const Alert& a) = 0;
  virtual void put_hitlist_generation(const HitlistGenerationRow& g) = 0;
  // Makes everything accepted so far durable (shutdown); bounded in time for remote
  // backends, which count what they could not write.
  virtual void flush() = 0;
  virtual StoreCounters counters() const = 0;
  virtual std::string_view backend_name() const = 0;  // "sqlite", "clickhouse"
};

}  // namespace haystack::store
