// Deterministic packet sampling (METHODS: Flowyager sampling; trajectory sampling).
//  - count: systematic 1-in-N per RX queue, NetFlow style. Keeps the 1st, (N+1)th, ...
//    packet of each queue, so a queue that saw n packets kept ceil(n/N).
//  - hash:  keeps a packet when a keyed hash of header fields that do not change hop by
//    hop falls into the lowest 1/N of the 64-bit range. Every worker, and every Haystack
//    at every site configured with the same seed, keeps exactly the same packets.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/packet.h"

namespace haystack {

enum class SampleMethod : uint8_t { kCount, kHash };

std::string_view sample_method_name(SampleMethod m);

// Hash over the invariant fields: addresses, final protocol, IPv4 id / IPv6 flow label,
// IP length, and ports when present. Excludes TTL, checksums, VLAN/MPLS/tunnel context.
uint64_t invariant_hash(const ParsedPacket& p, uint64_t seed);

class Sampler {
 public:
  Sampler() = default;
  Sampler(SampleMethod method, uint32_t rate, uint64_t seed);

  // Decides for one IP packet. count mode advances the per-queue phase.
  bool sample(const ParsedPacket& p) {
    if (rate_ <= 1) return true;
    if (method_ == SampleMethod::kCount) {
      bool keep = phase_ == 0;
      if (++phase_ == rate_) phase_ = 0;
      return keep;
    }
    return invariant_hash(p, seed_) < threshold_;
  }
  // Same decision when the invariant hash is already known (computed once per packet).
  bool sample_hashed(uint64_t h) {
    if (rate_ <= 1) return true;
    if (method_ == SampleMethod::kCount) {
      bool keep = phase_ == 0;
      if (++phase_ == rate_) phase_ = 0;
      return keep;
    }
    return h < threshold_;
  }

  SampleMethod method() const { return method_; }
  uint32_t rate() const { return rate_; }

 private:
  SampleMethod method_ = SampleMethod::kCount;
  uint32_t rate_ = 1;
  uint32_t phase_ = 0;
  uint64_t seed_ = 0;
  uint64_t threshold_ = ~uint64_t{0};
};

}  // namespace haystack
