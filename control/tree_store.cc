#include "control/tree_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "dataplane/flowtree/flowtree_io.h"

namespace haystack {

TreeStore::TreeStore(std::string root, std::string site)
    : root_(std::move(root)), site_(std::move(site)) {}

std::string TreeStore::granularity_label(uint32_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

std::string TreeStore::period_label(uint64_t start_ns) {
  std::time_t t = std::time_t(start_ns / 1'000'000'000ULL);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string TreeStore::path_for(uint32_t seconds, uint64_t start_ns, std::string_view fs) const {
  return root_ + "/" + site_ + "/" + granularity_label(seconds) + "/" + period_label(start_ns) +
         "/" + std::string(fs) + ".ftr";
}

void TreeStore::write(const SiteTrees& s) {
  for (const auto& t : s.trees) {
    const std::string path =
        path_for(s.seconds, s.start_ns, flowtree::feature_set_name(t.config().feature_set));
    try {
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      std::vector<uint8_t> bytes = flowtree::serialize(t);
      const std::string tmp = path + ".tmp";
      {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        if (!f) throw std::runtime_error("write failed");
      }
      std::filesystem::rename(tmp, path);
      ++c_.trees_written;
      c_.bytes_written += bytes.size();
    } catch (const std::exception& e) {
      ++c_.write_errors;
      spdlog::error("flowtree store: cannot write '{}': {}", path, e.what());
    }
  }
}

}  // namespace haystack
