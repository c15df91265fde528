// Small, fast, stable 64-bit hashing helpers shared by the sampler and the flow set.
// Stable across builds and machines: hash-based sampling must pick the same packets at
// every site.
#pragma once

#include <cstdint>
#include <cstring>

namespace haystack {

// splitmix64 finaliser: a bijective 64-bit mixer with good avalanche.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace haystack
