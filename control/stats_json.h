// The final statistics document of a run (`--stats-out`), built from plain snapshots so
// it is testable without DPDK. It holds no wall-clock values: two replays of the same
// input and config give byte-identical documents.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/control_socket.h"
#include "control/flow_summaries.h"
#include "control/store/store_counters.h"
#include "control/tree_store.h"
#include "dataplane/bin_record.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/worker_counters.h"

namespace haystack {

struct WorkerSnapshot {
  uint32_t worker_id = 0;
  unsigned lcore = 0;
  std::vector<std::pair<std::string, uint16_t>> queues;  // (port name, queue)
  std::vector<std::pair<std::string, uint64_t>> counters;
  std::vector<std::pair<std::string, uint64_t>> parse_errors;  // every reason, zeros included
  // On-the-wire learning: "dns_<reason>" and "sni_<reason>", every reason, zeros included.
  std::vector<std::pair<std::string, uint64_t>> learning_errors;

  static WorkerSnapshot from(uint32_t id, unsigned lcore, const WorkerCounters& c);
};

struct PortSnapshot {
  PortInfo info;
  std::string device;
  PortStats stats;
};

// Per-bin totals over all workers, keyed by bin start.
struct BinTotals {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t records = 0;  // worker records merged into this bin
  uint64_t packets = 0, bytes = 0, ip_packets = 0, sampled_flow = 0, sampled_iot = 0,
           parse_errors = 0, new_flows = 0;
  void add(const BinRecord& r);
};

struct ControlCounters {
  uint64_t bins_received = 0;
  uint64_t bins_evicted = 0;  // oldest bins dropped from the in-memory window
  uint64_t alerts_emitted = 0;
  uint64_t alert_write_errors = 0;
  uint64_t alert_log_suppressed = 0;  // wall-clock dependent: /metrics only, not the document
  ControlSocketCounters socket;  // zeros when nobody connected
};

struct StatsSnapshot {
  std::string version;
  const Config* config = nullptr;
  ClockSource clock = ClockSource::kWall;  // resolved (never kAuto)
  std::vector<PortSnapshot> ports;
  std::vector<WorkerSnapshot> workers;
  std::map<uint64_t, BinTotals> bins;
  ControlCounters control;
  FlowSummaryCounters flow;
  TreeStoreCounters store;     // tree files (flowtree.persist)
  std::string store_backend;   // empty: no store backend
  store::StoreCounters store_db;
  nlohmann::ordered_json iot;  // IoT detection summary; null when IoT is off
  nlohmann::ordered_json eui64;  // EUI-64 exposure summary; null when off
  nlohmann::ordered_json ipfix;  // IPFIX exporter counters; null when export is off
  nlohmann::ordered_json learning;  // on-the-wire learning summary; null when off
};

nlohmann::ordered_json stats_to_json(const StatsSnapshot& s);

}  // namespace haystack
