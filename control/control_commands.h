// ControlCommands: the handlers behind the control socket (docs/control-protocol.md).
// They run on the control thread (ControlSocket::dispatch) and only read daemon state,
// through a ControlContext the daemon fills in once. No DPDK here, so they are testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/control_socket.h"
#include "control/eui64_pipeline.h"
#include "control/iot_pipeline.h"
#include "control/stats_json.h"
#include "control/flowql/tree_source.h"
#include "control/tree_store.h"

namespace haystack {

// The last alerts, as emitted (AlertSink listener), for `alerts`.
class RecentAlerts {
 public:
  explicit RecentAlerts(size_t capacity = 1000) : capacity_(capacity) {}
  void add(uint64_t time_ns, std::string line);
  struct Entry {
    uint64_t time_ns;
    std::string line;
  };
  const std::deque<Entry>& entries() const { return entries_; }
  uint64_t evicted() const { return evicted_; }

 private:
  size_t capacity_;
  std::deque<Entry> entries_;
  uint64_t evicted_ = 0;
};

struct HitlistReloadOutcome {
  bool ok = false;
  uint64_t generation = 0;  // active afterwards
  std::string error;        // why the bundle was rejected
};

struct ControlContext {
  const Config* config = nullptr;
  std::string version;
  std::chrono::steady_clock::time_point started;
  uint64_t started_wall_ns = 0;
  std::function<StatsSnapshot()> snapshot;  // counters now (control thread)
  std::function<bool()> input_idle;         // every worker idle at the last bin drain
  const IotPipeline* iot = nullptr;        // null: IoT detection off
  const Eui64Pipeline* eui64 = nullptr;    // null: eui64.enabled is false
  // Loads, validates and publishes a bundle (the daemon's reload, as SIGHUP does).
  std::function<HitlistReloadOutcome(const std::string& path)> hitlist_reload;
  // The stored site trees of this site (the store backend, else the tree files); null:
  // nothing persisted.
  const flowql::TreeSource* trees = nullptr;
  // Runs FlowQL over the stored trees: the result as JSON, or {"text": tables} when
  // `text`. Throws CommandError("bad_query", message pointing at the column).
  std::function<nlohmann::ordered_json(const std::string& query, bool text)> flowql;
  const RecentAlerts* alerts = nullptr;
};

class ControlCommands {
 public:
  explicit ControlCommands(ControlContext ctx) : ctx_(std::move(ctx)) {}
  // Throws CommandError (unknown_command, bad_args, not_found, not_configured,
  // unsupported, reload_failed, bad_query).
  ControlReply operator()(const ControlRequest& r) const;

  static const std::vector<std::string>& names();
  // Integer nanoseconds, "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS[.fraction]]Z" (UTC).
  static std::optional<uint64_t> parse_time(const nlohmann::json& v);

 private:
  nlohmann::ordered_json status() const;
  nlohmann::ordered_json stats(const nlohmann::json& args) const;
  nlohmann::ordered_json hitlist_show() const;
  nlohmann::ordered_json hitlist_reload(const nlohmann::json& args) const;
  nlohmann::ordered_json detections(const nlohmann::json& args) const;
  nlohmann::ordered_json services(const nlohmann::json& args) const;
  ControlReply alerts(const nlohmann::json& args) const;
  nlohmann::ordered_json query(const nlohmann::json& args) const;
  nlohmann::ordered_json eui64(const nlohmann::json& args) const;
  nlohmann::ordered_json tree_query(const std::string& cmd, const nlohmann::json& args) const;
  const IotPipeline& iot() const;

  ControlContext ctx_;
};

}  // namespace haystack
