#include "dataplane/flow_set.h"

#include <cstring>

namespace haystack {

namespace {
inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
inline uint64_t word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace

uint64_t flow_tuple_hash(const ParsedPacket& p) {
  uint64_t h = mix(word(p.src.b.data()) ^ 0x51ed270b27f1d5a1ULL);
  h = mix(h ^ word(p.src.b.data() + 8));
  h = mix(h ^ word(p.dst.b.data()));
  h = mix(h ^ word(p.dst.b.data() + 8));
  uint64_t ports = p.has_ports ? (uint64_t(p.sport) << 16 | p.dport) : 0;
  return mix(h ^ (ports << 8 | p.proto));
}

FlowSet::FlowSet(uint32_t capacity) {
  if (capacity == 0) return;
  size_t n = 1;
  while (n < capacity) n <<= 1;
  slots_.resize(n);
  mask_ = n - 1;
}

}  // namespace haystack
