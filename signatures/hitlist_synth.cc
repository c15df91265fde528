#include "signatures/hitlist_synth.h"

#include <algorithm>
#include <random>
#include <string>
#include <unordered_set>

namespace haystack::hitlist {

Bundle synthetic_bundle(const SynthSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  auto uni = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  Bundle b;
  b.source = "synthetic";
  b.valid_from = b.valid_until = "2026-11-01";
  b.provenance = "synthetic_bundle seed " + std::to_string(spec.seed);
  const size_t ns = std::max<size_t>(1, std::min<size_t>(spec.services, kNoService - 1));
  const size_t nd = std::max(ns, spec.domains);
  for (size_t i = 0; i < ns; ++i) {
    Service s;
    s.id = ServiceId(i);
    s.key = "svc" + std::to_string(i);
    s.name = "Synthetic service " + std::to_string(i);
    b.services.push_back(std::move(s));
  }
  for (size_t i = 0; i < nd; ++i) {
    Domain d;
    d.id = DomainId(i);
    d.fqdn = "d" + std::to_string(i) + ".svc" + std::to_string(i % ns) + ".example";
    d.uses.push_back({ServiceId(i % ns), i < ns ? Role::kPrimary : (uni(0.5) ? Role::kPrimary : Role::kSupport)});
    b.domains.push_back(std::move(d));
  }
  const unsigned bits = std::min(spec.address_bits, 24u);
  const uint64_t space = uint64_t(1) << bits;
  static constexpr uint8_t kV4Lens[] = {8, 12, 16, 20, 24, 28, 31};
  static constexpr uint8_t kV6Lens[] = {32, 40, 48, 56, 64, 96, 120};
  std::unordered_set<std::string> keys;
  const size_t max_attempts = spec.endpoints * 4 + 1000;
  for (size_t attempt = 0; b.endpoints.size() < spec.endpoints && attempt < max_attempts; ++attempt) {
    Endpoint e;
    const bool v6 = uni(spec.v6_fraction);
    const uint64_t host = rng() % space;
    uint8_t raw[16] = {};
    if (v6) {
      raw[0] = 0x20; raw[1] = 0x01; raw[2] = 0x0d; raw[3] = 0xb8;
      for (int i = 0; i < 3; ++i) raw[15 - i] = uint8_t(host >> (8 * i));
      e.addr = IpAddr::from_v6(raw);
      e.prefix_len = 128;
    } else {
      raw[0] = 10;
      for (int i = 0; i < 3; ++i) raw[3 - i] = uint8_t(host >> (8 * i));
      e.addr = IpAddr::from_v4(raw);
      e.prefix_len = 32;
    }
    if (uni(spec.prefix_fraction)) {
      e.prefix_len = v6 ? kV6Lens[rng() % std::size(kV6Lens)] : kV4Lens[rng() % std::size(kV4Lens)];
      const unsigned base = v6 ? 0 : 96;
      for (unsigned bit = base + e.prefix_len; bit < 128; ++bit)
        e.addr.b[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
    }
    e.proto = uni(spec.any_proto_fraction) ? 0 : (uni(0.8) ? 6 : 17);
    e.any_port = uni(spec.any_port_fraction);
    if (!e.any_port)
      e.port = uni(0.8) ? kSynthPorts[rng() % std::size(kSynthPorts)] : uint16_t(1 + rng() % 65535);
    std::string key(reinterpret_cast<const char*>(e.addr.b.data()), 16);
    key += char(e.prefix_len);
    key += char(e.proto);
    key += char(e.any_port);
    key += char(e.port >> 8);
    key += char(e.port);
    if (!keys.insert(std::move(key)).second) continue;
    const size_t n = 1 + rng() % 3;
    for (size_t i = 0; i < n; ++i) {
      const DomainId d = DomainId(rng() % nd);
      if (std::find(e.domains.begin(), e.domains.end(), d) == e.domains.end()) e.domains.push_back(d);
    }
    b.endpoints.push_back(std::move(e));
  }
  return b;
}

}  // namespace haystack::hitlist
