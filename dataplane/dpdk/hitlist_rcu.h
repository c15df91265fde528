// HitlistRcu: publishes hitlist generations to the workers without stopping them.
// Control swaps one atomic pointer; each worker adopts the current generation when it
// opens a bin (HitlistSource::adopt) and reports a quiescent state to an rte_rcu_qsbr
// variable at that moment, because from then on it no longer touches the generation it
// used before. A replaced generation is retired with a grace-period token; once every
// worker has passed a quiescent state (or is offline: no open bin), no worker uses it and
// every record it filled is already in a ring to control, so control can translate those
// records and then free it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/hitlist_source.h"
#include "signatures/hitlist_generation.h"

struct rte_rcu_qsbr;

namespace haystack {

class HitlistRcu {
 public:
  using GenerationPtr = std::shared_ptr<const hitlist::Generation>;

  HitlistRcu(uint32_t workers, GenerationPtr first);
  ~HitlistRcu();
  HitlistRcu(const HitlistRcu&) = delete;
  HitlistRcu& operator=(const HitlistRcu&) = delete;

  // The source for worker `w` (0..workers-1), to be used only on that worker's lcore.
  HitlistSource& source(uint32_t w);

  // Control: makes `next` current; the previous generation starts its grace period.
  void publish(GenerationPtr next);
  const GenerationPtr& current() const { return current_; }

  // Control, once per loop *before* draining the bin rings: the retired generations
  // whose grace period has ended. After the drain no record of them can arrive.
  std::vector<GenerationPtr> take_reclaimable();
  size_t retiring() const { return retiring_.size(); }
  uint64_t reclaimed() const { return reclaimed_; }

 private:
  class Reader;
  struct Retired {
    GenerationPtr gen;
    uint64_t token;
  };

  rte_rcu_qsbr* qs_ = nullptr;
  std::atomic<const hitlist::Generation*> published_{nullptr};
  GenerationPtr current_;
  std::vector<Retired> retiring_;
  std::vector<std::unique_ptr<Reader>> readers_;
  uint64_t reclaimed_ = 0;
};

}  // namespace haystack
