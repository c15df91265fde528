// Parser tests. Suite `parser`: hand-built frames for every layer and every ParseError.
// Suite `parser_pcaps`: real captures from the tcpdump and nDPI test suites
// (tests/data/NOTICE); the expected values were read off `tcpdump -nr FILE -e -vv -xx`,
// not off the parser's own output.
#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "dataplane/parser.h"
#include "dataplane/pcap_file.h"

namespace haystack {
// Printers for Boost.Test diagnostics. Internal linkage so other test files may have their own.
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, ParseError e) {
  return os << parse_error_name(e);
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, L3 l3) {
  return os << "L3(" << int(l3) << ")";
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, Tunnel t) {
  return os << "Tunnel(" << int(t) << ")";
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, LinkType t) {
  return os << "LinkType(" << int(t) << ")";
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a.v4) {
    inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  }
  return os << buf;
}
}  // namespace haystack

using namespace haystack;

namespace {

using Bytes = std::vector<uint8_t>;

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t p[4] = {a, b, c, d};
  return IpAddr::from_v4(p);
}
IpAddr v6(const char* text) {
  uint8_t p[16];
  BOOST_REQUIRE(inet_pton(AF_INET6, text, p) == 1);
  return IpAddr::from_v6(p);
}

// Parses from an exact-size heap copy, so AddressSanitizer reports any read past the end
// (a std::vector's spare capacity would hide it).
ParseError parse(const Bytes& f, ParsedPacket& out, LinkType link = LinkType::kEthernet) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[f.size()]);
  if (!f.empty()) std::memcpy(buf.get(), f.data(), f.size());
  return parse_packet(buf.get(), f.size(), out, link);
}
ParseError parse(const Bytes& f, LinkType link = LinkType::kEthernet) {
  ParsedPacket p;
  return parse(f, p, link);
}

struct V4 {
  uint8_t ihl = 5;
  int total = -1;  // -1: header + l4 bytes
  uint16_t frag = 0;
  uint16_t id = 0x1234;
  uint8_t ttl = 64;
  uint8_t version = 4;
  std::array<uint8_t, 4> src{192, 0, 2, 1};
  std::array<uint8_t, 4> dst{198, 51, 100, 2};
};

struct V6 {
  int payload_len = -1;  // -1: the given payload byte count
  uint32_t flow = 0x12345;
  uint8_t hlim = 64;
  uint8_t version = 6;
  const char* src = "2001:db8::1";
  const char* dst = "2001:db8:ffff::2";
};

// Appends protocol headers to a frame, outermost first.
struct Frame {
  Bytes b;

  Frame& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Frame& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v)); }
  Frame& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
  Frame& raw(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v);
    return *this;
  }
  Frame& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Frame& fill(size_t n, uint8_t v) {
    b.insert(b.end(), n, v);
    return *this;
  }
  Frame& eth(uint16_t type) {
    raw({0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01});
    return u16(type);
  }
  Frame& vlan(uint16_t tci, uint16_t next) { return u16(tci).u16(next); }
  Frame& mpls(uint32_t label, bool bottom, uint8_t ttl = 64) {
    return u32((label << 12) | (bottom ? 0x100u : 0u) | ttl);
  }
  Frame& pppoe(uint16_t ppp_proto, uint8_t vertype = 0x11, uint8_t code = 0) {
    return u8(vertype).u8(code).u16(0x0017).u16(0x0040).u16(ppp_proto);
  }
  // l4_bytes: everything after the IPv4 header (counted in the total length).
  Frame& ipv4(uint8_t proto, size_t l4_bytes, const V4& o = {}) {
    const size_t hlen = size_t(o.ihl) * 4;
    u8(uint8_t((o.version << 4) | o.ihl)).u8(0);
    u16(uint16_t(o.total >= 0 ? size_t(o.total) : hlen + l4_bytes));
    u16(o.id).u16(o.frag).u8(o.ttl).u8(proto).u16(0);
    for (uint8_t x : o.src) u8(x);
    for (uint8_t x : o.dst) u8(x);
    return fill(hlen > 20 ? hlen - 20 : 0, 0x01);  // NOP options
  }
  Frame& ipv6(uint8_t next, size_t payload_bytes, const V6& o = {}) {
    u32((uint32_t(o.version) << 28) | o.flow);
    u16(uint16_t(o.payload_len >= 0 ? size_t(o.payload_len) : payload_bytes));
    u8(next).u8(o.hlim);
    uint8_t a[16];
    inet_pton(AF_INET6, o.src, a);
    b.insert(b.end(), a, a + 16);
    inet_pton(AF_INET6, o.dst, a);
    b.insert(b.end(), a, a + 16);
    return *this;
  }
  // Generic-format extension header (HBH, routing, dest opts) of (len_units+1)*8 bytes,
  // filled with one PadN option.
  Frame& ext(uint8_t next, uint8_t len_units) {
    const size_t total = (size_t(len_units) + 1) * 8;
    u8(next).u8(len_units).u8(0x01).u8(uint8_t(total - 4));
    return zeros(total - 4);
  }
  Frame& frag6(uint8_t next, uint16_t offset_units, bool more, uint32_t ident) {
    return u8(next).u8(0).u16(uint16_t((offset_units << 3) | (more ? 1 : 0))).u32(ident);
  }
  Frame& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t doff_words = 5) {
    u16(sport).u16(dport).u32(1000).u32(2000);
    u8(uint8_t(doff_words << 4)).u8(flags).u16(65535).u16(0).u16(0);
    if (doff_words > 5) fill((doff_words - 5) * 4u, 0x01);
    return *this;
  }
  Frame& udp(uint16_t sport, uint16_t dport, uint16_t len) {
    return u16(sport).u16(dport).u16(len).u16(0);
  }
  Frame& icmp(uint8_t type, uint8_t code) { return u8(type).u8(code).u16(0).u32(0); }
  Bytes take() { return std::move(b); }
};

constexpr uint8_t kHbh = 0, kRouting = 43, kFrag = 44, kEsp = 50, kAh = 51, kNoNext = 59,
                  kDest = 60;

}  // namespace

// ==========================================================================================
BOOST_AUTO_TEST_SUITE(parser)

// ---- every ParseError reason, each asserted exactly -------------------------------------

namespace {
struct ErrorCase {
  const char* what;
  Bytes frame;
  LinkType link;
  ParseError expected;
};

std::vector<ErrorCase> error_cases() {
  using E = ParseError;
  const auto eth = LinkType::kEthernet;
  std::vector<ErrorCase> v;
  v.push_back({"13-byte frame", Bytes(13, 0xaa), eth, E::kTruncatedEthernet});
  v.push_back({"empty frame", Bytes{}, eth, E::kTruncatedEthernet});
  v.push_back({"VLAN tag cut", Frame().eth(0x8100).u16(100).take(), eth, E::kTruncatedVlan});
  v.push_back({"second tag cut", Frame().eth(0x88a8).vlan(100, 0x8100).u8(0).take(), eth,
               E::kTruncatedVlan});
  v.push_back({"5 tags",
               Frame()
                   .eth(0x88a8)
                   .vlan(1, 0x8100)
                   .vlan(2, 0x9100)
                   .vlan(3, 0x8100)
                   .vlan(4, 0x8100)
                   .vlan(5, 0x0800)
                   .ipv4(17, 8)
                   .udp(1, 2, 8)
                   .take(),
               eth, E::kTooManyVlans});
  v.push_back(
      {"MPLS entry cut", Frame().eth(0x8847).raw({0, 0x10, 0x01}).take(), eth, E::kTruncatedMpls});
  v.push_back({"MPLS no bottom-of-stack", Frame().eth(0x8847).mpls(16, false).take(), eth,
               E::kTruncatedMpls});
  v.push_back(
      {"MPLS payload absent", Frame().eth(0x8847).mpls(16, true).take(), eth, E::kTruncatedMpls});
  {
    Frame f;
    f.eth(0x8847);
    for (int i = 0; i < 16; ++i) f.mpls(uint32_t(100 + i), false);
    f.mpls(200, true).ipv4(17, 8).udp(1, 2, 8);
    v.push_back({"17 labels", f.take(), eth, E::kMplsStackTooDeep});
  }
  v.push_back(
      {"MPLS pseudowire control word",
       Frame().eth(0x8847).mpls(16, true).u32(0).eth(0x0800).ipv4(17, 8).udp(1, 2, 8).take(), eth,
       E::kMplsUnknownPayload});
  v.push_back({"PPPoE header cut", Frame().eth(0x8864).raw({0x11, 0, 0, 1, 0, 8, 0}).take(), eth,
               E::kTruncatedPppoe});
  v.push_back({"PADI code on session ethertype",
               Frame().eth(0x8864).pppoe(0x0021, 0x11, 0x09).take(), eth, E::kPppoeNotSession});
  v.push_back({"PPPoE version 2",
               Frame().eth(0x8864).pppoe(0x0021, 0x21, 0).ipv4(17, 8).udp(1, 2, 8).take(), eth,
               E::kPppoeNotSession});
  v.push_back({"PPPoE LCP", Frame().eth(0x8864).pppoe(0xc021).raw({9, 1, 0, 8, 0, 0, 0, 0}).take(),
               eth, E::kPppoeNotIp});
  v.push_back({"19-byte IPv4", Frame().eth(0x0800).fill(19, 0x45).take(), eth, E::kTruncatedIpv4});
  {
    Bytes f = Frame().eth(0x0800).ipv4(17, 8, {.ihl = 8}).udp(1, 2, 8).take();
    f.resize(14 + 28);  // 32-byte header, 28 bytes captured
    v.push_back({"IPv4 options cut", f, eth, E::kTruncatedIpv4});
  }
  v.push_back({"version 6 on IPv4 ethertype", Frame().eth(0x0800).ipv6(17, 8).udp(1, 2, 8).take(),
               eth, E::kBadIpv4Version});
  v.push_back({"IHL 4", Frame().eth(0x0800).ipv4(17, 8, {.ihl = 4}).zeros(4).udp(1, 2, 8).take(),
               eth, E::kBadIpv4HeaderLength});
  v.push_back({"total length 19",
               Frame().eth(0x0800).ipv4(17, 8, {.total = 19}).udp(1, 2, 8).take(), eth,
               E::kBadIpv4TotalLength});
  v.push_back({"total length below options",
               Frame().eth(0x0800).ipv4(17, 8, {.ihl = 6, .total = 22}).udp(1, 2, 8).take(), eth,
               E::kBadIpv4TotalLength});
  v.push_back({"39-byte IPv6", Frame().eth(0x86dd).fill(39, 0x60).take(), eth, E::kTruncatedIpv6});
  v.push_back({"version 4 on IPv6 ethertype",
               Frame().eth(0x86dd).ipv4(17, 28).udp(1, 2, 28).zeros(20).take(), eth,
               E::kBadIpv6Version});
  v.push_back({"HBH claims 16 bytes, 8 captured",
               Frame().eth(0x86dd).ipv6(kHbh, 16).raw({17, 1, 1, 4, 0, 0, 0, 0}).take(), eth,
               E::kTruncatedIpv6ExtHeader});
  v.push_back({"1 byte of routing header", Frame().eth(0x86dd).ipv6(kRouting, 8).u8(17).take(), eth,
               E::kTruncatedIpv6ExtHeader});
  v.push_back({"fragment header cut",
               Frame().eth(0x86dd).ipv6(kFrag, 8).raw({17, 0, 0, 0, 0, 0}).take(), eth,
               E::kTruncatedIpv6ExtHeader});
  v.push_back({"AH cut", Frame().eth(0x86dd).ipv6(kAh, 24).raw({17, 4}).zeros(14).take(), eth,
               E::kTruncatedIpv6ExtHeader});
  v.push_back(
      {"payload length ends inside the ext chain",
       Frame().eth(0x86dd).ipv6(kDest, 0, {.payload_len = 4}).ext(17, 0).udp(1, 2, 8).take(), eth,
       E::kTruncatedIpv6ExtHeader});
  {
    Frame f;
    f.eth(0x86dd).ipv6(kDest, 9 * 8 + 8);
    for (int i = 0; i < 8; ++i) f.ext(kDest, 0);
    f.ext(17, 0).udp(1, 2, 8);
    v.push_back({"9 extension headers", f.take(), eth, E::kIpv6ExtChainTooLong});
  }
  {
    Bytes f = Frame().eth(0x0800).ipv4(6, 20).tcp(1, 2, 0x02).take();
    f.pop_back();
    v.push_back({"19 bytes of TCP", f, eth, E::kTruncatedTcp});
  }
  v.push_back({"TCP beyond IPv4 total length (padding is not TCP)",
               Frame().eth(0x0800).ipv4(6, 4).tcp(1, 2, 0x02).take(), eth, E::kTruncatedTcp});
  v.push_back({"TCP data offset 4", Frame().eth(0x0800).ipv4(6, 20).tcp(1, 2, 0x02, 4).take(), eth,
               E::kBadTcpDataOffset});
  v.push_back({"TCP data offset 0 over IPv6",
               Frame().eth(0x86dd).ipv6(6, 20).tcp(1, 2, 0x02, 0).take(), eth,
               E::kBadTcpDataOffset});
  v.push_back({"7 bytes of UDP", Frame().eth(0x0800).ipv4(17, 7).raw({0, 1, 0, 2, 0, 8, 0}).take(),
               eth, E::kTruncatedUdp});
  v.push_back(
      {"UDP length 7", Frame().eth(0x0800).ipv4(17, 8).udp(1, 2, 7).take(), eth, E::kBadUdpLength});
  v.push_back({"UDP length 0 in a normal datagram",
               Frame().eth(0x0800).ipv4(17, 8).udp(1, 2, 0).take(), eth, E::kBadUdpLength});
  v.push_back({"UDP length 0 in IPv6 with a payload length",
               Frame().eth(0x86dd).ipv6(17, 8).udp(1, 2, 0).take(), eth, E::kBadUdpLength});
  v.push_back({"3 bytes of ICMP", Frame().eth(0x0800).ipv4(1, 3).raw({8, 0, 0}).take(), eth,
               E::kTruncatedIcmp});
  v.push_back({"3 bytes of ICMPv6", Frame().eth(0x86dd).ipv6(58, 3).raw({128, 0, 0}).take(), eth,
               E::kTruncatedIcmp});
  v.push_back({"PPP: empty", Bytes{}, LinkType::kPpp, E::kTruncatedPpp});
  v.push_back({"PPP: address/control only", Bytes{0xff, 0x03}, LinkType::kPpp, E::kTruncatedPpp});
  v.push_back({"PPP: half a protocol", Bytes{0xff, 0x03, 0x00}, LinkType::kPpp, E::kTruncatedPpp});
  v.push_back({"raw IP: empty", Bytes{}, LinkType::kRawIp, E::kTruncatedIpv4});
  v.push_back({"raw IP: version 5", Frame().ipv4(17, 8, {.version = 5}).udp(1, 2, 8).take(),
               LinkType::kRawIp, E::kBadIpv4Version});
  return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_error_reason_is_produced_exactly) {
  std::set<ParseError> seen;
  for (const ErrorCase& c : error_cases()) {
    BOOST_TEST_CONTEXT(c.what) {
      BOOST_TEST(parse(c.frame, c.link) == c.expected);
      seen.insert(c.expected);
    }
  }
  for (size_t i = 1; i < kParseErrorCount; ++i) {
    const auto e = static_cast<ParseError>(i);
    BOOST_TEST_CONTEXT(parse_error_name(e)) {
      BOOST_TEST(seen.count(e) == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_names_are_stable_snake_case_and_unique) {
  BOOST_TEST(parse_error_name(ParseError::kOk) == "ok");
  BOOST_TEST(parse_error_name(ParseError::kTruncatedEthernet) == "truncated_ethernet");
  BOOST_TEST(parse_error_name(ParseError::kTooManyVlans) == "too_many_vlans");
  BOOST_TEST(parse_error_name(ParseError::kMplsStackTooDeep) == "mpls_stack_too_deep");
  BOOST_TEST(parse_error_name(ParseError::kBadIpv4HeaderLength) == "bad_ipv4_header_length");
  BOOST_TEST(parse_error_name(ParseError::kTruncatedIpv6ExtHeader) == "truncated_ipv6_ext_header");
  BOOST_TEST(parse_error_name(ParseError::kTruncatedPpp) == "truncated_ppp");
  BOOST_TEST(parse_error_name(ParseError::kCount) == "unknown");
  std::set<std::string> names;
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const std::string n(parse_error_name(static_cast<ParseError>(i)));
    BOOST_TEST_CONTEXT(n) {
      BOOST_TEST(!n.empty());
      BOOST_TEST(n != "unknown");
      for (char ch : n)
        BOOST_TEST(((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'));
      BOOST_TEST(names.insert(n).second);
    }
  }
}

// ---- truncation at every length --------------------------------------------------------

BOOST_AUTO_TEST_CASE(ipv6_tcp_truncated_at_every_offset) {
  // Ethernet [0,14) IPv6 [14,54) HBH [54,62) DestOpts [62,78) TCP doff 8 [78,110) data [110,120)
  const Bytes full = Frame()
                         .eth(0x86dd)
                         .ipv6(kHbh, 8 + 16 + 32 + 10)
                         .ext(kDest, 0)
                         .ext(6, 1)
                         .tcp(51000, 443, 0x18, 8)
                         .fill(10, 0xab)
                         .take();
  BOOST_REQUIRE_EQUAL(full.size(), 120u);
  for (size_t n = 0; n <= full.size(); ++n) {
    BOOST_TEST_CONTEXT("captured " << n) {
      const Bytes cut(full.begin(), full.begin() + long(n));
      ParsedPacket p;
      const ParseError e = parse(cut, p);
      const ParseError want = n < 14   ? ParseError::kTruncatedEthernet
                              : n < 54 ? ParseError::kTruncatedIpv6
                              : n < 78 ? ParseError::kTruncatedIpv6ExtHeader
                              : n < 98 ? ParseError::kTruncatedTcp
                                       : ParseError::kOk;
      BOOST_TEST(e == want);
      if (e == ParseError::kOk) {
        BOOST_TEST(p.has_ports);
        BOOST_TEST(p.sport == 51000);
        BOOST_TEST(p.dport == 443);
        BOOST_TEST(p.ip_len == 106u);  // header length field, not the capture
        BOOST_TEST(p.l4_offset == 78);
        const size_t off = n < 110 ? n : 110;  // options cut by the snap length: no payload
        BOOST_TEST(p.payload_offset == off);
        BOOST_TEST(p.payload_len == n - off);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(qinq_mpls_ipv4_udp_truncated_at_every_offset) {
  // Ethernet [0,14) S-tag [14,18) C-tag [18,22) MPLS x2 [22,30) IPv4 IHL 6 [30,54)
  // UDP [54,62) data [62,74)
  const Bytes full = Frame()
                         .eth(0x88a8)
                         .vlan(0x0064, 0x8100)
                         .vlan(0x00c8, 0x8847)
                         .mpls(1000, false)
                         .mpls(2000, true)
                         .ipv4(17, 20, {.ihl = 6})
                         .udp(5353, 53, 20)
                         .fill(12, 0xcd)
                         .take();
  BOOST_REQUIRE_EQUAL(full.size(), 74u);
  for (size_t n = 0; n <= full.size(); ++n) {
    BOOST_TEST_CONTEXT("captured " << n) {
      const Bytes cut(full.begin(), full.begin() + long(n));
      ParsedPacket p;
      const ParseError want = n < 14   ? ParseError::kTruncatedEthernet
                              : n < 22 ? ParseError::kTruncatedVlan
                              : n < 31 ? ParseError::kTruncatedMpls  // 30: no payload nibble
                              : n < 54 ? ParseError::kTruncatedIpv4  // incl. options cut
                              : n < 62 ? ParseError::kTruncatedUdp
                                       : ParseError::kOk;
      BOOST_TEST(parse(cut, p) == want);
      if (want == ParseError::kOk) {
        BOOST_TEST(p.payload_offset == 62);
        BOOST_TEST(p.payload_len == n - 62);
        BOOST_TEST(p.mpls_labels == 2);
        BOOST_TEST(p.vlan_count == 2);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(pppoe_and_ppp_truncated_at_every_offset) {
  const Bytes pppoe = Frame().eth(0x8864).pppoe(0x0057).ipv6(17, 8).udp(1, 2, 8).take();
  for (size_t n = 0; n <= pppoe.size(); ++n) {
    BOOST_TEST_CONTEXT("PPPoE captured " << n) {
      const ParseError want = n < 14   ? ParseError::kTruncatedEthernet
                              : n < 22 ? ParseError::kTruncatedPppoe
                              : n < 62 ? ParseError::kTruncatedIpv6
                              : n < 70 ? ParseError::kTruncatedUdp
                                       : ParseError::kOk;
      BOOST_TEST(parse(Bytes(pppoe.begin(), pppoe.begin() + long(n))) == want);
    }
  }
  const Bytes ppp = Frame().raw({0xff, 0x03, 0x00, 0x21}).ipv4(1, 8).icmp(8, 0).take();
  for (size_t n = 0; n <= ppp.size(); ++n) {
    BOOST_TEST_CONTEXT("PPP captured " << n) {
      // 1 byte: 0xff alone is read as a (1-byte, unknown) protocol and is not an error.
      const ParseError want = n == 1   ? ParseError::kOk
                              : n < 4  ? ParseError::kTruncatedPpp
                              : n < 24 ? ParseError::kTruncatedIpv4
                              : n < 28 ? ParseError::kTruncatedIcmp
                                       : ParseError::kOk;
      BOOST_TEST(parse(Bytes(ppp.begin(), ppp.begin() + long(n)), LinkType::kPpp) == want);
    }
  }
}

// ---- IPv4 ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(ipv4_tcp_fields) {
  const Bytes f =
      Frame()
          .eth(0x0800)
          .ipv4(6, 24 + 5, {.id = 0xbeef, .ttl = 57, .src = {10, 1, 2, 3}, .dst = {203, 0, 113, 9}})
          .tcp(40000, 443, tcpflag::kSyn | tcpflag::kAck | 0x80 /*CWR*/, 6)
          .raw({'h', 'e', 'l', 'l', 'o'})
          .take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv4);
  BOOST_TEST(p.ethertype == 0x0800);
  BOOST_TEST(p.src == v4(10, 1, 2, 3));
  BOOST_TEST(p.dst == v4(203, 0, 113, 9));
  BOOST_TEST(p.src.v4);
  BOOST_TEST(p.src.v4_host_order() == 0x0a010203u);
  BOOST_TEST(p.proto == ipproto::kTcp);
  BOOST_TEST(p.ttl == 57);
  BOOST_TEST(p.ip_id == 0xbeef);
  BOOST_TEST(p.ip_len == 49u);
  BOOST_TEST(!p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(p.has_ports);
  BOOST_TEST(p.sport == 40000);
  BOOST_TEST(p.dport == 443);
  BOOST_TEST(p.tcp_flags == 0x92);
  BOOST_TEST(p.tunnel == Tunnel::kNone);
  BOOST_TEST(p.vlan_count == 0);
  BOOST_TEST(p.mpls_labels == 0);
  BOOST_TEST(!p.pppoe);
  BOOST_TEST(p.l3_offset == 14);
  BOOST_TEST(p.l4_offset == 34);
  BOOST_TEST(p.payload_offset == 58);
  BOOST_TEST(p.payload_len == 5);
}

BOOST_AUTO_TEST_CASE(ipv4_options_are_skipped) {
  const Bytes f =
      Frame().eth(0x0800).ipv4(17, 8 + 3, {.ihl = 15}).udp(123, 124, 11).raw({1, 2, 3}).take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.l4_offset == 14 + 60);
  BOOST_TEST(p.sport == 123);
  BOOST_TEST(p.dport == 124);
  BOOST_TEST(p.payload_offset == 14 + 60 + 8);
  BOOST_TEST(p.payload_len == 3);
}

BOOST_AUTO_TEST_CASE(ethernet_padding_is_not_payload) {
  Bytes f = Frame().eth(0x0800).ipv4(17, 8 + 4).udp(1000, 53, 12).raw({1, 2, 3, 4}).take();
  f.resize(60, 0);  // minimum Ethernet frame
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 32u);
  BOOST_TEST(p.payload_offset == 42);
  BOOST_TEST(p.payload_len == 4);
  // The UDP length bounds the payload too when it is the smaller one.
  Bytes g = Frame().eth(0x0800).ipv4(17, 8 + 4).udp(1000, 53, 10).raw({1, 2, 3, 4}).take();
  BOOST_TEST(parse(g, p) == ParseError::kOk);
  BOOST_TEST(p.payload_len == 2);
}

BOOST_AUTO_TEST_CASE(ip_length_beyond_capture_is_not_an_error) {
  // Snap length cut: IPv4 says 1500 bytes, 54 were captured.
  const Bytes f = Frame().eth(0x0800).ipv4(6, 1480).tcp(1, 2, tcpflag::kAck).take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 1500u);
  BOOST_TEST(p.payload_offset == 54);
  BOOST_TEST(p.payload_len == 0);
}

BOOST_AUTO_TEST_CASE(ipv4_fragments) {
  ParsedPacket p;
  // First fragment: MF set, offset 0 -> carries the ports.
  BOOST_TEST(parse(Frame()
                       .eth(0x0800)
                       .ipv4(17, 16, {.frag = 0x2000, .id = 77})
                       .udp(53, 5353, 1000)
                       .zeros(8)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.fragment);
  BOOST_TEST(p.first_fragment);
  BOOST_TEST(p.has_ports);
  BOOST_TEST(p.sport == 53);
  BOOST_TEST(p.ip_id == 77);
  BOOST_TEST(p.l4_offset == 34);
  // Middle fragment: MF set, offset 185 (1480 bytes). Bytes that look like UDP are data.
  BOOST_TEST(parse(Frame()
                       .eth(0x0800)
                       .ipv4(17, 16, {.frag = 0x2000 | 185, .id = 77})
                       .udp(53, 5353, 1000)
                       .zeros(8)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.sport == 0);
  BOOST_TEST(p.proto == ipproto::kUdp);
  BOOST_TEST(p.l4_offset == 0);
  BOOST_TEST(p.payload_offset == 34);
  BOOST_TEST(p.payload_len == 16);
  // Last fragment: MF clear, offset != 0; even 2 bytes of data are fine (no L4 parsing).
  BOOST_TEST(parse(Frame().eth(0x0800).ipv4(6, 2, {.frag = 370}).zeros(2).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(!p.has_ports);
  // DF alone is not a fragment.
  BOOST_TEST(parse(Frame().eth(0x0800).ipv4(6, 20, {.frag = 0x4000}).tcp(1, 2, 0x10).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(!p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(p.has_ports);
}

BOOST_AUTO_TEST_CASE(ipv4_total_length_zero_is_big_tcp) {
  // Linux BIG TCP: IPv4 total length 0 (and UDP length 0) on GSO packets > 64 KB.
  const Bytes f =
      Frame().eth(0x0800).ipv4(17, 0, {.total = 0}).udp(40000, 4789, 0).zeros(100).take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == uint32_t(f.size() - 14));
  BOOST_TEST(p.tunnel == Tunnel::kVxlan);
  BOOST_TEST(p.payload_offset == 42);
  BOOST_TEST(p.payload_len == 100);
}

BOOST_AUTO_TEST_CASE(payload_len_saturates_at_16_bits) {
  const Bytes f = Frame().eth(0x0800).ipv4(6, 0, {.total = 0}).tcp(1, 2, 0x10).zeros(70000).take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 70040u);
  BOOST_TEST(p.payload_offset == 54);
  BOOST_TEST(p.payload_len == 0xffff);
}

BOOST_AUTO_TEST_CASE(icmp_and_gre) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().eth(0x0800).ipv4(1, 8).icmp(11, 0).take(), p) == ParseError::kOk);
  BOOST_TEST(p.proto == ipproto::kIcmp);
  BOOST_TEST(p.icmp_type == 11);
  BOOST_TEST(p.icmp_code == 0);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.l4_offset == 34);
  BOOST_TEST(p.payload_offset == 38);
  BOOST_TEST(p.payload_len == 4);

  BOOST_TEST(parse(Frame().eth(0x86dd).ipv6(58, 8).icmp(135, 0).take(), p) == ParseError::kOk);
  BOOST_TEST(p.proto == ipproto::kIcmpv6);
  BOOST_TEST(p.icmp_type == 135);

  // GRE: recognised, accounted by the outer header, never descended into.
  const Bytes gre = Frame()
                        .eth(0x0800)
                        .ipv4(47, 4 + 20 + 8)
                        .raw({0, 0, 0x08, 0x00})
                        .ipv4(17, 8)
                        .udp(7, 4789, 8)
                        .take();
  BOOST_TEST(parse(gre, p) == ParseError::kOk);
  BOOST_TEST(p.tunnel == Tunnel::kGre);
  BOOST_TEST(p.proto == ipproto::kGre);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.src == v4(192, 0, 2, 1));  // outer
  BOOST_TEST(p.l4_offset == 34);
  BOOST_TEST(p.payload_offset == 34);
  BOOST_TEST(p.payload_len == 32);
}

BOOST_AUTO_TEST_CASE(udp_tunnels_by_destination_port) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().eth(0x0800).ipv4(17, 16).udp(55555, 4789, 16).zeros(8).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.tunnel == Tunnel::kVxlan);
  BOOST_TEST(p.dport == 4789);
  BOOST_TEST(p.payload_len == 8);
  BOOST_TEST(parse(Frame().eth(0x86dd).ipv6(17, 16).udp(55555, 6081, 16).zeros(8).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.tunnel == Tunnel::kGeneve);
  BOOST_TEST(parse(Frame().eth(0x0800).ipv4(17, 8).udp(4789, 55555, 8).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.tunnel == Tunnel::kNone);
}

// ---- IPv6 ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(ipv6_udp_fields) {
  const Bytes f =
      Frame()
          .eth(0x86dd)
          .ipv6(17, 8 + 6, {.flow = 0xabcde, .hlim = 3, .src = "fe80::1", .dst = "ff02::fb"})
          .udp(5353, 5353, 14)
          .zeros(6)
          .take();
  ParsedPacket p;
  BOOST_TEST(parse(f, p) == ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.ethertype == 0x86dd);
  BOOST_TEST(p.src == v6("fe80::1"));
  BOOST_TEST(p.dst == v6("ff02::fb"));
  BOOST_TEST(!p.src.v4);
  BOOST_TEST(p.flow_label == 0xabcdeu);
  BOOST_TEST(p.ttl == 3);
  BOOST_TEST(p.ip_len == 54u);
  BOOST_TEST(p.proto == ipproto::kUdp);
  BOOST_TEST(p.l3_offset == 14);
  BOOST_TEST(p.l4_offset == 54);
  BOOST_TEST(p.payload_offset == 62);
  BOOST_TEST(p.payload_len == 6);
}

BOOST_AUTO_TEST_CASE(ipv6_extension_header_walk) {
  ParsedPacket p;
  // HBH (8) + routing (24) + destination options (16) + TCP.
  BOOST_TEST(parse(Frame()
                       .eth(0x86dd)
                       .ipv6(kHbh, 8 + 24 + 16 + 20)
                       .ext(kRouting, 0)
                       .ext(kDest, 2)
                       .ext(6, 1)
                       .tcp(1, 80, 2)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.proto == ipproto::kTcp);
  BOOST_TEST(p.l4_offset == 54 + 48);
  BOOST_TEST(p.dport == 80);
  // AH: length field 4 -> (4 + 2) * 4 = 24 bytes, then UDP.
  BOOST_TEST(
      parse(Frame().eth(0x86dd).ipv6(kAh, 24 + 8).u8(17).u8(4).zeros(22).udp(500, 4500, 8).take(),
            p) == ParseError::kOk);
  BOOST_TEST(p.proto == ipproto::kUdp);
  BOOST_TEST(p.l4_offset == 54 + 24);
  BOOST_TEST(p.sport == 500);
  // ESP ends the walk: encrypted, no ports.
  BOOST_TEST(
      parse(Frame().eth(0x86dd).ipv6(kDest, 8 + 16).ext(kEsp, 0).u32(0x1001).u32(1).zeros(8).take(),
            p) == ParseError::kOk);
  BOOST_TEST(p.proto == kEsp);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.payload_offset == 62);
  BOOST_TEST(p.payload_len == 16);
  // No Next Header.
  BOOST_TEST(parse(Frame().eth(0x86dd).ipv6(kNoNext, 0).take(), p) == ParseError::kOk);
  BOOST_TEST(p.proto == kNoNext);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.payload_len == 0);
  // Eight extension headers is the cap, and allowed.
  Frame f;
  f.eth(0x86dd).ipv6(kDest, 8 * 8 + 8);
  for (int i = 0; i < 7; ++i) f.ext(kDest, 0);
  f.ext(17, 0).udp(9, 10, 8);
  BOOST_TEST(parse(f.take(), p) == ParseError::kOk);
  BOOST_TEST(p.l4_offset == 54 + 64);
  BOOST_TEST(p.dport == 10);
}

BOOST_AUTO_TEST_CASE(ipv6_fragments) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame()
                       .eth(0x86dd)
                       .ipv6(kFrag, 8 + 8 + 8)
                       .frag6(17, 0, true, 0xdeadbeef)
                       .udp(53, 1053, 100)
                       .zeros(8)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.fragment);
  BOOST_TEST(p.first_fragment);
  BOOST_TEST(p.ip_id == 0xbeef);
  BOOST_TEST(p.has_ports);
  BOOST_TEST(p.proto == ipproto::kUdp);
  BOOST_TEST(p.l4_offset == 62);

  // Later fragment (offset 181 units): its first bytes look like a TCP header but are data.
  BOOST_TEST(parse(Frame()
                       .eth(0x86dd)
                       .ipv6(kFrag, 8 + 20)
                       .frag6(6, 181, false, 0x00010002)
                       .tcp(1, 2, 2)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(p.ip_id == 0x0002);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.proto == ipproto::kTcp);  // the fragment header's next header
  BOOST_TEST(p.l4_offset == 0);
  BOOST_TEST(p.sport == 0);
  BOOST_TEST(p.payload_offset == 62);
  BOOST_TEST(p.payload_len == 20);
}

BOOST_AUTO_TEST_CASE(ipv6_jumbogram_and_big_tcp) {
  ParsedPacket p;
  // Payload length 0 + HBH Jumbo Payload option (type 0xc2) of 70000 bytes; 80 captured.
  const Bytes jumbo = Frame()
                          .eth(0x86dd)
                          .ipv6(kHbh, 0)
                          .raw({6, 0, 0xc2, 4})
                          .u32(70000)
                          .tcp(1, 2, tcpflag::kAck)
                          .zeros(6)
                          .take();
  BOOST_TEST(parse(jumbo, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 70040u);
  BOOST_TEST(p.proto == ipproto::kTcp);
  BOOST_TEST(p.payload_offset == 82);
  BOOST_TEST(p.payload_len == 6);
  // A jumbo value <= 65535 is invalid (RFC 2675) and ignored: the capture decides.
  const Bytes small =
      Frame().eth(0x86dd).ipv6(kHbh, 0).raw({17, 0, 0xc2, 4}).u32(10).udp(1, 2, 0).take();
  BOOST_TEST(parse(small, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 56u);
  BOOST_TEST(p.has_ports);
  // Payload length 0 without any HBH (BIG TCP on kernels >= 6.3): datagram = capture.
  const Bytes bigtcp = Frame().eth(0x86dd).ipv6(6, 0).tcp(1, 2, tcpflag::kAck).zeros(30).take();
  BOOST_TEST(parse(bigtcp, p) == ParseError::kOk);
  BOOST_TEST(p.ip_len == 90u);
  BOOST_TEST(p.payload_len == 30);
}

// ---- L2 --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(vlan_tags) {
  ParsedPacket p;
  // PCP 5 and DEI set: only the 12-bit VID is kept.
  BOOST_TEST(
      parse(Frame().eth(0x8100).vlan(0xb000 | 0x0123, 0x0800).ipv4(17, 8).udp(1, 2, 8).take(), p) ==
      ParseError::kOk);
  BOOST_TEST(p.vlan_count == 1);
  BOOST_TEST(p.outer_vlan == 0x123);
  BOOST_TEST(p.inner_vlan == 0x123);
  BOOST_TEST(p.l3_offset == 18);
  BOOST_TEST(p.ethertype == 0x0800);

  BOOST_TEST(
      parse(
          Frame().eth(0x88a8).vlan(200, 0x8100).vlan(2001, 0x86dd).ipv6(17, 8).udp(1, 2, 8).take(),
          p) == ParseError::kOk);
  BOOST_TEST(p.vlan_count == 2);
  BOOST_TEST(p.outer_vlan == 200);
  BOOST_TEST(p.inner_vlan == 2001);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.l3_offset == 22);

  BOOST_TEST(parse(Frame().eth(0x9100).vlan(4095, 0x8100).vlan(7, 0x0806).zeros(28).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.vlan_count == 2);
  BOOST_TEST(p.outer_vlan == 4095);
  BOOST_TEST(p.inner_vlan == 7);
  BOOST_TEST(p.l3 == L3::kNone);
  BOOST_TEST(p.ethertype == 0x0806);

  BOOST_TEST(parse(Frame()
                       .eth(0x88a8)
                       .vlan(1, 0x8100)
                       .vlan(2, 0x8100)
                       .vlan(3, 0x9100)
                       .vlan(4, 0x0800)
                       .ipv4(17, 8)
                       .udp(1, 2, 8)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.vlan_count == 4);
  BOOST_TEST(p.outer_vlan == 1);
  BOOST_TEST(p.inner_vlan == 4);
  BOOST_TEST(p.l3_offset == 30);
}

BOOST_AUTO_TEST_CASE(mpls_label_stacks) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame()
                       .eth(0x8847)
                       .mpls(16, false)
                       .mpls(1048575, true)
                       .ipv4(6, 20)
                       .tcp(179, 33000, 0x18)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.mpls_labels == 2);
  BOOST_TEST(p.ethertype == 0x0800);
  BOOST_TEST(p.l3 == L3::kIpv4);
  BOOST_TEST(p.l3_offset == 22);
  BOOST_TEST(p.sport == 179);

  BOOST_TEST(parse(Frame().eth(0x8848).mpls(3, true).ipv6(58, 8).icmp(128, 0).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.mpls_labels == 1);
  BOOST_TEST(p.ethertype == 0x86dd);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.icmp_type == 128);

  Frame f;
  f.eth(0x8100).vlan(10, 0x8847);
  for (int i = 0; i < 15; ++i) f.mpls(uint32_t(i + 16), false);
  f.mpls(99, true).ipv4(17, 8).udp(1, 2, 8);
  BOOST_TEST(parse(f.take(), p) == ParseError::kOk);
  BOOST_TEST(p.mpls_labels == 16);
  BOOST_TEST(p.vlan_count == 1);
  BOOST_TEST(p.l3_offset == 18 + 64);
}

BOOST_AUTO_TEST_CASE(pppoe) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame()
                       .eth(0x8864)
                       .pppoe(0x0021)
                       .ipv4(6, 20, {.src = {100, 64, 0, 1}})
                       .tcp(1, 2, 2)
                       .take(),
                   p) == ParseError::kOk);
  BOOST_TEST(p.pppoe);
  BOOST_TEST(p.ethertype == 0x0800);
  BOOST_TEST(p.l3_offset == 22);
  BOOST_TEST(p.src == v4(100, 64, 0, 1));

  BOOST_TEST(
      parse(Frame().eth(0x8100).vlan(7, 0x8864).pppoe(0x0057).ipv6(17, 8).udp(1, 2, 8).take(), p) ==
      ParseError::kOk);
  BOOST_TEST(p.pppoe);
  BOOST_TEST(p.ethertype == 0x86dd);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.l3_offset == 26);
  BOOST_TEST(p.vlan_count == 1);

  // Discovery stage is link setup, not IP and not an error.
  BOOST_TEST(parse(Frame().eth(0x8863).raw({0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0}).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.pppoe);
  BOOST_TEST(p.l3 == L3::kNone);
  BOOST_TEST(p.ethertype == 0x8863);
}

BOOST_AUTO_TEST_CASE(non_ip_frames_are_ok) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().eth(0x0806).zeros(28).take(), p) == ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kNone);
  BOOST_TEST(p.ethertype == 0x0806);
  BOOST_TEST(p.l3_offset == 0);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(parse(Frame().eth(0x88cc).zeros(30).take(), p) == ParseError::kOk);
  BOOST_TEST(p.ethertype == 0x88cc);
  // 802.3 frame: the type field is a length; reported as is.
  BOOST_TEST(parse(Frame().eth(0x0026).raw({0x42, 0x42, 0x03}).zeros(35).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.ethertype == 0x0026);
  BOOST_TEST(p.l3 == L3::kNone);
  // Exactly an Ethernet header and nothing else.
  BOOST_TEST(parse(Frame().eth(0x0806).take(), p) == ParseError::kOk);
}

BOOST_AUTO_TEST_CASE(raw_ip_link) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().ipv4(17, 8).udp(1, 53, 8).take(), p, LinkType::kRawIp) ==
             ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv4);
  BOOST_TEST(p.ethertype == 0);
  BOOST_TEST(p.l3_offset == 0);
  BOOST_TEST(p.l4_offset == 20);
  BOOST_TEST(parse(Frame().ipv6(6, 20).tcp(1, 22, 2).take(), p, LinkType::kRawIp) ==
             ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.dport == 22);
  BOOST_TEST(p.l4_offset == 40);
  BOOST_TEST(parse(Bytes(10, 0x60), p, LinkType::kRawIp) == ParseError::kTruncatedIpv6);
}

BOOST_AUTO_TEST_CASE(ppp_link) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().raw({0xff, 0x03, 0x00, 0x21}).ipv4(17, 8).udp(1, 2, 8).take(), p,
                   LinkType::kPpp) == ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv4);
  BOOST_TEST(p.ethertype == 0x0800);
  BOOST_TEST(p.l3_offset == 4);
  // Address/control omitted (ACFC).
  BOOST_TEST(parse(Frame().raw({0x00, 0x57}).ipv6(17, 8).udp(1, 2, 8).take(), p, LinkType::kPpp) ==
             ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.l3_offset == 2);
  // Compressed 1-byte protocol (PFC), with and without address/control.
  BOOST_TEST(parse(Frame().raw({0x21}).ipv4(17, 8).udp(1, 2, 8).take(), p, LinkType::kPpp) ==
             ParseError::kOk);
  BOOST_TEST(p.l3_offset == 1);
  BOOST_TEST(parse(Frame().raw({0xff, 0x03, 0x57}).ipv6(17, 8).udp(1, 2, 8).take(), p,
                   LinkType::kPpp) == ParseError::kOk);
  BOOST_TEST(p.l3_offset == 3);
  BOOST_TEST(p.l3 == L3::kIpv6);
  // MPLS over PPP.
  BOOST_TEST(parse(Frame()
                       .raw({0xff, 0x03, 0x02, 0x81})
                       .mpls(100704, true, 1)
                       .ipv4(17, 8)
                       .udp(1, 2, 8)
                       .take(),
                   p, LinkType::kPpp) == ParseError::kOk);
  BOOST_TEST(p.mpls_labels == 1);
  BOOST_TEST(p.ethertype == 0x0800);
  BOOST_TEST(p.l3_offset == 8);
  // LCP: link control, fine, not IP.
  BOOST_TEST(parse(Bytes{0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0}, p,
                   LinkType::kPpp) == ParseError::kOk);
  BOOST_TEST(p.l3 == L3::kNone);
  BOOST_TEST(p.ethertype == 0);
}

BOOST_AUTO_TEST_CASE(output_is_reset_between_packets) {
  ParsedPacket p;
  BOOST_TEST(parse(Frame().eth(0x8100).vlan(5, 0x0800).ipv4(6, 20).tcp(1, 2, 2).take(), p) ==
             ParseError::kOk);
  BOOST_TEST(p.vlan_count == 1);
  BOOST_TEST(parse(Frame().eth(0x0806).zeros(28).take(), p) == ParseError::kOk);
  BOOST_TEST(p.vlan_count == 0);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.sport == 0);
  BOOST_TEST(p.l3 == L3::kNone);
  BOOST_TEST(parse_packet(nullptr, 0, p) == ParseError::kTruncatedEthernet);
}

BOOST_AUTO_TEST_SUITE_END()

// ==========================================================================================
BOOST_AUTO_TEST_SUITE(parser_pcaps)

namespace {
struct Parsed {
  PcapContents pcap;
  std::vector<ParsedPacket> pkts;
  std::vector<ParseError> errs;
  std::array<size_t, kParseErrorCount> counts{};

  size_t count(ParseError e) const { return counts[size_t(e)]; }
  // Every packet accounted for: the per-reason counts sum to the packet count, and only the
  // listed reasons occur.
  void expect_only(std::initializer_list<std::pair<ParseError, size_t>> want) const {
    std::array<size_t, kParseErrorCount> w{};
    for (const auto& [e, n] : want) w[size_t(e)] = n;
    for (size_t i = 0; i < kParseErrorCount; ++i) {
      BOOST_TEST_CONTEXT(parse_error_name(static_cast<ParseError>(i))) {
        BOOST_TEST(counts[i] == w[i]);
      }
    }
  }
};

Parsed load(const std::string& name) {
  Parsed r;
  r.pcap = read_pcap(std::string(HAYSTACK_TEST_DATA) + "/pcaps/" + name);
  for (const PcapPacket& pkt : r.pcap.packets) {
    ParsedPacket p;
    const ParseError e = parse(pkt.data, p, r.pcap.link);
    r.pkts.push_back(p);
    r.errs.push_back(e);
    ++r.counts[size_t(e)];
  }
  return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(qinq_8021ad) {
  const Parsed r = load("802.1ad_QinQ.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 2u);
  r.expect_only({{ParseError::kOk, 2}});
  for (const ParsedPacket& p : r.pkts) {
    // 0x88a8 vlan 200, 0x8100 vlan 2001, ARP.
    BOOST_TEST(p.vlan_count == 2);
    BOOST_TEST(p.outer_vlan == 200);
    BOOST_TEST(p.inner_vlan == 2001);
    BOOST_TEST(p.ethertype == 0x0806);
    BOOST_TEST(p.l3 == L3::kNone);
  }
}

BOOST_AUTO_TEST_CASE(mpls_traceroute_over_ppp) {
  const Parsed r = load("mpls-traceroute.pcap");
  BOOST_TEST(r.pcap.link == LinkType::kPpp);
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 18u);
  r.expect_only({{ParseError::kOk, 18}});
  int probes = 0, time_exceeded = 0, unreachable = 0;
  for (size_t i = 0; i < r.pkts.size(); ++i) {
    const ParsedPacket& p = r.pkts[i];
    BOOST_TEST(p.l3 == L3::kIpv4);
    if (i % 2 == 0) {
      // Probe: PPP 0x0281, one label (100704, S), IPv4 UDP 12.4.4.4:42315 -> 12.1.1.1:33435+n.
      ++probes;
      BOOST_TEST(p.mpls_labels == 1);
      BOOST_TEST(p.l3_offset == 8);
      BOOST_TEST(p.src == v4(12, 4, 4, 4));
      BOOST_TEST(p.dst == v4(12, 1, 1, 1));
      BOOST_TEST(p.proto == ipproto::kUdp);
      BOOST_TEST(p.sport == 42315);
      BOOST_TEST(p.dport == 33435 + i / 2);
      BOOST_TEST(p.ip_len == 40u);
      BOOST_TEST(p.ttl == 1 + i / 6);
      BOOST_TEST(p.payload_len == 12);
    } else {
      // Reply: PPP 0x0021, ICMP.
      BOOST_TEST(p.mpls_labels == 0);
      BOOST_TEST(p.l3_offset == 4);
      BOOST_TEST(p.proto == ipproto::kIcmp);
      BOOST_TEST(p.dst == v4(12, 4, 4, 4));
      BOOST_TEST(!p.has_ports);
      if (p.icmp_type == 11) ++time_exceeded;
      if (p.icmp_type == 3 && p.icmp_code == 3) ++unreachable;
    }
  }
  BOOST_TEST(probes == 9);
  BOOST_TEST(time_exceeded == 6);
  BOOST_TEST(unreachable == 3);
  BOOST_TEST(r.pkts[1].src == v4(10, 5, 0, 1));
  BOOST_TEST(r.pkts[1].ip_id == 5014);
  BOOST_TEST(r.pkts[1].ip_len == 168u);
  BOOST_TEST(r.pkts[7].src == v4(10, 4, 0, 2));
  BOOST_TEST(r.pkts[13].src == v4(12, 1, 1, 1));
}

BOOST_AUTO_TEST_CASE(pppoe_discovery) {
  const Parsed r = load("pppoe.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kOk, 1}});
  BOOST_TEST(r.pkts[0].pppoe);  // PADI
  BOOST_TEST(r.pkts[0].ethertype == 0x8863);
  BOOST_TEST(r.pkts[0].l3 == L3::kNone);
}

BOOST_AUTO_TEST_CASE(pppoe_session_lcp) {
  // Two LCP echo requests on PPPoE sessions 0x17 and 0x3b: PPP protocol 0xc021.
  const Parsed r = load("pppoes.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 2u);
  r.expect_only({{ParseError::kPppoeNotIp, 2}});
  BOOST_TEST(r.pkts[0].pppoe);
}

BOOST_AUTO_TEST_CASE(ip6_frag_asan_is_truncated_fragment_header) {
  // Snap length 60: the IPv6 header ends at 54, next header 44 (fragment), and only 6 of
  // the fragment header's 8 bytes were captured (tcpdump prints [|frag6]).
  const Parsed r = load("ip6_frag_asan.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  BOOST_TEST(r.pcap.packets[0].data.size() == 60u);
  r.expect_only({{ParseError::kTruncatedIpv6ExtHeader, 1}});
  BOOST_TEST(r.pkts[0].l3 == L3::kIpv6);
  BOOST_TEST(r.pkts[0].src == v6("452:22:19:0:41a:e4ff:10ff:484d"));
  BOOST_TEST(r.pkts[0].flow_label == 0xb2100u);
  BOOST_TEST(!r.pkts[0].has_ports);
}

BOOST_AUTO_TEST_CASE(ipv6_frag6_negative_len_is_a_later_fragment) {
  // Payload length 0 and no hop-by-hop header: treated like BIG TCP (length = capture), so
  // the complete fragment header is read: next header 2 (IGMP), offset 160 units (1280
  // bytes), M clear, id 0x80000074. A later fragment: no L4, no ports. tcpdump's own
  // reading: "frag (0x80000074:1280|...)".
  const Parsed r = load("ipv6_frag6_negative_len.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kOk, 1}});
  const ParsedPacket& p = r.pkts[0];
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.src == v6("7fff:ffff:c3b2:a102:1305:80:38:2949"));
  BOOST_TEST(p.dst == v6("9675:86dd:7300:2c:1c7f:ffff:ffc3:b2a1"));
  BOOST_TEST(p.flow_label == 0x00073u);
  BOOST_TEST(p.ttl == 28);
  BOOST_TEST(p.fragment);
  BOOST_TEST(!p.first_fragment);
  BOOST_TEST(p.ip_id == 0x0074);
  BOOST_TEST(p.proto == 2);
  BOOST_TEST(!p.has_ports);
  BOOST_TEST(p.l4_offset == 0);
  BOOST_TEST(p.ip_len == uint32_t(r.pcap.packets[0].data.size() - 14));
  BOOST_TEST(p.payload_offset == 62);
}

BOOST_AUTO_TEST_CASE(gre_heapoverflow) {
  // Packet 1: all 0x30 bytes -> ethertype 0x3030, not IP. Packet 2: ethertype IPv4 but the
  // first header byte is 0x08 (version 0; tcpdump: "IP0 (invalid)").
  const Parsed r = load("gre-heapoverflow-1.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 2u);
  r.expect_only({{ParseError::kOk, 1}, {ParseError::kBadIpv4Version, 1}});
  BOOST_TEST(r.errs[0] == ParseError::kOk);
  BOOST_TEST(r.pkts[0].ethertype == 0x3030);
  BOOST_TEST(r.pkts[0].l3 == L3::kNone);
  BOOST_TEST(r.errs[1] == ParseError::kBadIpv4Version);
}

BOOST_AUTO_TEST_CASE(mpls_label_heapoverflow) {
  // 22 bytes: two labels, the second with S set (tcpdump: "label 197387, tc 5, [S]"), and
  // the capture ends right after the stack ([|mpls]): the promised payload is missing.
  const Parsed r = load("mpls-label-heapoverflow.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kTruncatedMpls, 1}});
  BOOST_TEST(r.pkts[0].mpls_labels == 2);
  BOOST_TEST(r.pkts[0].ethertype == 0x8848);
}

BOOST_AUTO_TEST_CASE(various_gre) {
  // 100 frames: 30 GREv0 (key present) over IPv4 in VLAN 1213, 21 PVST+ in VLAN 1213
  // (802.3 LLC inside the tag), 49 untagged non-IP (STP/PVST/CDP/DTP 802.3, loopback 0x9000).
  const Parsed r = load("various_gre.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 100u);
  r.expect_only({{ParseError::kOk, 100}});
  size_t gre = 0, tagged = 0, ipv4 = 0, llc = 0, loopback = 0;
  for (const ParsedPacket& p : r.pkts) {
    gre += p.tunnel == Tunnel::kGre;
    ipv4 += p.l3 == L3::kIpv4;
    llc += p.ethertype < 0x0600;
    loopback += p.ethertype == 0x9000;
    if (p.vlan_count) {
      ++tagged;
      BOOST_TEST(p.vlan_count == 1);
      BOOST_TEST(p.outer_vlan == 1213);
    }
    if (p.l3 == L3::kIpv4) {
      BOOST_TEST(p.proto == ipproto::kGre);
      BOOST_TEST(!p.has_ports);
    }
  }
  BOOST_TEST(gre == 30u);
  BOOST_TEST(ipv4 == 30u);
  BOOST_TEST(tagged == 51u);
  BOOST_TEST(llc == 65u);
  BOOST_TEST(loopback == 5u);
  // Frame 11: 10.172.64.7 > 10.172.64.6, ttl 255, id 164, IP length 64, GRE 44 bytes.
  const ParsedPacket& p = r.pkts[10];
  BOOST_TEST(p.src == v4(10, 172, 64, 7));
  BOOST_TEST(p.dst == v4(10, 172, 64, 6));
  BOOST_TEST(p.ttl == 255);
  BOOST_TEST(p.ip_id == 164);
  BOOST_TEST(p.ip_len == 64u);
  BOOST_TEST(p.l3_offset == 18);
  BOOST_TEST(p.l4_offset == 38);
  BOOST_TEST(p.payload_len == 44);
  // Frame 12: the 46-byte reply, GRE 8 bytes (IP length 28).
  BOOST_TEST(r.pkts[11].src == v4(10, 172, 64, 6));
  BOOST_TEST(r.pkts[11].ip_len == 28u);
  BOOST_TEST(r.pkts[11].payload_len == 8);
}

BOOST_AUTO_TEST_CASE(geneve_gcp) {
  const Parsed r = load("geneve-gcp.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kOk, 1}});
  const ParsedPacket& p = r.pkts[0];
  // Outer: 192.168.100.254.62974 > 192.168.100.3.6081, ttl 2, id 0, length 116.
  BOOST_TEST(p.tunnel == Tunnel::kGeneve);
  BOOST_TEST(p.src == v4(192, 168, 100, 254));
  BOOST_TEST(p.dst == v4(192, 168, 100, 3));
  BOOST_TEST(p.sport == 62974);
  BOOST_TEST(p.dport == 6081);
  BOOST_TEST(p.ttl == 2);
  BOOST_TEST(p.ip_len == 116u);
  BOOST_TEST(p.proto == ipproto::kUdp);
  BOOST_TEST(p.payload_offset == 42);
  BOOST_TEST(p.payload_len == 88);  // UDP length 96 - 8: Geneve header + inner packet
}

BOOST_AUTO_TEST_CASE(bigtcp_ipv4_vxlan) {
  // IPv4 total length 0 (tcpdump 4.99.x: "bad-len 0"), UDP length 0, 10.25.132.11:47044 ->
  // 10.25.132.13:4789, ttl 61, id 0x6f29. Wire length 80116; our copy is cut at 256 bytes.
  const Parsed r = load("bigtcp-ipv4-vxlan-ipv4.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  BOOST_TEST(r.pcap.packets[0].wire_len == 80116u);
  r.expect_only({{ParseError::kOk, 1}});
  const ParsedPacket& p = r.pkts[0];
  BOOST_TEST(p.src == v4(10, 25, 132, 11));
  BOOST_TEST(p.dst == v4(10, 25, 132, 13));
  BOOST_TEST(p.ttl == 61);
  BOOST_TEST(p.ip_id == 0x6f29);
  BOOST_TEST(p.ip_len == 256u - 14u);  // length from the capture
  BOOST_TEST(p.sport == 47044);
  BOOST_TEST(p.dport == 4789);
  BOOST_TEST(p.tunnel == Tunnel::kVxlan);
  BOOST_TEST(p.payload_offset == 42);
  BOOST_TEST(p.payload_len == 256 - 42);
}

BOOST_AUTO_TEST_CASE(bigtcp_ipv6_hop_by_hop_jumbo) {
  // Payload length 0, HBH with Jumbo Payload 80040, TCP 41851 > 43913 [P.], doff 8.
  const Parsed r = load("bigtcp-ipv6-hbh.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kOk, 1}});
  const ParsedPacket& p = r.pkts[0];
  BOOST_TEST(p.src == v6("2604:1380:4091:ce00::d"));
  BOOST_TEST(p.dst == v6("2604:1380:4091:ce00::b"));
  BOOST_TEST(p.flow_label == 0xa31eeu);
  BOOST_TEST(p.ttl == 64);
  BOOST_TEST(p.ip_len == 80080u);
  BOOST_TEST(p.proto == ipproto::kTcp);
  BOOST_TEST(p.sport == 41851);
  BOOST_TEST(p.dport == 43913);
  BOOST_TEST(p.tcp_flags == (tcpflag::kPsh | tcpflag::kAck));
  BOOST_TEST(p.l4_offset == 62);
  BOOST_TEST(p.payload_offset == 94);
  BOOST_TEST(p.payload_len == 256 - 94);
}

BOOST_AUTO_TEST_CASE(dns_udp) {
  const Parsed r = load("dns_udp.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 2u);
  r.expect_only({{ParseError::kOk, 2}});
  BOOST_TEST(r.pkts[0].src == v4(192, 168, 1, 11));
  BOOST_TEST(r.pkts[0].dst == v4(209, 87, 249, 18));
  BOOST_TEST(r.pkts[0].sport == 43966);
  BOOST_TEST(r.pkts[0].dport == 53);
  BOOST_TEST(r.pkts[0].ip_id == 22989);
  BOOST_TEST(r.pkts[0].payload_offset == 42);
  BOOST_TEST(r.pkts[0].payload_len == 56);
  BOOST_TEST(r.pkts[1].sport == 53);
  BOOST_TEST(r.pkts[1].ttl == 128);
  BOOST_TEST(r.pkts[1].ip_len == 252u);
  BOOST_TEST(r.pkts[1].payload_len == 224);
}

BOOST_AUTO_TEST_CASE(dns_tcp) {
  const Parsed r = load("dns_tcp.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 11u);
  r.expect_only({{ParseError::kOk, 11}});
  // S, S., ., P., ., P., ., F., ., FP., .  (several replies carry Ethernet padding).
  const uint8_t flags[11] = {0x02, 0x12, 0x10, 0x18, 0x10, 0x18, 0x10, 0x11, 0x10, 0x19, 0x10};
  const uint16_t payload[11] = {0, 0, 0, 58, 0, 226, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < 11; ++i) {
    BOOST_TEST_CONTEXT("packet " << i + 1) {
      const ParsedPacket& p = r.pkts[i];
      BOOST_TEST(p.tcp_flags == flags[i]);
      BOOST_TEST(p.payload_len == payload[i]);
      const bool from_client = p.src == v4(192, 168, 1, 11);
      BOOST_TEST(p.sport == (from_client ? 33779 : 53));
      BOOST_TEST(p.dport == (from_client ? 53 : 33779));
    }
  }
  BOOST_TEST(r.pkts[0].payload_offset == 74);  // 40-byte TCP header (options)
  BOOST_TEST(r.pkts[1].ip_len == 44u);
  BOOST_TEST(r.pcap.packets[1].data.size() == 60u);
}

BOOST_AUTO_TEST_CASE(linktype_ipv6_raw) {
  const Parsed r = load("LINKTYPE_IPV6.pcap");
  BOOST_TEST(r.pcap.link == LinkType::kRawIp);
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 1u);
  r.expect_only({{ParseError::kOk, 1}});
  const ParsedPacket& p = r.pkts[0];
  BOOST_TEST(p.l3 == L3::kIpv6);
  BOOST_TEST(p.l3_offset == 0);
  BOOST_TEST(p.src == v6("2001:db8::1"));
  BOOST_TEST(p.dst == v6("2620:fe::9"));
  BOOST_TEST(p.sport == 12345);
  BOOST_TEST(p.dport == 53);
  BOOST_TEST(p.ip_len == 77u);
  BOOST_TEST(p.payload_offset == 48);
  BOOST_TEST(p.payload_len == 29);
}

BOOST_AUTO_TEST_CASE(ndpi_http_ipv6) {
  // nDPI http_ipv6.pcap: 193 IPv6 frames, 128 TCP + 65 UDP (QUIC), all port 443, no
  // extension headers. Flag counts via BPF on ip6[53]; payload sums from tcpdump's lengths.
  const Parsed r = load("http_ipv6.pcap");
  BOOST_REQUIRE_EQUAL(r.pkts.size(), 193u);
  r.expect_only({{ParseError::kOk, 193}});
  size_t tcp = 0, udp = 0, to443 = 0, from_client = 0, syn = 0, pure_syn = 0, fin = 0, rst = 0,
         ack = 0;
  size_t tcp_bytes = 0, udp_bytes = 0;
  const IpAddr client = v6("2a00:d40:1:3:7aac:c0ff:fea7:d4c");
  for (const ParsedPacket& p : r.pkts) {
    BOOST_TEST(p.l3 == L3::kIpv6);
    BOOST_TEST(p.has_ports);
    BOOST_TEST(p.l4_offset == 54);
    to443 += p.dport == 443;
    from_client += p.src == client;
    if (p.proto == ipproto::kTcp) {
      ++tcp;
      tcp_bytes += p.payload_len;
      syn += (p.tcp_flags & tcpflag::kSyn) != 0;
      pure_syn += (p.tcp_flags & (tcpflag::kSyn | tcpflag::kAck)) == tcpflag::kSyn;
      fin += (p.tcp_flags & tcpflag::kFin) != 0;
      rst += (p.tcp_flags & tcpflag::kRst) != 0;
      ack += (p.tcp_flags & tcpflag::kAck) != 0;
    } else if (p.proto == ipproto::kUdp) {
      ++udp;
      udp_bytes += p.payload_len;
    }
  }
  BOOST_TEST(tcp == 128u);
  BOOST_TEST(udp == 65u);
  BOOST_TEST(to443 == 106u);
  BOOST_TEST(from_client == 106u);
  BOOST_TEST(syn == 12u);
  BOOST_TEST(pure_syn == 6u);
  BOOST_TEST(fin == 6u);
  BOOST_TEST(rst == 0u);
  BOOST_TEST(ack == 122u);
  BOOST_TEST(tcp_bytes == 38744u);
  BOOST_TEST(udp_bytes == 12449u);
  // Frame 1: 2a00:d40:1:3:7aac:c0ff:fea7:d4c.40526 > 2a00:1450:4006:804::200e.443, hlim 64,
  // payload length 32.
  BOOST_TEST(r.pkts[0].src == client);
  BOOST_TEST(r.pkts[0].dst == v6("2a00:1450:4006:804::200e"));
  BOOST_TEST(r.pkts[0].sport == 40526);
  BOOST_TEST(r.pkts[0].ttl == 64);
  BOOST_TEST(r.pkts[0].ip_len == 72u);
}

BOOST_AUTO_TEST_SUITE_END()
