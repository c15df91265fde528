// Logging setup (spdlog). Control threads only: nothing logs on the packet path.
#pragma once

#include <cstdint>
#include <string>

namespace haystack {

struct LogSetup {
  std::string level = "info";
  bool json = false;
  std::string file;  // empty: stderr
  uint32_t max_file_mb = 64;
  uint32_t max_files = 5;
};

// Installs the default logger. Throws std::runtime_error if the file cannot be opened.
void setup_logging(const LogSetup& s);

}  // namespace haystack
