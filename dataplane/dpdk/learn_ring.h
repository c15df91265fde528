// LearnRing: the SPSC rte_ring that carries one worker's LearnRecords to control. Records
// are copied into the ring (fixed-size elements), so there is no pool to return them to.
#pragma once

#include <cstdint>

#include "dataplane/name_learning.h"

struct rte_ring;

namespace haystack {

class LearnRing final : public LearnSink {
 public:
  // Throws std::runtime_error when the ring cannot be created.
  LearnRing(uint32_t worker_id, uint32_t size);
  ~LearnRing() override;
  LearnRing(const LearnRing&) = delete;
  LearnRing& operator=(const LearnRing&) = delete;

  // Worker side; false when full.
  bool push(const LearnRecord& r) override;
  // Control side: up to `max` records into `out`; returns how many.
  unsigned drain(LearnRecord* out, unsigned max);

 private:
  rte_ring* ring_ = nullptr;
};

}  // namespace haystack
