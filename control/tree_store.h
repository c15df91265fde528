// TreeStore: persists completed site trees as serialized Flowtree files in the state
// directory, one file per (site, granularity, period start, feature set):
//   <root>/<site>/<granularity>/<YYYYMMDDTHHMMSSZ>/<FEATURE_SET>.ftr
// granularity is "1m", "15m", "1h", "1d" for those lengths, else "<seconds>s". Files are
// written to a temporary name and renamed, so a reader never sees a partial tree.
// (A database backend replaces this with the storage work; the layout stays readable
// by `haystack-flowtree`.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/flow_summaries.h"

namespace haystack {

struct TreeStoreCounters {
  uint64_t trees_written = 0;
  uint64_t bytes_written = 0;
  uint64_t write_errors = 0;  // each also logged; the daemon keeps running
};

class TreeStore {
 public:
  TreeStore(std::string root, std::string site);
  void write(const SiteTrees& s);
  const TreeStoreCounters& counters() const { return c_; }

  static std::string granularity_label(uint32_t seconds);
  static std::string period_label(uint64_t start_ns);  // 20261101T100000Z
  std::string path_for(uint32_t seconds, uint64_t start_ns, std::string_view fs) const;

 private:
  std::string root_;
  std::string site_;
  TreeStoreCounters c_;
};

}  // namespace haystack
