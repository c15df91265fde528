#include "dataplane/flow_set.h"

#include "dataplane/hash.h"

namespace haystack {

uint64_t flow_tuple_hash(const ParsedPacket& p) {
  uint64_t h = mix64(load64(p.src.b.data()) ^ 0x51ed270b27f1d5a1ULL);
  h = mix64(h ^ load64(p.src.b.data() + 8));
  h = mix64(h ^ load64(p.dst.b.data()));
  h = mix64(h ^ load64(p.dst.b.data() + 8));
  uint64_t ports = p.has_ports ? (uint64_t(p.sport) << 16 | p.dport) : 0;
  return mix64(h ^ (ports << 8 | p.proto));
}

FlowSet::FlowSet(uint32_t capacity) {
  if (capacity == 0) return;
  size_t n = 1;
  while (n < capacity) n <<= 1;
  slots_.resize(n);
  mask_ = n - 1;
}

}  // namespace haystack
