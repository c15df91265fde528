// FlowSummaries: turns the workers' per-core Flowtrees into one site tree per
// (bin, feature set) and rolls those up by merge (e.g. 1 min -> 15 min -> 1 h -> 1 d).
//
// Determinism: per-core trees of one bin are merged into a site tree sized to hold the
// union of all of them, so no compress runs during those merges and the result does not
// depend on the order in which workers' records arrive. The site tree is compressed to
// the budget once, when the bin completes; roll-ups then merge completed bins in time
// order. A bin completes when every worker's position (the start of the bin it has
// open, set_position; kIdle when it has nothing to do) lies beyond it; at most
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

  static constexpr uint64_t kIdle = ~uint64_t{0};

  // Merges one worker's closed record (its trees are left untouched).
  void add(uint32_t worker, const BinRecord& rec);
  // Where a worker is: the start of its open bin, or kIdle. Completes what is ready.
  void set_position(uint32_t worker, uint64_t start_ns);
  // The worker has stopped and will send nothing more.
  void worker_finished(uint32_t worker);
  // Completes every open bin and roll-up (shutdown).
  void finish();

  const FlowSummaryCounters& counters() const { return counters_; }
  size_t pending() const { return pending_.size(); }

 private:
  SiteTrees fresh(uint32_t seconds, uint64_t start, uint32_t budget_factor);
  void recycle(SiteTrees&& s, uint32_t budget_factor);
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
  std::vector<uint64_t> position_;           // start of each worker's open bin (0: unknown)
  std::vector<bool> finished_;
  std::optional<uint64_t> completed_until_;  // every bin before this is completed
  std::vector<std::optional<SiteTrees>> levels_;  // open roll-up per level
  FlowSummaryCounters counters_;
  // Emptied tree sets kept for reuse: allocating and zeroing large trees every bin costs
  // far more than clearing them. [0]: bin-sized (union of all cores), [1]: roll-up sized.
  std::vector<SiteTrees> spare_[2];
};

}  // namespace haystack
