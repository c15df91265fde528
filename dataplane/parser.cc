// Packet parser. See parser.h for the contract; this file documents the decisions.
//
// Safety: every read goes through a Cursor whose window [pos, end) lies inside
// [data, data+len). A layer checks has(n) before touching n bytes, so a malformed or
// truncated frame ends in a named ParseError, never in an out-of-bounds read. Nothing here
// allocates, throws or keeps state between calls.
//
// Length semantics: captures from taps are routinely cut at a snap length, so an IP length
// larger than the captured bytes is normal and not an error; only the headers we extract
// must be present. When the IP length is *smaller* than the captured bytes, the rest is
// link-layer padding (60-byte Ethernet minimum) and the window is shrunk to the datagram,
// so padding is never mistaken for an L4 header or payload.
#include "dataplane/parser.h"

namespace haystack {

namespace {

namespace ethertype {
constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86dd;
constexpr uint16_t kVlan = 0x8100;     // 802.1Q C-tag
constexpr uint16_t kQinQ = 0x88a8;     // 802.1ad S-tag
constexpr uint16_t kQinQOld = 0x9100;  // pre-standard S-tag, still seen on older gear
constexpr uint16_t kMplsUc = 0x8847;
constexpr uint16_t kMplsMc = 0x8848;
constexpr uint16_t kPppoeDisc = 0x8863;
constexpr uint16_t kPppoeSess = 0x8864;
}  // namespace ethertype

namespace pppproto {
constexpr uint16_t kIpv4 = 0x0021;
constexpr uint16_t kIpv6 = 0x0057;
constexpr uint16_t kMplsUc = 0x0281;
constexpr uint16_t kMplsMc = 0x0283;
}  // namespace pppproto

namespace ip6ext {
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kAh = 51;
constexpr uint8_t kDestOpts = 60;
}  // namespace ip6ext

constexpr uint8_t kMaxVlanTags = 4;
constexpr uint8_t kMaxMplsLabels = 16;
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr uint16_t kVxlanPort = 4789;
constexpr uint16_t kGenevePort = 6081;

constexpr size_t kEthHeader = 14;
constexpr size_t kVlanTag = 4;
constexpr size_t kMplsEntry = 4;
constexpr size_t kPppoeHeader = 8;  // 6-byte PPPoE header + 2-byte PPP protocol
constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;
constexpr size_t kIcmpHeader = 4;  // type, code, checksum; the rest is type-specific

// ParsedPacket stores offsets as uint16_t. The deepest header stack we accept is bounded
// by the caps above: L2 (Ethernet + 4 tags + 16 MPLS labels) + an IPv6 chain of 8 maximal
// (2048-byte) extension headers + a 60-byte TCP header. Check it fits, so no offset can wrap.
static_assert(kEthHeader + kMaxVlanTags * kVlanTag + kMaxMplsLabels * kMplsEntry + kIpv6Header +
                      kMaxIpv6ExtHeaders * 2048 + 60 <=
                  0xffff,
              "header offsets must fit ParsedPacket's uint16_t fields");

inline uint16_t rd16(const uint8_t* p) {
  return uint16_t((p[0] << 8) | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint16_t clamp16(size_t v) {
  return v > 0xffff ? uint16_t(0xffff) : uint16_t(v);
}

// Bounded read window over the frame. Invariant: pos <= end <= len.
struct Cursor {
  const uint8_t* data;
  size_t pos;
  size_t end;

  size_t left() const { return end - pos; }
  bool has(size_t n) const { return n <= end - pos; }
  const uint8_t* at() const { return data + pos; }
  // Callers check has(n) first; skip never moves past end.
  void skip(size_t n) { pos += n; }
  // Shrinks the window to end at absolute offset abs_end (never grows, never below pos).
  void limit_to(size_t abs_end) {
    if (abs_end < end) end = abs_end < pos ? pos : abs_end;
  }
};

// Records the remaining window as opaque payload (used where no L4 header is parsed).
void set_payload_rest(const Cursor& c, ParsedPacket& out) {
  out.payload_offset = uint16_t(c.pos);
  out.payload_len = clamp16(c.left());
}

ParseError parse_ipv4(Cursor& c, ParsedPacket& out);
ParseError parse_ipv6(Cursor& c, ParsedPacket& out);
ParseError parse_mpls(Cursor& c, ParsedPacket& out);

// ---- L4 -------------------------------------------------------------------------------

ParseError parse_tcp(Cursor& c, ParsedPacket& out) {
  if (!c.has(kTcpMinHeader)) return ParseError::kTruncatedTcp;
  const uint8_t* h = c.at();
  const size_t doff = size_t(h[12] >> 4) * 4;
  if (doff < kTcpMinHeader) return ParseError::kBadTcpDataOffset;
  out.sport = rd16(h);
  out.dport = rd16(h + 2);
  out.tcp_flags = h[13];  // FIN..CWR; the NS bit lives in byte 12 and is not kept
  out.has_ports = true;
  // Options that run past the captured bytes are a snaplen effect, not an error: the
  // payload is then simply empty.
  c.skip(doff < c.left() ? doff : c.left());
  set_payload_rest(c, out);
  return ParseError::kOk;
}

// length_from_capture: the IP header carried length 0 (IPv4 BIG TCP, IPv6 jumbogram or GSO
// super-packet). Such packets also carry UDP length 0 (RFC 2675 section 4), which is
// therefore accepted only in that case.
ParseError parse_udp(Cursor& c, ParsedPacket& out, bool length_from_capture) {
  if (!c.has(kUdpHeader)) return ParseError::kTruncatedUdp;
  const uint8_t* h = c.at();
  const uint16_t ulen = rd16(h + 4);
  if (ulen == 0 ? !length_from_capture : ulen < kUdpHeader) return ParseError::kBadUdpLength;
  out.sport = rd16(h);
  out.dport = rd16(h + 2);
  out.has_ports = true;
  if (out.dport == kVxlanPort) {
    out.tunnel = Tunnel::kVxlan;
  } else if (out.dport == kGenevePort) {
    out.tunnel = Tunnel::kGeneve;
  }
  c.skip(kUdpHeader);
  if (ulen != 0) c.limit_to(c.pos + (ulen - kUdpHeader));  // UDP length bounds its payload
  set_payload_rest(c, out);
  return ParseError::kOk;
}

ParseError parse_icmp(Cursor& c, ParsedPacket& out) {
  if (!c.has(kIcmpHeader)) return ParseError::kTruncatedIcmp;
  out.icmp_type = c.at()[0];
  out.icmp_code = c.at()[1];
  c.skip(kIcmpHeader);
  set_payload_rest(c, out);
  return ParseError::kOk;
}

// Dispatches on the final protocol once the IP header (chain) has been consumed.
ParseError parse_l4(Cursor& c, ParsedPacket& out, uint8_t proto, bool length_from_capture) {
  out.proto = proto;
  if (out.fragment && !out.first_fragment) {
    // A later fragment starts mid-datagram: there is no L4 header to read, and whatever
    // sits here must not be read as ports. Its bytes are payload.
    set_payload_rest(c, out);
    return ParseError::kOk;
  }
  out.l4_offset = uint16_t(c.pos);
  const bool v6 = out.l3 == L3::kIpv6;
  switch (proto) {
    case ipproto::kTcp:
      return parse_tcp(c, out);
    case ipproto::kUdp:
      return parse_udp(c, out, length_from_capture);
    case ipproto::kIcmp:
      if (!v6) return parse_icmp(c, out);
      break;
    case ipproto::kIcmpv6:
      if (v6) return parse_icmp(c, out);
      break;
    case ipproto::kGre:
      // Accounted by the outer header; we deliberately never descend into the tunnel.
      out.tunnel = Tunnel::kGre;
      break;
    default:
      break;
  }
  // Protocols without a parsed header (GRE, ESP, SCTP, no-next-header, ...): everything
  // after the IP header(s) is payload.
  set_payload_rest(c, out);
  return ParseError::kOk;
}

// ---- L3 -------------------------------------------------------------------------------

ParseError parse_ipv4(Cursor& c, ParsedPacket& out) {
  if (!c.has(kIpv4MinHeader)) return ParseError::kTruncatedIpv4;
  const uint8_t* h = c.at();
  if ((h[0] >> 4) != 4) return ParseError::kBadIpv4Version;
  const size_t ihl = size_t(h[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader) return ParseError::kBadIpv4HeaderLength;
  if (!c.has(ihl)) return ParseError::kTruncatedIpv4;  // options cut off
  const uint16_t total = rd16(h + 2);
  // Total length 0 is what Linux BIG TCP (IPv4, kernel >= 6.3) puts on GSO packets larger
  // than 64 KB, and what a tap on that host captures. It is not a malformed header, so the
  // datagram is taken to extend to the end of the capture (tcpdump >= 4.99.5 does the same).
  const bool length_from_capture = total == 0;
  if (!length_from_capture && total < ihl) return ParseError::kBadIpv4TotalLength;

  out.l3 = L3::kIpv4;
  out.l3_offset = uint16_t(c.pos);
  out.src = IpAddr::from_v4(h + 12);
  out.dst = IpAddr::from_v4(h + 16);
  out.ttl = h[8];
  out.ip_id = rd16(h + 4);
  out.ip_len = length_from_capture ? uint32_t(c.left()) : total;
  const uint16_t frag = rd16(h + 6);
  const uint16_t frag_offset = frag & 0x1fff;
  const bool more_fragments = (frag & 0x2000) != 0;
  if (more_fragments || frag_offset != 0) {
    out.fragment = true;
    out.first_fragment = frag_offset == 0;  // only this one carries the L4 header
  }
  if (!length_from_capture) c.limit_to(c.pos + total);
  c.skip(ihl);
  return parse_l4(c, out, h[9], length_from_capture);
}

// Returns the RFC 2675 Jumbo Payload length from a hop-by-hop header's options, or 0 if
// there is none. Values <= 65535 are invalid jumbo lengths (RFC 2675 section 3) and are
// ignored, which also guarantees the length can never end the datagram inside its headers.
uint32_t find_jumbo_length(const uint8_t* hbh, size_t hbh_len) {
  size_t i = 2;  // skip next-header and length bytes
  while (i < hbh_len) {
    const uint8_t type = hbh[i];
    if (type == 0) {  // Pad1 has no length byte
      ++i;
      continue;
    }
    if (i + 2 > hbh_len) break;
    const size_t opt_len = hbh[i + 1];
    if (i + 2 + opt_len > hbh_len) break;
    if (type == 0xc2 && opt_len == 4) {
      const uint32_t v = rd32(hbh + i + 2);
      return v > 0xffff ? v : 0;
    }
    i += 2 + opt_len;
  }
  return 0;
}

ParseError parse_ipv6(Cursor& c, ParsedPacket& out) {
  if (!c.has(kIpv6Header)) return ParseError::kTruncatedIpv6;
  const uint8_t* h = c.at();
  if ((h[0] >> 4) != 6) return ParseError::kBadIpv6Version;
  const size_t l3 = c.pos;
  const uint16_t payload_len = rd16(h + 4);
  // Payload length 0 means a jumbogram (the real length is in a hop-by-hop Jumbo Payload
  // option, read below) or a Linux BIG TCP / GSO super-packet captured on the host, whose
  // kernels (>= 6.3) no longer insert that option. Either way the datagram extends to the
  // end of the capture unless a jumbo option says otherwise.
  const bool length_from_capture = payload_len == 0;

  out.l3 = L3::kIpv6;
  out.l3_offset = uint16_t(l3);
  out.flow_label = rd32(h) & 0xfffff;
  out.ttl = h[7];
  out.src = IpAddr::from_v6(h + 8);
  out.dst = IpAddr::from_v6(h + 24);
  if (length_from_capture) {
    out.ip_len = uint32_t(c.left());
  } else {
    out.ip_len = kIpv6Header + payload_len;
    c.limit_to(l3 + kIpv6Header + payload_len);
  }
  uint8_t next = h[6];
  c.skip(kIpv6Header);

  // Walk the extension headers that stand between the IPv6 header and the transport header.
  // ESP (50) ends the walk (the rest is encrypted), as do No Next Header (59) and anything
  // unknown. Mobility (135), HIP (139) and Shim6 (140) are reported as the final protocol:
  // they do not lead to a transport header in practice and are more useful counted as such.
  for (int n = 0;; ++n) {
    size_t hdr_len;
    switch (next) {
      case ip6ext::kHopByHop:
      case ip6ext::kRouting:
      case ip6ext::kDestOpts:
        if (!c.has(2)) return ParseError::kTruncatedIpv6ExtHeader;
        hdr_len = (size_t(c.at()[1]) + 1) * 8;
        break;
      case ip6ext::kAh:  // RFC 4302: length in 4-byte units, minus 2
        if (!c.has(2)) return ParseError::kTruncatedIpv6ExtHeader;
        hdr_len = (size_t(c.at()[1]) + 2) * 4;
        break;
      case ip6ext::kFragment:
        hdr_len = 8;
        break;
      default:
        return parse_l4(c, out, next, length_from_capture);
    }
    // Bounds the work per packet; real traffic uses at most a handful.
    if (n == kMaxIpv6ExtHeaders) return ParseError::kIpv6ExtChainTooLong;
    if (!c.has(hdr_len)) return ParseError::kTruncatedIpv6ExtHeader;
    const uint8_t* e = c.at();

    if (next == ip6ext::kHopByHop && n == 0 && length_from_capture) {
      if (const uint32_t jumbo = find_jumbo_length(e, hdr_len)) {
        out.ip_len =
            jumbo > 0xffffffffu - kIpv6Header ? 0xffffffffu : jumbo + uint32_t(kIpv6Header);
        c.limit_to(l3 + kIpv6Header + size_t(jumbo));
      }
    }
    if (next == ip6ext::kFragment) {
      const uint16_t frag_offset = rd16(e + 2) >> 3;
      out.fragment = true;
      out.first_fragment = frag_offset == 0;
      out.ip_id = uint16_t(rd32(e + 4) & 0xffff);
      if (frag_offset != 0) {
        // The header named by this fragment header is in the first fragment, not here.
        c.skip(hdr_len);
        return parse_l4(c, out, e[0], length_from_capture);
      }
    }
    next = e[0];
    c.skip(hdr_len);
  }
}

// ---- L2 -------------------------------------------------------------------------------

// After the last label (bottom of stack) MPLS does not say what follows; the first nibble
// of an IP header is its version. Anything else (notably 0: a pseudowire control word
// before an Ethernet frame) is counted, not guessed at.
ParseError parse_mpls(Cursor& c, ParsedPacket& out) {
  for (;;) {
    if (out.mpls_labels == kMaxMplsLabels) return ParseError::kMplsStackTooDeep;
    if (!c.has(kMplsEntry)) return ParseError::kTruncatedMpls;
    const bool bottom = (c.at()[2] & 0x01) != 0;
    ++out.mpls_labels;
    c.skip(kMplsEntry);
    if (bottom) break;
  }
  if (!c.has(1)) return ParseError::kTruncatedMpls;  // a payload is promised but absent
  switch (c.at()[0] >> 4) {
    case 4:
      out.ethertype = ethertype::kIpv4;
      return parse_ipv4(c, out);
    case 6:
      out.ethertype = ethertype::kIpv6;
      return parse_ipv6(c, out);
    default:
      return ParseError::kMplsUnknownPayload;
  }
}

ParseError parse_pppoe_session(Cursor& c, ParsedPacket& out) {
  if (!c.has(kPppoeHeader)) return ParseError::kTruncatedPppoe;
  const uint8_t* h = c.at();
  out.pppoe = true;
  // Version 1, type 1, code 0 (session data). Other codes belong on the discovery ethertype.
  if (h[0] != 0x11 || h[1] != 0x00) return ParseError::kPppoeNotSession;
  const uint16_t proto = rd16(h + 6);
  c.skip(kPppoeHeader);
  switch (proto) {
    case pppproto::kIpv4:
      out.ethertype = ethertype::kIpv4;
      return parse_ipv4(c, out);
    case pppproto::kIpv6:
      out.ethertype = ethertype::kIpv6;
      return parse_ipv6(c, out);
    default:
      // LCP echo, IPCP, ... on a session: control traffic, counted by reason.
      return ParseError::kPppoeNotIp;
  }
}

ParseError parse_ethertype(Cursor& c, ParsedPacket& out, uint16_t type) {
  out.ethertype = type;
  switch (type) {
    case ethertype::kIpv4:
      return parse_ipv4(c, out);
    case ethertype::kIpv6:
      return parse_ipv6(c, out);
    case ethertype::kMplsUc:
    case ethertype::kMplsMc:
      return parse_mpls(c, out);
    case ethertype::kPppoeSess:
      return parse_pppoe_session(c, out);
    case ethertype::kPppoeDisc:
      out.pppoe = true;
      return ParseError::kOk;
    default:
      // ARP, LLDP, ... and 802.3 frames (type field < 0x0600 is a length: STP, CDP) are
      // not IP and not errors. The raw field is reported as the ethertype.
      return ParseError::kOk;
  }
}

bool is_vlan_tpid(uint16_t t) {
  return t == ethertype::kVlan || t == ethertype::kQinQ || t == ethertype::kQinQOld;
}

ParseError parse_ethernet(Cursor& c, ParsedPacket& out) {
  if (!c.has(kEthHeader)) return ParseError::kTruncatedEthernet;
  uint16_t type = rd16(c.at() + 12);
  c.skip(kEthHeader);
  while (is_vlan_tpid(type)) {
    if (out.vlan_count == kMaxVlanTags) return ParseError::kTooManyVlans;
    if (!c.has(kVlanTag)) return ParseError::kTruncatedVlan;
    const uint16_t vid = rd16(c.at()) & 0x0fff;
    if (out.vlan_count == 0) out.outer_vlan = vid;
    out.inner_vlan = vid;
    ++out.vlan_count;
    type = rd16(c.at() + 2);
    c.skip(kVlanTag);
  }
  return parse_ethertype(c, out, type);
}

// Raw IP (DLT_RAW / LINKTYPE_IPV4 / LINKTYPE_IPV6): the version nibble is the only type
// information, so a nibble other than 4 or 6 fails the IPv4 version check.
ParseError parse_raw_ip(Cursor& c, ParsedPacket& out) {
  if (!c.has(1)) return ParseError::kTruncatedIpv4;
  if ((c.at()[0] >> 4) == 6) return parse_ipv6(c, out);
  return parse_ipv4(c, out);
}

// DLT_PPP: PPP in HDLC-like framing (RFC 1662). The 0xff 0x03 address/control bytes may be
// omitted (ACFC), and the protocol may be compressed to one byte (PFC, RFC 1661 section
// 6.5): a protocol byte with its low bit set is the last one. The ethertype reported for
// IP/MPLS is the Ethernet equivalent; other PPP protocols report 0.
ParseError parse_ppp(Cursor& c, ParsedPacket& out) {
  if (c.has(2) && c.at()[0] == 0xff && c.at()[1] == 0x03) c.skip(2);
  if (!c.has(1)) return ParseError::kTruncatedPpp;
  uint16_t proto;
  if (c.at()[0] & 0x01) {
    proto = c.at()[0];
    c.skip(1);
  } else {
    if (!c.has(2)) return ParseError::kTruncatedPpp;
    proto = rd16(c.at());
    c.skip(2);
  }
  switch (proto) {
    case pppproto::kIpv4:
      out.ethertype = ethertype::kIpv4;
      return parse_ipv4(c, out);
    case pppproto::kIpv6:
      out.ethertype = ethertype::kIpv6;
      return parse_ipv6(c, out);
    case pppproto::kMplsUc:
      out.ethertype = ethertype::kMplsUc;
      return parse_mpls(c, out);
    case pppproto::kMplsMc:
      out.ethertype = ethertype::kMplsMc;
      return parse_mpls(c, out);
    default:
      return ParseError::kOk;  // LCP, IPCP, CHAP, ...: link control, not IP
  }
}

}  // namespace

std::string_view parse_error_name(ParseError e) {
  // clang-format off
  switch (e) {
    case ParseError::kOk: return "ok";
    case ParseError::kTruncatedEthernet: return "truncated_ethernet";
    case ParseError::kTruncatedVlan: return "truncated_vlan";
    case ParseError::kTooManyVlans: return "too_many_vlans";
    case ParseError::kTruncatedMpls: return "truncated_mpls";
    case ParseError::kMplsStackTooDeep: return "mpls_stack_too_deep";
    case ParseError::kMplsUnknownPayload: return "mpls_unknown_payload";
    case ParseError::kTruncatedPppoe: return "truncated_pppoe";
    case ParseError::kPppoeNotSession: return "pppoe_not_session";
    case ParseError::kPppoeNotIp: return "pppoe_not_ip";
    case ParseError::kTruncatedIpv4: return "truncated_ipv4";
    case ParseError::kBadIpv4Version: return "bad_ipv4_version";
    case ParseError::kBadIpv4HeaderLength: return "bad_ipv4_header_length";
    case ParseError::kBadIpv4TotalLength: return "bad_ipv4_total_length";
    case ParseError::kTruncatedIpv6: return "truncated_ipv6";
    case ParseError::kBadIpv6Version: return "bad_ipv6_version";
    case ParseError::kTruncatedIpv6ExtHeader: return "truncated_ipv6_ext_header";
    case ParseError::kIpv6ExtChainTooLong: return "ipv6_ext_chain_too_long";
    case ParseError::kTruncatedTcp: return "truncated_tcp";
    case ParseError::kBadTcpDataOffset: return "bad_tcp_data_offset";
    case ParseError::kTruncatedUdp: return "truncated_udp";
    case ParseError::kBadUdpLength: return "bad_udp_length";
    case ParseError::kTruncatedIcmp: return "truncated_icmp";
    case ParseError::kTruncatedPpp: return "truncated_ppp";
    case ParseError::kCount: break;
  }
  // clang-format on
  return "unknown";
}

// On an error, `out` keeps what was parsed before the failing layer (VLANs, labels, IP
// addresses, ...): useful for diagnostics, but callers account the frame by reason only.
ParseError parse_packet(const uint8_t* data, size_t len, ParsedPacket& out, LinkType link) {
  out = ParsedPacket{};
  Cursor c{data, 0, data == nullptr ? 0 : len};
  switch (link) {
    case LinkType::kRawIp:
      return parse_raw_ip(c, out);
    case LinkType::kPpp:
      return parse_ppp(c, out);
    case LinkType::kEthernet:
      break;
  }
  return parse_ethernet(c, out);
}

}  // namespace haystack
