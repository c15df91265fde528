// /haystack/* commands on DPDK's telemetry socket (<runtime dir>/dpdk_telemetry.v2,
// e.g. `dpdk-telemetry.py -f <file-prefix>`): stats, per-worker stats, hitlist, bins.
// DPDK runs the callbacks on its telemetry thread, so they read only the JSON statistics
// document that control publishes here once a second, never live daemon state.
#pragma once

#include <nlohmann/json.hpp>

namespace haystack {

// Registers the commands (once per process); throws std::runtime_error if DPDK refuses.
void register_telemetry_commands();
// Replaces the document the commands answer from (stats_to_json output).
void publish_telemetry(nlohmann::ordered_json stats);

}  // namespace haystack
