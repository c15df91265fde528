// Builds Ethernet/IPv4/IPv6/TCP/UDP frames byte by byte for unit tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace haystack::test {

struct FrameBuilder {
  std::vector<uint8_t> b;

  FrameBuilder& u8(uint8_t v) { b.push_back(v); return *this; }
  FrameBuilder& u16(uint16_t v) { b.push_back(uint8_t(v >> 8)); b.push_back(uint8_t(v)); return *this; }
  FrameBuilder& u32(uint32_t v) { u16(uint16_t(v >> 16)); return u16(uint16_t(v)); }
  FrameBuilder& bytes(std::initializer_list<uint8_t> v) { b.insert(b.end(), v); return *this; }
  FrameBuilder& zeros(size_t n) { b.insert(b.end(), n, 0); return *this; }

  FrameBuilder& eth(uint16_t ethertype) {
    bytes({0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2});
    return u16(ethertype);
  }
  // IPv4 header without options; total length covers `l4_len` bytes.
  FrameBuilder& ipv4(std::initializer_list<uint8_t> src, std::initializer_list<uint8_t> dst,
                     uint8_t proto, uint16_t l4_len, uint16_t id = 0x1234, uint16_t frag = 0) {
    u8(0x45).u8(0).u16(uint16_t(20 + l4_len)).u16(id).u16(frag).u8(64).u8(proto).u16(0);
    return bytes(src).bytes(dst);
  }
  FrameBuilder& ipv6(const uint8_t* src, const uint8_t* dst, uint8_t next, uint16_t payload,
                     uint32_t flow = 0) {
    u32(0x60000000u | flow).u16(payload).u8(next).u8(64);
    b.insert(b.end(), src, src + 16);
    b.insert(b.end(), dst, dst + 16);
    return *this;
  }
  FrameBuilder& tcp(uint16_t sp, uint16_t dp, uint8_t flags) {
    return u16(sp).u16(dp).u32(1).u32(0).u8(0x50).u8(flags).u16(1024).u16(0).u16(0);
  }
  FrameBuilder& udp(uint16_t sp, uint16_t dp, uint16_t payload) {
    return u16(sp).u16(dp).u16(uint16_t(8 + payload)).u16(0);
  }

  // A TCP/IPv4 frame a -> b with the given ports.
  static std::vector<uint8_t> tcp4(std::initializer_list<uint8_t> s, std::initializer_list<uint8_t> d,
                                   uint16_t sp, uint16_t dp, uint16_t id = 1) {
    FrameBuilder f;
    f.eth(0x0800).ipv4(s, d, 6, 20, id).tcp(sp, dp, 0x10);
    return f.b;
  }
};

}  // namespace haystack::test
