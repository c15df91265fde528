#include "dataplane/dpdk/learn_ring.h"

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <fmt/format.h>

#include <stdexcept>

namespace haystack {

LearnRing::LearnRing(uint32_t worker_id, uint32_t size) {
  const std::string name = fmt::format("hs_learn_{}", worker_id);
  ring_ = rte_ring_create_elem(name.c_str(), sizeof(LearnRecord), size, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
  if (ring_ == nullptr) {
    throw std::runtime_error(
        fmt::format("worker {}: cannot create the learning ring of {} "
                    "records: {}",
                    worker_id, size, rte_strerror(rte_errno)));
  }
}

LearnRing::~LearnRing() {
  rte_ring_free(ring_);
}

bool LearnRing::push(const LearnRecord& r) {
  // The DPDK API takes void* but only reads the element.
  return rte_ring_enqueue_elem(ring_, const_cast<LearnRecord*>(&r), sizeof(LearnRecord)) == 0;
}

unsigned LearnRing::drain(LearnRecord* out, unsigned max) {
  return rte_ring_dequeue_burst_elem(ring_, out, sizeof(LearnRecord), max, nullptr);
}

}  // namespace haystack
