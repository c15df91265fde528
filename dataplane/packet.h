// ParsedPacket: what the parser extracts from one frame. Plain data, no DPDK types.
#pragma once

#include <array>
#include <cstdint>

namespace haystack {

// An IP address in one 16-byte form: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so
// every consumer (hash, sampler, tables) handles both families with one code path.
struct IpAddr {
  std::array<uint8_t, 16> b{};
  bool v4 = false;

  static IpAddr from_v4(const uint8_t* p) {
    IpAddr a;
    a.v4 = true;
    a.b[10] = 0xff;
    a.b[11] = 0xff;
    a.b[12] = p[0];
    a.b[13] = p[1];
    a.b[14] = p[2];
    a.b[15] = p[3];
    return a;
  }
  static IpAddr from_v6(const uint8_t* p) {
    IpAddr a;
    for (int i = 0; i < 16; ++i) a.b[i] = p[i];
    return a;
  }
  uint32_t v4_host_order() const {
    return (uint32_t(b[12]) << 24) | (uint32_t(b[13]) << 16) | (uint32_t(b[14]) << 8) | b[15];
  }
  bool operator==(const IpAddr&) const = default;
};

enum class L3 : uint8_t { kNone = 0, kIpv4, kIpv6 };

// Outer encapsulation recognised on top of the outer IP/UDP headers. The packet is
// accounted by its outer headers; the tunnel type is informational.
enum class Tunnel : uint8_t { kNone = 0, kGre, kVxlan, kGeneve };

namespace ipproto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kGre = 47;
inline constexpr uint8_t kIcmpv6 = 58;
}  // namespace ipproto

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcpflag

struct ParsedPacket {
  L3 l3 = L3::kNone;
  uint16_t ethertype = 0;   // innermost ethertype after VLAN/MPLS/PPPoE (0 for raw IP)
  uint8_t vlan_count = 0;   // 802.1Q / 802.1ad tags seen
  uint16_t outer_vlan = 0;  // VID of the outermost tag
  uint16_t inner_vlan = 0;  // VID of the innermost tag
  uint8_t mpls_labels = 0;
  bool pppoe = false;

  IpAddr src;
  IpAddr dst;
  uint8_t proto = 0;        // final L4 protocol (after IPv6 extension headers)
  uint8_t ttl = 0;          // hop limit
  uint16_t ip_id = 0;       // IPv4 identification (IPv6: low 16 bits of fragment id)
  uint32_t ip_len = 0;      // IPv4 total length / IPv6 payload length + 40
  uint32_t flow_label = 0;  // IPv6 only
  bool fragment = false;    // any fragment (first or later)
  bool first_fragment = false;

  bool has_ports = false;   // TCP/UDP header present (unfragmented or first fragment)
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;

  Tunnel tunnel = Tunnel::kNone;

  uint16_t l3_offset = 0;       // offset of the IP header in the frame
  uint16_t l4_offset = 0;       // offset of the L4 header (0 if none)
  uint16_t payload_offset = 0;  // offset of the L4 payload (0 if none)
  uint16_t payload_len = 0;     // captured payload bytes available after payload_offset
};

}  // namespace haystack
