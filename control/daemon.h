// Daemon: haystackd's lifecycle. Loads the config, brings up EAL, ports and workers,
// runs control on the main lcore (bin collection, drop alerts, idle detection) and shuts
// down cleanly on SIGINT/SIGTERM or, in replay, when the input is exhausted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace haystack {

struct DaemonOptions {
  std::string config_path;
  bool check_only = false;      // validate config and exit
  bool until_idle = false;      // exit once no packet arrived for idle_ms
  uint32_t idle_ms = 1000;
  std::string stats_out;        // "-" or empty: stdout (replay prints it there by default)
  std::vector<std::string> eal_args;
  std::string prog = "haystackd";
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitConfig = 2;

int run_daemon(const DaemonOptions& opt);

}  // namespace haystack
