// FlowSummaries: turns the workers' per-core Flowtrees into one site tree per
// (bin, feature set) and rolls those up by merge (e.g. 1 min -> 15 min -> 1 h -> 1 d).
//
// Determinism: per-core trees of one bin are merged into a site tree sized to hold the
// union of all of them, so no compress runs during those merges and the result does not
// depend on the order in which workers' records arrive. The site tree is compressed to
// the budget once, when the bin completes; roll-ups then merge completed bins in time
// order. A bin completes when every worker has sent a later bin (or finished); at most
// `max_pending` bins are kept open, the oldest is completed early beyond that, and a
// record arriving for an already completed bin is merged into the oldest open one and
// counted (late_records).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/bin_record.h"
#include "dataplane/flowtree/flowtree.h"

namespace haystack {

struct SiteTrees {
  uint32_t seconds = 0;  // granularity: bin length or a roll-up length
  uint64_t start_ns = 0;
  uint64_t records = 0;  // per-core trees (or finer site trees) merged in
  std::vector<flowtree::Flowtree> trees;  // one per feature set, config order
};

struct FlowSummaryCounters {
  uint64_t bins_completed = 0;
  uint64_t rollups_completed = 0;
  uint64_t late_records = 0;
  uint64_t forced_completions = 0;
};

class FlowSummaries {
 public:
  // Called for every completed site tree set: bins first, then each roll-up level.
  using Sink = std::function<void(const SiteTrees&)>;

  // `configs`: one per feature set with the site budget; `rollups`: roll-up lengths in
  // seconds, each a multiple of the previous (and of bin_seconds).
  FlowSummaries(std::vector<flowtree::FlowtreeConfig> configs, uint32_t workers,
                uint32_t bin_seconds, std::vector<uint32_t> rollups, Sink sink,
                size_t max_pending = 4);

  // Merges one worker's closed record (its trees are left untouched).
  void add(uint32_t worker, const BinRecord& rec);
  // The worker has stopped and will send nothing more.
  void worker_finished(uint32_t worker);
  // Completes every open bin and roll-up (shutdown).
  void finish();

  const FlowSummaryCounters& counters() const { return counters_; }
  size_t pending() const { return pending_.size(); }

 private:
  SiteTrees fresh(uint32_t seconds, uint64_t start, uint32_t budget_factor) const;
  void complete_ready();
  void complete_front();
  void feed(size_t level, const SiteTrees& done);
  void close_level(size_t level);

  std::vector<flowtree::FlowtreeConfig> cfgs_;
  uint32_t workers_;
  uint32_t bin_seconds_;
  std::vector<uint32_t> rollups_;
  Sink sink_;
  size_t max_pending_;
  std::deque<SiteTrees> pending_;            // open bins, by start
  std::vector<uint64_t> watermark_;          // latest bin start seen per worker
  std::vector<bool> finished_;
  std::optional<uint64_t> completed_until_;  // every bin before this is completed
  std::vector<std::optional<SiteTrees>> levels_;  // open roll-up per level
  FlowSummaryCounters counters_;
};

}  // namespace haystack
