// libFuzzer target for the packet parser. Input: 1 byte selecting the link type
// (value % 3: Ethernet, raw IP, PPP), then the frame. Besides ASan/UBSan finding any read
// outside the frame, the output is checked for internal consistency; a violation aborts.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "dataplane/parser.h"

using namespace haystack;

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "invariant violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace {

void check(const ParsedPacket& p, ParseError e, size_t len) {
  FUZZ_CHECK(static_cast<size_t>(e) < kParseErrorCount);
  FUZZ_CHECK(parse_error_name(e) != "unknown");

  // Offsets never point past the frame, whatever the outcome.
  FUZZ_CHECK(p.l3_offset <= len);
  FUZZ_CHECK(p.l4_offset <= len);
  FUZZ_CHECK(p.payload_offset <= len);
  FUZZ_CHECK(size_t(p.payload_offset) + p.payload_len <= len);
  FUZZ_CHECK(p.vlan_count <= 4);
  FUZZ_CHECK(p.mpls_labels <= 16);
  if (p.vlan_count == 0) FUZZ_CHECK(p.outer_vlan == 0 && p.inner_vlan == 0);
  FUZZ_CHECK(p.outer_vlan <= 0x0fff && p.inner_vlan <= 0x0fff);
  FUZZ_CHECK(!p.first_fragment || p.fragment);
  FUZZ_CHECK(p.flow_label <= 0xfffff);
  if (e != ParseError::kOk) return;

  switch (p.l3) {
    case L3::kNone:
      FUZZ_CHECK(!p.has_ports && p.l4_offset == 0 && p.payload_offset == 0 && p.payload_len == 0);
      FUZZ_CHECK(p.tunnel == Tunnel::kNone && !p.fragment);
      return;
    case L3::kIpv4:
      FUZZ_CHECK(size_t(p.l3_offset) + 20 <= len);
      FUZZ_CHECK(p.src.v4 && p.dst.v4);
      FUZZ_CHECK(p.ip_len >= 20);
      FUZZ_CHECK(p.flow_label == 0);
      break;
    case L3::kIpv6:
      FUZZ_CHECK(size_t(p.l3_offset) + 40 <= len);
      FUZZ_CHECK(!p.src.v4 && !p.dst.v4);
      FUZZ_CHECK(p.ip_len >= 40);
      break;
  }
  // An IP packet always reports where its upper-layer bytes start.
  FUZZ_CHECK(p.payload_offset > p.l3_offset);
  if (p.fragment && !p.first_fragment) {
    FUZZ_CHECK(!p.has_ports && p.l4_offset == 0 && p.tunnel == Tunnel::kNone);
  } else {
    FUZZ_CHECK(p.l4_offset > p.l3_offset);
    FUZZ_CHECK(p.payload_offset >= p.l4_offset);
  }
  if (p.has_ports) {
    FUZZ_CHECK(p.proto == ipproto::kTcp || p.proto == ipproto::kUdp);
    FUZZ_CHECK(size_t(p.l4_offset) + (p.proto == ipproto::kTcp ? 20 : 8) <= len);
    FUZZ_CHECK(p.payload_offset >= p.l4_offset + (p.proto == ipproto::kTcp ? 20 : 8));
  } else {
    FUZZ_CHECK(p.sport == 0 && p.dport == 0 && p.tcp_flags == 0);
    FUZZ_CHECK((p.proto != ipproto::kTcp && p.proto != ipproto::kUdp) ||
               (p.fragment && !p.first_fragment));
  }
  switch (p.tunnel) {
    case Tunnel::kNone:
      break;
    case Tunnel::kGre:
      FUZZ_CHECK(p.proto == ipproto::kGre && !p.has_ports);
      break;
    case Tunnel::kVxlan:
      FUZZ_CHECK(p.proto == ipproto::kUdp && p.dport == 4789);
      break;
    case Tunnel::kGeneve:
      FUZZ_CHECK(p.proto == ipproto::kUdp && p.dport == 6081);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto link = static_cast<LinkType>(data[0] % 3);
  const uint8_t* frame = data + 1;
  const size_t len = size - 1;

  ParsedPacket p;
  const ParseError e = parse_packet(frame, len, p, link);
  check(p, e, len);

  // Pure function of the bytes: a second parse into a dirty output gives the same answer.
  ParsedPacket q;
  q.has_ports = true;
  q.vlan_count = 9;
  FUZZ_CHECK(parse_packet(frame, len, q, link) == e);
  FUZZ_CHECK(q.vlan_count == p.vlan_count && q.has_ports == p.has_ports && q.sport == p.sport &&
             q.payload_offset == p.payload_offset && q.payload_len == p.payload_len &&
             q.ip_len == p.ip_len && q.src == p.src && q.dst == p.dst);
  return 0;
}
