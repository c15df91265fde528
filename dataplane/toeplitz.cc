#include "dataplane/toeplitz.h"

namespace haystack {

std::array<uint8_t, kRssKeyLen> symmetric_rss_key() {
  std::array<uint8_t, kRssKeyLen> k{};
  for (size_t i = 0; i < kRssKeyLen; i += 2) {
    k[i] = 0x6d;
    k[i + 1] = 0x5a;
  }
  return k;
}

uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len) {
  uint32_t result = 0;
  // Sliding 32-bit window over the key, advanced one bit per input bit.
  uint32_t window = (uint32_t(key[0]) << 24) | (uint32_t(key[1]) << 16) |
                    (uint32_t(key[2]) << 8) | key[3];
  size_t next_key_byte = 4;
  for (size_t i = 0; i < len; ++i) {
    uint8_t next = next_key_byte < key_len ? key[next_key_byte] : 0;
    ++next_key_byte;
    for (int bit = 7; bit >= 0; --bit) {
      if (input[i] & (1u << bit)) result ^= window;
      window = (window << 1) | ((next >> bit) & 1u);
    }
  }
  return result;
}

uint32_t rss_hash(const ParsedPacket& p, const std::array<uint8_t, kRssKeyLen>& key) {
  uint8_t in[36];
  size_t n = 0;
  if (p.l3 == L3::kIpv4) {
    for (int i = 12; i < 16; ++i) in[n++] = p.src.b[i];
    for (int i = 12; i < 16; ++i) in[n++] = p.dst.b[i];
  } else if (p.l3 == L3::kIpv6) {
    for (int i = 0; i < 16; ++i) in[n++] = p.src.b[i];
    for (int i = 0; i < 16; ++i) in[n++] = p.dst.b[i];
  } else {
    return 0;
  }
  bool l4 = p.has_ports && !p.fragment && (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp);
  if (l4) {
    in[n++] = uint8_t(p.sport >> 8);
    in[n++] = uint8_t(p.sport);
    in[n++] = uint8_t(p.dport >> 8);
    in[n++] = uint8_t(p.dport);
  }
  return toeplitz_hash(key.data(), key.size(), in, n);
}

}  // namespace haystack
