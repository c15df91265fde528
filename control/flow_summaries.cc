#include "control/flow_summaries.h"

#include <algorithm>
#include <cmath>

#include "control/rollup_period.h"

namespace haystack {

using flowtree::Flowtree;
using flowtree::FlowtreeConfig;

FlowSummaries::FlowSummaries(std::vector<FlowtreeConfig> configs, uint32_t workers,
                             uint32_t bin_seconds, std::vector<uint32_t> rollups, Sink sink,
                             size_t max_pending)
    : cfgs_(std::move(configs)),
      workers_(workers == 0 ? 1 : workers),
      bin_seconds_(bin_seconds),
      rollups_(std::move(rollups)),
      sink_(std::move(sink)),
      max_pending_(max_pending == 0 ? 1 : max_pending),
      position_(workers_, 0),
      finished_(workers_, false),
      levels_(rollups_.size()) {}

// A set of empty site trees. budget_factor > 1 makes room for the union of that many
// per-core trees so that merging them never triggers a compress.
SiteTrees FlowSummaries::fresh(uint32_t seconds, uint64_t start, uint32_t budget_factor) {
  auto& spare = spare_[budget_factor > 1 ? 0 : 1];
  if (!spare.empty()) {
    SiteTrees s = std::move(spare.back());
    spare.pop_back();
    s.seconds = seconds;
    s.start_ns = start;
    s.records = 0;
    return s;
  }
  SiteTrees s;
  s.seconds = seconds;
  s.start_ns = start;
  s.trees.reserve(cfgs_.size());
  for (FlowtreeConfig c : cfgs_) {
    if (budget_factor > 1) {
      c.budget = uint32_t(std::ceil(double(c.budget) * budget_factor / c.compress_fraction)) + 2;
    }
    s.trees.emplace_back(c);
  }
  return s;
}

void FlowSummaries::recycle(SiteTrees&& s, uint32_t budget_factor) {
  auto& spare = spare_[budget_factor > 1 ? 0 : 1];
  if (spare.size() >= 2) return;  // enough for steady state; let the rest go
  for (auto& t : s.trees) t.clear();
  spare.push_back(std::move(s));
}

void FlowSummaries::add(uint32_t worker, const BinRecord& rec) {
  if (worker >= workers_) return;
  SiteTrees* target = nullptr;
  if (completed_until_ && rec.start_ns < *completed_until_) {
    ++counters_.late_records;
    if (pending_.empty()) pending_.push_back(fresh(bin_seconds_, *completed_until_, workers_));
    target = &pending_.front();
  } else {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const SiteTrees& s) { return s.start_ns >= rec.start_ns; });
    if (it == pending_.end() || it->start_ns != rec.start_ns) {
      it = pending_.insert(it, fresh(bin_seconds_, rec.start_ns, workers_));
    }
    target = &*it;
  }
  for (size_t i = 0; i < target->trees.size() && i < rec.trees.size(); ++i) {
    target->trees[i].merge(rec.trees[i]);
  }
  ++target->records;
  complete_ready();
}

void FlowSummaries::set_position(uint32_t worker, uint64_t start_ns) {
  if (worker < workers_) position_[worker] = start_ns;
  complete_ready();
}

void FlowSummaries::worker_finished(uint32_t worker) {
  if (worker < workers_) finished_[worker] = true;
  complete_ready();
}

// A bin is complete once every worker still running has moved past it (or is idle).
void FlowSummaries::complete_ready() {
  while (!pending_.empty()) {
    const uint64_t s = pending_.front().start_ns;
    bool ready = true;
    for (uint32_t w = 0; w < workers_; ++w) ready &= finished_[w] || position_[w] > s;
    if (!ready && pending_.size() <= max_pending_) break;
    if (!ready) ++counters_.forced_completions;
    complete_front();
  }
}

void FlowSummaries::complete_front() {
  SiteTrees done = std::move(pending_.front());
  pending_.pop_front();
  completed_until_ = done.start_ns + uint64_t(bin_seconds_) * 1'000'000'000ULL;
  for (size_t i = 0; i < done.trees.size(); ++i) {
    done.trees[i].compress_to(cfgs_[i].budget);
    done.trees[i].canonicalize();  // merge order of the cores must not show
  }
  ++counters_.bins_completed;
  sink_(done);
  if (!levels_.empty()) feed(0, done);
  recycle(std::move(done), workers_);
}

// Merges a completed finer-grained set into roll-up `level`, closing the open one first
// when `done` belongs to a later period.
void FlowSummaries::feed(size_t level, const SiteTrees& done) {
  const uint64_t start = period_start_ns(done.start_ns, rollups_[level]);
  auto& open = levels_[level];
  if (open && open->start_ns != start) close_level(level);
  if (!open) open = fresh(rollups_[level], start, 1);
  for (size_t i = 0; i < open->trees.size(); ++i) open->trees[i].merge(done.trees[i]);
  ++open->records;
}

void FlowSummaries::close_level(size_t level) {
  SiteTrees done = std::move(*levels_[level]);
  levels_[level].reset();
  for (size_t i = 0; i < done.trees.size(); ++i) {
    done.trees[i].compress_to(cfgs_[i].budget);
    done.trees[i].canonicalize();
  }
  ++counters_.rollups_completed;
  sink_(done);
  if (level + 1 < levels_.size()) feed(level + 1, done);
  recycle(std::move(done), 1);
}

void FlowSummaries::finish() {
  while (!pending_.empty()) complete_front();
  for (size_t l = 0; l < levels_.size(); ++l) {
    if (levels_[l]) close_level(l);
  }
}

}  // namespace haystack
