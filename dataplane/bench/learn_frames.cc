#include "dataplane/bench/learn_frames.h"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace haystack::bench {
namespace {

struct Writer {
  uint8_t* p;
  void u8(uint32_t v) { *p++ = uint8_t(v); }
  void u16(uint32_t v) {
    u8(v >> 8);
    u8(v);
  }
  void u32(uint32_t v) {
    u16(v >> 16);
    u16(v);
  }
  void bytes(const void* b, size_t n) {
    std::memcpy(p, b, n);
    p += n;
  }
  void fill(uint8_t v, size_t n) {
    std::memset(p, v, n);
    p += n;
  }
  // DNS wire format of a dotted name, root label included.
  void name(std::string_view n) {
    while (!n.empty()) {
      const size_t dot = std::min(n.find('.'), n.size());
      u8(uint32_t(dot));
      bytes(n.data(), dot);
      n.remove_prefix(std::min(dot + 1, n.size()));
    }
    u8(0);
  }
};

// Ethernet + IPv4/IPv6 + UDP/TCP headers around `payload_len` bytes already written at
// out + the header length; returns the header length for that layout.
uint32_t header_len(bool v6, bool tcp) {
  return 14 + (v6 ? 40 : 20) + (tcp ? 20 : 8);
}

uint32_t write_headers(const FrameEnds& e, bool tcp, bool up, uint16_t remote_port,
                       uint32_t payload_len, uint8_t* f) {
  static constexpr uint8_t kMacs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  const uint32_t l3 = e.v6 ? 40 : 20, l4 = tcp ? 20 : 8;
  const uint32_t len = 14 + l3 + l4 + payload_len;
  std::memset(f, 0, 14 + l3 + l4);
  Writer w{f};
  w.bytes(kMacs, sizeof kMacs);
  w.u16(e.v6 ? 0x86dd : 0x0800);
  const uint8_t* src = up ? e.sub : e.remote;
  const uint8_t* dst = up ? e.remote : e.sub;
  if (e.v6) {
    w.u32(0x60000000u | e.id);
    w.u16(l4 + payload_len);
    w.u8(tcp ? 6 : 17);
    w.u8(64);
    w.bytes(src, 16);
    w.bytes(dst, 16);
  } else {
    w.u8(0x45);
    w.u8(0);
    w.u16(len - 14);
    w.u16(e.id);
    w.u16(0x4000);  // DF
    w.u8(64);
    w.u8(tcp ? 6 : 17);
    w.u16(0);  // checksum: the worker does not verify it
    w.bytes(src, 4);
    w.bytes(dst, 4);
  }
  w.u16(up ? e.sub_port : remote_port);
  w.u16(up ? remote_port : e.sub_port);
  if (tcp) {
    w.u32(uint32_t(e.id) * 7919u);  // seq
    w.u32(1);                       // ack
    w.u8(0x50);                     // data offset 5
    w.u8(0x18);                     // PSH|ACK
    w.u16(65535);
  } else {
    w.u16(l4 + payload_len);
  }
  return len;
}

}  // namespace

uint32_t dns_response_frame(const FrameEnds& e, std::string_view qname, std::string_view target,
                            const uint8_t* addr, uint8_t* out) {
  Writer w{out + header_len(e.v6, false)};
  uint8_t* const msg = w.p;
  w.u16(e.id);
  w.u16(0x8180);  // response, RD, RA, NOERROR
  w.u16(1);       // questions
  w.u16(2);       // answers
  w.u32(0);       // authority, additional
  w.name(qname);  // at offset 12
  w.u16(e.v6 ? 28 : 1);
  w.u16(1);
  // qname CNAME target
  w.u16(0xc00c);
  w.u16(5);
  w.u16(1);
  w.u32(300);
  uint8_t* rdlen = w.p;
  w.u16(0);
  const uint32_t target_at = uint32_t(w.p - msg);
  w.name(target);
  rdlen[0] = uint8_t((target.size() + 2) >> 8);
  rdlen[1] = uint8_t(target.size() + 2);
  // target A/AAAA addr
  w.u16(0xc000 | target_at);
  w.u16(e.v6 ? 28 : 1);
  w.u16(1);
  w.u32(60);
  w.u16(e.v6 ? 16 : 4);
  w.bytes(addr, e.v6 ? 16 : 4);
  return write_headers(e, false, false, 53, uint32_t(w.p - msg), out);
}

uint32_t client_hello_frame(const FrameEnds& e, std::string_view server_name, uint8_t* out) {
  Writer w{out + header_len(e.v6, true)};
  uint8_t* const rec = w.p;
  w.u8(22);  // handshake
  w.u16(0x0301);
  uint8_t* rec_len = w.p;
  w.u16(0);
  w.u8(1);  // ClientHello
  uint8_t* hs_len = w.p;
  w.fill(0, 3);
  w.u16(0x0303);
  w.fill(0x5a, 32);  // random
  w.u8(0);           // session id: none (resumption-less IoT client)
  static constexpr uint16_t kSuites[] = {0x1301, 0x1302, 0xc02b, 0xc02f};
  w.u16(2 * uint32_t(std::size(kSuites)));
  for (uint16_t s : kSuites) w.u16(s);
  w.u8(1);  // compression: null
  w.u8(0);
  uint8_t* ext_len = w.p;
  w.u16(0);
  uint8_t* const exts = w.p;
  // Extensions a browser or IoT TLS stack sends before and after server_name.
  w.u16(0x0017);  // extended_master_secret
  w.u16(0);
  w.u16(0xff01);  // renegotiation_info
  w.u16(1);
  w.u8(0);
  w.u16(0x000a);  // supported_groups
  w.u16(8);
  w.u16(6);
  w.u16(0x001d);
  w.u16(0x0017);
  w.u16(0x0018);
  w.u16(0x0000);  // server_name
  w.u16(uint32_t(server_name.size()) + 5);
  w.u16(uint32_t(server_name.size()) + 3);
  w.u8(0);
  w.u16(uint32_t(server_name.size()));
  w.bytes(server_name.data(), server_name.size());
  w.u16(0x0010);  // ALPN h2, http/1.1
  w.u16(14);
  w.u16(12);
  w.u8(2);
  w.bytes("h2", 2);
  w.u8(8);
  w.bytes("http/1.1", 8);
  w.u16(0x000d);  // signature_algorithms
  w.u16(10);
  w.u16(8);
  w.u32(0x04030804);
  w.u32(0x04010503);
  w.u16(0x0033);  // key_share x25519
  w.u16(38);
  w.u16(36);
  w.u16(0x001d);
  w.u16(32);
  w.fill(0x77, 32);
  w.u16(0x002b);  // supported_versions
  w.u16(5);
  w.u8(4);
  w.u16(0x0304);
  w.u16(0x0303);
  const uint32_t el = uint32_t(w.p - exts), hl = uint32_t(w.p - hs_len - 3),
                 rl = uint32_t(w.p - rec_len - 2);
  ext_len[0] = uint8_t(el >> 8);
  ext_len[1] = uint8_t(el);
  hs_len[0] = 0;
  hs_len[1] = uint8_t(hl >> 8);
  hs_len[2] = uint8_t(hl);
  rec_len[0] = uint8_t(rl >> 8);
  rec_len[1] = uint8_t(rl);
  return write_headers(e, true, true, 443, uint32_t(w.p - rec), out);
}

}  // namespace haystack::bench
