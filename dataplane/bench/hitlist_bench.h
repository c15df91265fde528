// haystack-bench hitlist-lookup (docs/benchmarks.md, "Hitlist lookups"): HitlistTable
// lookups per second on one core against a synthetic bundle held in memory. No EAL.
#pragma once

#include <string>
#include <string_view>

namespace haystack::bench {

// True for the subcommands this file implements.
bool is_hitlist_subcommand(std::string_view cmd);

// argv[1] is the subcommand; `cpu` is the CPU model string for the report (haystack_bench.cc
// cpu_model()). Returns the process exit code (2 on bad arguments).
int hitlist_main(int argc, char** argv, const std::string& cpu);

}  // namespace haystack::bench
