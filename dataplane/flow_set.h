// FlowSet: which 5-tuples a worker has already seen in the open bin, so the Flowtrees'
// "flows" counter counts each distinct directional 5-tuple (src, dst, sport, dport,
// proto) once per bin, on its first flow-sampled packet. Bounded and preallocated:
// open addressing over 64-bit tuple hashes with a generation tag per slot, so starting a
// new bin is O(1). When a probe run is exhausted the packet is counted as not new and
// the overflow is counted by the caller (flow_set_full), never silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/packet.h"

namespace haystack {

// Hash of the directional 5-tuple (addresses, ports, final protocol).
uint64_t flow_tuple_hash(const ParsedPacket& p);

class FlowSet {
 public:
  enum class Result : uint8_t { kNew, kSeen, kFull };

  // capacity is rounded up to a power of two; 0 disables flow counting (always kSeen).
  explicit FlowSet(uint32_t capacity = 0);

  Result insert(uint64_t tuple_hash) {
    if (mask_ == 0) return Result::kSeen;
    const uint64_t h = tuple_hash;  // a slot is empty when its generation is stale
    size_t s = size_t(h) & mask_;
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, s = (s + 1) & mask_) {
      Slot& sl = slots_[s];
      if (sl.gen != gen_) {
        sl.gen = gen_;
        sl.hash = h;
        ++size_;
        return Result::kNew;
      }
      if (sl.hash == h) return Result::kSeen;
    }
    return Result::kFull;
  }
  // Forget everything (new bin).
  void clear() {
    if (++gen_ == 0) {  // generation wrapped: really wipe once every 2^32 bins
      for (auto& s : slots_) s.gen = 0;
      gen_ = 1;
    }
    size_ = 0;
  }
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return uint32_t(slots_.size()); }

 private:
  static constexpr uint32_t kMaxProbe = 32;
  struct Slot {
    uint64_t hash = 0;
    uint32_t gen = 0;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  uint32_t gen_ = 1;
  uint32_t size_ = 0;
};

}  // namespace haystack
