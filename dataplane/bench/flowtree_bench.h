// haystack-bench flowtree-accuracy / flowtree-speed (docs/benchmarks.md, "Flowtree accuracy
// and speed"). Neither needs EAL: they run the Flowtree library on traffic held in memory.
#pragma once

#include <string_view>

namespace haystack::bench {

// True for the subcommands this file implements.
bool is_flowtree_subcommand(std::string_view cmd);

// argv[1] is the subcommand; returns the process exit code (2 on bad arguments).
int flowtree_main(int argc, char** argv);

}  // namespace haystack::bench
