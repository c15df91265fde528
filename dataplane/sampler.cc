#include "dataplane/sampler.h"

#include "dataplane/hash.h"

namespace haystack {

std::string_view sample_method_name(SampleMethod m) {
  return m == SampleMethod::kCount ? "count" : "hash";
}

uint64_t invariant_hash(const ParsedPacket& p, uint64_t seed) {
  uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ULL);
  h = mix64(h ^ load64(p.src.b.data()));
  h = mix64(h ^ load64(p.src.b.data() + 8));
  h = mix64(h ^ load64(p.dst.b.data()));
  h = mix64(h ^ load64(p.dst.b.data() + 8));
  uint64_t ident = p.l3 == L3::kIpv4 ? p.ip_id : p.flow_label;
  uint64_t ports = p.has_ports ? (uint64_t(p.sport) << 16 | p.dport) : 0;
  h = mix64(h ^ (uint64_t(p.proto) << 56 | ident << 32 | p.ip_len));
  h = mix64(h ^ ports);
  return h;
}

Sampler::Sampler(SampleMethod method, uint32_t rate, uint64_t seed)
    : method_(method), rate_(rate == 0 ? 1 : rate), seed_(seed) {
  threshold_ = rate_ <= 1 ? ~uint64_t{0} : (~uint64_t{0} / rate_);
}

}  // namespace haystack
