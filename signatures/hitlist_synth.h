// Synthetic hitlist bundles for tests and benchmarks: a valid Bundle built in memory,
// so HitlistTable::compile() can be measured at any size without a file.
#pragma once

#include <cstddef>
#include <cstdint>

#include "signatures/hitlist.h"

namespace haystack::hitlist {

struct SynthSpec {
  size_t endpoints = 100000;
  size_t services = 64;          // all platform level, one primary domain each at least
  size_t domains = 4096;         // >= services
  uint64_t seed = 1;
  double v6_fraction = 0.25;
  double prefix_fraction = 0.05; // share of endpoints that are prefixes
  double any_port_fraction = 0.1;
  double any_proto_fraction = 0.1;
  // Addresses are drawn from 2^address_bits hosts (IPv4 under 10.0.0.0/8, IPv6 under
  // 2001:db8::/32, low bits); small values force shared addresses and overlapping prefixes.
  unsigned address_bits = 24;
};

// Deterministic for a given spec. Endpoint keys are unique; endpoints.size() can fall
// short of spec.endpoints only when the address space is too small to hold them.
Bundle synthetic_bundle(const SynthSpec& spec);

// The ports synthetic endpoints use (a few common IoT ports plus random ones).
inline constexpr uint16_t kSynthPorts[] = {443, 80, 8883, 1883, 5683, 8080, 123, 53};

}  // namespace haystack::hitlist
