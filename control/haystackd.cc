// haystackd: command line front end. Options before `--` are ours, the rest go to EAL.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "control/daemon.h"
#include "haystack_version.h"

int main(int argc, char** argv) {
  std::vector<std::string> ours, eal;
  bool after = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!after && a == "--") {
      after = true;
      continue;
    }
    (after ? eal : ours).push_back(a);
  }

  haystack::DaemonOptions opt;
  opt.prog = argv[0];
  opt.eal_args = eal;
  CLI::App app{
      "haystackd: line-rate packet summaries and IoT detection on DPDK ports.\n"
      "Options go before `--`, EAL arguments after it.\n"
      "Ports and worker lcores come from the config; EAL arguments such as --no-huge,\n"
      "-m 512, --file-prefix or --lcores may follow `--`. Exit codes: 0 ok, 1 runtime\n"
      "failure, 2 bad configuration or usage.",
      "haystackd"};
  app.footer("Synopsis: haystackd --config FILE [OPTIONS] [-- EAL arguments]");
  app.add_option("-c,--config", opt.config_path, "YAML configuration file (docs/operations.md)")
      ->required()
      ->type_name("FILE");
  app.add_flag("--check-config", opt.check_only, "validate the configuration and exit");
  std::string idle;
  app.add_option("--until-idle", idle,
                 "exit after no packet arrived for MS milliseconds (default 1000); for "
                 "replay of pcap files")
      ->expected(0, 1)
      ->type_name("[MS]");
  app.add_option("--stats-out", opt.stats_out,
                 "write the final JSON statistics document to FILE ('-' = stdout, the default)")
      ->type_name("FILE");
  app.set_version_flag("--version", std::string("haystackd ") + HAYSTACK_VERSION);
  std::reverse(ours.begin(), ours.end());
  try {
    app.parse(ours);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : haystack::kExitConfig;
  }
  if (app.count("--until-idle") > 0) {
    opt.until_idle = true;
    if (!idle.empty()) {
      try {
        size_t pos = 0;
        unsigned long v = std::stoul(idle, &pos);
        if (pos != idle.size() || v == 0 || v > 3'600'000) throw std::out_of_range("range");
        opt.idle_ms = uint32_t(v);
      } catch (const std::exception&) {
        std::fprintf(stderr, "haystackd: --until-idle: expected milliseconds 1..3600000, got '%s'\n",
                     idle.c_str());
        return haystack::kExitConfig;
      }
    }
  }
  return haystack::run_daemon(opt);
}
