// On-the-wire learning (docs/learning.md). Suites:
//   dns_message  — hand-built DNS messages for every DnsError, and real captures;
//   tls_sni      — hand-built ClientHellos for every SniError, and a real capture;
//   name_matcher — backend-pattern CSV, POSIX class rewriting, digit wildcards, matching;
//   name_learning — the worker stage over real captures (records handed to a sink).
// Expected values of the real captures were read off `tcpdump -nr FILE -vv` and a separate
// Python decoder of the raw bytes (TTLs), not off this code.
#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/dns_message.h"
#include "dataplane/name_learning.h"
#include "dataplane/parser.h"
#include "dataplane/pcap_file.h"
#include "dataplane/tls_sni.h"
#include "signatures/hitlist_loader.h"
#include "signatures/name_matcher.h"

using namespace haystack;
using haystack::hitlist::BackendPattern;
using haystack::hitlist::NameMatcher;
using haystack::hitlist::NameSource;

namespace haystack {
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, DnsError e) {
  return os << dns_error_name(e);
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, SniError e) {
  return os << sni_error_name(e);
}
}  // namespace haystack

namespace {

std::string ip_text(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (a.v4) inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
  else inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

// A DNS message builder: header fields, then raw sections.
struct Msg {
  std::vector<uint8_t> b;
  Msg(uint16_t flags, uint16_t qd, uint16_t an) {
    b = {0x12, 0x34, uint8_t(flags >> 8), uint8_t(flags), 0, uint8_t(qd), 0, uint8_t(an), 0, 0, 0, 0};
  }
  Msg& name(const std::string& dotted) {  // uncompressed
    size_t s = 0;
    while (s < dotted.size()) {
      size_t d = dotted.find('.', s);
      if (d == std::string::npos) d = dotted.size();
      b.push_back(uint8_t(d - s));
      b.insert(b.end(), dotted.begin() + long(s), dotted.begin() + long(d));
      s = d + 1;
    }
    b.push_back(0);
    return *this;
  }
  Msg& ptr(uint16_t off) {
    b.push_back(uint8_t(0xc0 | (off >> 8)));
    b.push_back(uint8_t(off));
    return *this;
  }
  Msg& raw(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v);
    return *this;
  }
  Msg& u16(uint16_t v) { return raw({uint8_t(v >> 8), uint8_t(v)}); }
  Msg& u32(uint32_t v) { return raw({uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}); }
  Msg& q() { return u16(1).u16(1); }
  Msg& rr(uint16_t type, uint32_t ttl, uint16_t rdlen) { return u16(type).u16(1).u32(ttl).u16(rdlen); }
};

constexpr uint16_t kResp = 0x8180;

DnsError parse(const Msg& m, DnsResponse& r) { return parse_dns_response(m.b.data(), m.b.size(), r); }

// A ClientHello with the given extensions block (already encoded).
std::vector<uint8_t> client_hello(const std::vector<uint8_t>& exts, bool with_ext_len = true) {
  std::vector<uint8_t> body = {0x03, 0x03};
  body.insert(body.end(), 32, 0xab);        // random
  body.push_back(0);                        // session id
  body.insert(body.end(), {0, 2, 0x13, 0x01});  // one cipher suite
  body.insert(body.end(), {1, 0});          // compression: null
  if (with_ext_len) {
    body.push_back(uint8_t(exts.size() >> 8));
    body.push_back(uint8_t(exts.size()));
    body.insert(body.end(), exts.begin(), exts.end());
  }
  std::vector<uint8_t> hs = {1, 0, uint8_t(body.size() >> 8), uint8_t(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> rec = {22, 3, 1, uint8_t(hs.size() >> 8), uint8_t(hs.size())};
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

std::vector<uint8_t> sni_ext(const std::string& host) {
  const size_t n = host.size();
  std::vector<uint8_t> e = {0, 0, uint8_t((n + 5) >> 8), uint8_t(n + 5), uint8_t((n + 3) >> 8),
                            uint8_t(n + 3), 0, uint8_t(n >> 8), uint8_t(n)};
  e.insert(e.end(), host.begin(), host.end());
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dns_message)

BOOST_AUTO_TEST_CASE(cname_chain_with_compression) {
  // www.example.com CNAME edge.cdn.net (target compressed against "cdn.net" nowhere:
  // written out), edge.cdn.net A 192.0.2.7 (owner is a pointer to the CNAME target),
  // AAAA 2001:db8::1; an MX answer is skipped.
  Msg m(kResp, 1, 4);
  m.name("WWW.Example.com").q();                    // question at offset 12
  m.ptr(12).rr(5, 300, 14);                          // CNAME rdata at offset 12+17+4+12=45
  const size_t target = m.b.size();
  m.name("edge.cdn.net");
  m.ptr(uint16_t(target)).rr(1, 60, 4).raw({192, 0, 2, 7});
  m.ptr(uint16_t(target)).rr(28, 0x80000001u, 16).raw({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  m.ptr(12).rr(15, 60, 4).raw({0, 10}).ptr(12);
  DnsResponse r;
  BOOST_REQUIRE_EQUAL(parse(m, r), DnsError::kOk);
  BOOST_CHECK_EQUAL(r.id, 0x1234);
  BOOST_REQUIRE_EQUAL(r.n_names, 2);
  BOOST_CHECK_EQUAL(r.names[0].view(), "www.example.com");
  BOOST_CHECK_EQUAL(r.names[1].view(), "edge.cdn.net");
  BOOST_REQUIRE_EQUAL(r.n_answers, 3);
  BOOST_CHECK(r.answers[0].type == DnsRrType::kCname);
  BOOST_CHECK_EQUAL(r.answers[0].owner, 0);
  BOOST_CHECK_EQUAL(r.answers[0].target, 1);
  BOOST_CHECK_EQUAL(r.answers[0].ttl, 300u);
  BOOST_CHECK(r.answers[1].type == DnsRrType::kA);
  BOOST_CHECK_EQUAL(r.answers[1].owner, 1);
  BOOST_CHECK_EQUAL(ip_text(r.answers[1].addr), "192.0.2.7");
  BOOST_CHECK_EQUAL(r.answers[1].ttl, 60u);
  BOOST_CHECK(r.answers[2].type == DnsRrType::kAaaa);
  BOOST_CHECK_EQUAL(ip_text(r.answers[2].addr), "2001:db8::1");
  BOOST_CHECK_EQUAL(r.answers[2].ttl, 0u);  // top bit set: RFC 2181 says 0
  BOOST_CHECK_EQUAL(r.other_answers, 1);
}

BOOST_AUTO_TEST_CASE(every_reason) {
  DnsResponse r;
  BOOST_CHECK_EQUAL(parse_dns_response(nullptr, 0, r), DnsError::kTruncatedHeader);
  {
    Msg m(kResp, 1, 0);
    m.b.resize(11);
    BOOST_CHECK_EQUAL(parse(m, r), DnsError::kTruncatedHeader);
  }
  BOOST_CHECK_EQUAL(parse(Msg(0x0100, 1, 0).name("a.b").q(), r), DnsError::kNotResponse);
  BOOST_CHECK_EQUAL(parse(Msg(0x8183, 1, 0).name("a.b").q(), r), DnsError::kRcode);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 0, 0), r), DnsError::kNoQuestion);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).raw({3, 'a', 'b'}), r), DnsError::kTruncatedName);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).raw({0x41, 'a', 0}).q(), r), DnsError::kBadLabel);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).raw({1, ' ', 0}).q(), r), DnsError::kBadLabelChar);
  {
    Msg m(kResp, 1, 0);
    for (int i = 0; i < 5; ++i) m.raw({50}), m.b.insert(m.b.end(), 50, 'x');
    m.raw({0}).q();
    BOOST_CHECK_EQUAL(parse(m, r), DnsError::kNameTooLong);  // 5*51-1 = 254 > 253
  }
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).ptr(0x3fff).q(), r), DnsError::kBadPointer);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).ptr(12).q(), r), DnsError::kPointerLoop);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 0).name("a.b").raw({0}), r), DnsError::kTruncatedQuestion);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 1).name("a.b").q().ptr(12).rr(1, 1, 4).raw({1, 2}), r),
                    DnsError::kTruncatedAnswer);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 1).name("a.b").q().ptr(12).raw({0, 1}), r),
                    DnsError::kTruncatedAnswer);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 1).name("a.b").q().ptr(12).rr(1, 1, 3).raw({1, 2, 3}), r),
                    DnsError::kBadRdataLength);
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 1).name("a.b").q().ptr(12).rr(28, 1, 4).raw({1, 2, 3, 4}), r),
                    DnsError::kBadRdataLength);
  // CNAME RDATA with a trailing byte after the name.
  BOOST_CHECK_EQUAL(parse(Msg(kResp, 1, 1).name("a.b").q().ptr(12).rr(5, 1, 3).ptr(12).raw({0}), r),
                    DnsError::kBadRdataLength);
  {
    Msg m(kResp, 1, 33);
    m.name("a.b").q();
    for (int i = 0; i < 33; ++i) m.ptr(12).rr(1, 1, 4).raw({192, 0, 2, uint8_t(i)});
    BOOST_CHECK_EQUAL(parse(m, r), DnsError::kTooManyAnswers);
    BOOST_CHECK_EQUAL(r.n_answers, 32);
  }
  {
    Msg m(kResp, 1, 16);
    m.name("a.b").q();
    for (int i = 0; i < 16; ++i) {
      m.ptr(12).rr(5, 1, 5);
      m.raw({3, 'c', uint8_t('a' + i), 'x', 0});
    }
    BOOST_CHECK_EQUAL(parse(m, r), DnsError::kTooManyNames);  // 1 + 16 distinct names
  }
  const uint8_t short_tcp[] = {0x00};
  BOOST_CHECK_EQUAL(parse_dns_tcp(short_tcp, 1, r), DnsError::kTcpLength);
  const uint8_t zero_tcp[] = {0x00, 0x00, 0x12};
  BOOST_CHECK_EQUAL(parse_dns_tcp(zero_tcp, 3, r), DnsError::kTcpLength);
  Msg m(kResp, 1, 0);
  m.name("a.b").q();
  std::vector<uint8_t> tcp = {0, uint8_t(m.b.size() + 1)};
  tcp.insert(tcp.end(), m.b.begin(), m.b.end());
  BOOST_CHECK_EQUAL(parse_dns_tcp(tcp.data(), tcp.size(), r), DnsError::kTcpLength);  // continues
  tcp[1] = uint8_t(m.b.size());
  BOOST_CHECK_EQUAL(parse_dns_tcp(tcp.data(), tcp.size(), r), DnsError::kOk);
  BOOST_CHECK_EQUAL(r.names[0].view(), "a.b");
  // Every reason has a distinct name.
  std::set<std::string> names;
  for (size_t i = 0; i < kDnsErrorCount; ++i) names.insert(std::string(dns_error_name(DnsError(i))));
  BOOST_CHECK_EQUAL(names.size(), kDnsErrorCount);
}

// tcpdump test suite: the same A query for www.tcpdump.org over UDP and over TCP.
BOOST_AUTO_TEST_CASE(real_udp_and_tcp_captures) {
  for (const char* file : {"dns_udp.pcap", "dns_tcp.pcap"}) {
    BOOST_TEST_CONTEXT(file) {
      const PcapContents pc = read_pcap(std::string(HAYSTACK_TEST_DATA) + "/pcaps/" + file);
      int responses = 0;
      for (const auto& pk : pc.packets) {
        ParsedPacket p;
        BOOST_REQUIRE(parse_packet(pk.data.data(), pk.data.size(), p) == ParseError::kOk);
        if (p.sport != 53 || p.payload_len == 0) continue;
        DnsResponse r;
        const uint8_t* pl = pk.data.data() + p.payload_offset;
        const DnsError e = p.proto == ipproto::kUdp ? parse_dns_response(pl, p.payload_len, r)
                                                    : parse_dns_tcp(pl, p.payload_len, r);
        BOOST_REQUIRE_EQUAL(e, DnsError::kOk);
        ++responses;
        BOOST_CHECK_EQUAL(r.id, std::string(file) == "dns_udp.pcap" ? 22836 : 17177);
        BOOST_REQUIRE_EQUAL(r.n_names, 1);
        BOOST_CHECK_EQUAL(r.names[0].view(), "www.tcpdump.org");
        BOOST_REQUIRE_EQUAL(r.n_answers, 2);
        BOOST_CHECK_EQUAL(ip_text(r.answers[0].addr), "192.139.46.66");
        BOOST_CHECK_EQUAL(ip_text(r.answers[1].addr), "198.199.88.104");
        BOOST_CHECK_EQUAL(r.answers[0].ttl, 60u);
        BOOST_CHECK_EQUAL(r.answers[1].ttl, 60u);
        BOOST_CHECK_EQUAL(r.other_answers, 0);
      }
      BOOST_CHECK_EQUAL(responses, 1);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls_sni)

BOOST_AUTO_TEST_CASE(hand_built) {
  DnsName n;
  std::vector<uint8_t> other = {0x00, 0x17, 0, 0};  // extended_master_secret, empty
  std::vector<uint8_t> exts = other;
  auto s = sni_ext("Api.Example.COM.");
  exts.insert(exts.end(), s.begin(), s.end());
  auto ch = client_hello(exts);
  BOOST_REQUIRE_EQUAL(parse_client_hello_sni(ch.data(), ch.size(), n), SniError::kOk);
  BOOST_CHECK_EQUAL(n.view(), "api.example.com");
  // The record continues beyond this segment: the name is in it, fine.
  auto more = ch;
  more[3] = 0x40;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(more.data(), more.size(), n), SniError::kOk);
  // Cut inside the name.
  BOOST_CHECK_EQUAL(parse_client_hello_sni(ch.data(), ch.size() - 3, n), SniError::kTruncated);
  BOOST_CHECK_EQUAL(parse_client_hello_sni(ch.data(), 4, n), SniError::kTruncated);

  auto no_ext = client_hello({}, false);
  BOOST_CHECK_EQUAL(parse_client_hello_sni(no_ext.data(), no_ext.size(), n), SniError::kNoSni);
  auto only_other = client_hello(other);
  BOOST_CHECK_EQUAL(parse_client_hello_sni(only_other.data(), only_other.size(), n), SniError::kNoSni);

  auto not_hs = ch;
  not_hs[0] = 23;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(not_hs.data(), not_hs.size(), n), SniError::kNotHandshake);
  auto v2 = ch;
  v2[1] = 2;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(v2.data(), v2.size(), n), SniError::kNotHandshake);
  auto server_hello = ch;
  server_hello[5] = 2;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(server_hello.data(), server_hello.size(), n),
                    SniError::kNotClientHello);
  auto zero_rec = ch;
  zero_rec[3] = zero_rec[4] = 0;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(zero_rec.data(), zero_rec.size(), n),
                    SniError::kBadRecordLength);
  auto huge_rec = ch;
  huge_rec[3] = 0x50;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(huge_rec.data(), huge_rec.size(), n),
                    SniError::kBadRecordLength);
  auto hs_long = ch;  // handshake longer than its record
  hs_long[7] = 0x7f;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(hs_long.data(), hs_long.size(), n),
                    SniError::kBadHandshakeLength);
  auto bad_vec = ch;  // session id length past the handshake
  bad_vec[9 + 34] = 0xff;
  BOOST_CHECK_EQUAL(parse_client_hello_sni(bad_vec.data(), bad_vec.size(), n), SniError::kBadLength);
  auto bad_name = client_hello(sni_ext("a..b"));
  BOOST_CHECK_EQUAL(parse_client_hello_sni(bad_name.data(), bad_name.size(), n), SniError::kBadName);
  auto bad_char = client_hello(sni_ext("a b.com"));
  BOOST_CHECK_EQUAL(parse_client_hello_sni(bad_char.data(), bad_char.size(), n), SniError::kBadName);
  auto long_label = client_hello(sni_ext(std::string(64, 'x') + ".com"));
  BOOST_CHECK_EQUAL(parse_client_hello_sni(long_label.data(), long_label.size(), n),
                    SniError::kBadName);
  std::set<std::string> names;
  for (size_t i = 0; i < kSniErrorCount; ++i) names.insert(std::string(sni_error_name(SniError(i))));
  BOOST_CHECK_EQUAL(names.size(), kSniErrorCount);
}

// nDPI test suite: one ClientHello to 151.101.66.49:443.
BOOST_AUTO_TEST_CASE(real_capture) {
  const PcapContents pc =
      read_pcap(std::string(HAYSTACK_TEST_DATA) + "/pcaps/tls_verylong_certificate.pcap");
  std::vector<std::string> names;
  for (const auto& pk : pc.packets) {
    ParsedPacket p;
    BOOST_REQUIRE(parse_packet(pk.data.data(), pk.data.size(), p) == ParseError::kOk);
    if (p.proto != ipproto::kTcp || p.payload_len == 0) continue;
    DnsName n;
    if (parse_client_hello_sni(pk.data.data() + p.payload_offset, p.payload_len, n) == SniError::kOk) {
      names.push_back(std::string(n.view()) + " " + ip_text(p.dst) + ":" + std::to_string(p.dport));
    }
  }
  BOOST_REQUIRE_EQUAL(names.size(), 1u);
  BOOST_CHECK_EQUAL(names[0], "feodotracker.abuse.ch 151.101.66.49:443");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

hitlist::Bundle bundle_with(const std::vector<std::string>& fqdns) {
  std::string text = "hitlist 1\nvalid_from 2026-11-01\nvalid_until 2026-11-01\n";
  if (!fqdns.empty()) text += "service s platform - S\n";
  for (const auto& f : fqdns) text += "domain " + f + " s:primary\n";
  return hitlist::parse_bundle(text, "test.hitlist");
}

const char* kBackendCsv =
    "company,domain_A_queries,domain_AAAA_queries,domain_CNAME_queries\n"
    "'Amazon AWS',(.+)(\\.iot\\.)([[:alnum:]]+(-[[:alnum:]]+)+)?(\\.amazonaws\\.com\\.$)/A,"
    "(.+)(\\.iot\\.)([[:alnum:]]+(-[[:alnum:]]+)+)?(\\.amazonaws\\.com\\.$)/AAAA,"
    "(.+)(\\.iot\\.)([[:alnum:]]+(-[[:alnum:]]+)+)?(\\.amazonaws\\.com\\.$)/CNAME\n"
    "Microsoft,(.+\\.|^)(azure-devices\\.net\\.$)/A,(.+\\.|^)(azure-devices\\.net\\.$)/AAAA,"
    "(.+\\.|^)(azure-devices\\.net\\.$)/CNAME\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(name_matcher)

BOOST_AUTO_TEST_CASE(backend_csv) {
  const auto p = hitlist::parse_backend_patterns(kBackendCsv, "b.csv");
  BOOST_REQUIRE_EQUAL(p.size(), 2u);
  BOOST_CHECK_EQUAL(p[0].provider, "Amazon AWS");
  BOOST_CHECK_EQUAL(p[0].regex, "(.+)(\\.iot\\.)([[:alnum:]]+(-[[:alnum:]]+)+)?(\\.amazonaws\\.com\\.$)");
  BOOST_CHECK_EQUAL(p[0].line, 2);
  BOOST_CHECK_EQUAL(p[1].provider, "Microsoft");
  BOOST_CHECK_EQUAL(p[1].line, 3);
  auto err = [](const std::string& text) {
    try {
      hitlist::parse_backend_patterns(text, "b.csv");
    } catch (const hitlist::HitlistError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_CHECK_EQUAL(err(""), "b.csv:0: backend.header: empty file");
  BOOST_CHECK_EQUAL(err("x,y\n"), "b.csv:1: backend.header: expected the header 'company,domain_A_queries,...'");
  BOOST_CHECK_EQUAL(err("company,a\nX,a/A,b/AAAA\n"),
                    "b.csv:2: backend.record: expected 4 comma-separated fields (company, A, AAAA, "
                    "CNAME regex), got 3");
  BOOST_CHECK_EQUAL(err("company,a\nX,a/A,b/AAAA,c/MX\n"),
                    "b.csv:2: backend.cname: regex must end in '/CNAME'");
  BOOST_CHECK_EQUAL(err("company,a\n'',a/A,b/AAAA,c/CNAME\n"), "b.csv:2: backend.company: empty company");
}

BOOST_AUTO_TEST_CASE(regex_conversion) {
  BOOST_CHECK_EQUAL(hitlist::posix_classes_to_ranges("[[:alnum:]]+(-[[:digit:]]+)\\[:x"),
                    "[a-zA-Z0-9]+(-[0-9]+)\\[:x");
  const auto psl = hitlist::PublicSuffixList::parse("com\nco.uk\n", "psl");
  BOOST_CHECK_EQUAL(hitlist::domain_regex("avs-alexa-14-na.amazon.com", &psl, true),
                    "^avs-alexa-[0-9]+-na\\.amazon\\.com\\.$");
  // Digits of the registrable domain stay exact.
  BOOST_CHECK_EQUAL(hitlist::domain_regex("a1.b22.co.uk", &psl, true), "^a[0-9]+\\.b22\\.co\\.uk\\.$");
  BOOST_CHECK_EQUAL(hitlist::domain_regex("a1.b22.co.uk", &psl, false), "^a1\\.b22\\.co\\.uk\\.$");
  BOOST_CHECK_EQUAL(hitlist::domain_regex("a1.b22.co.uk", nullptr, true), "^a1\\.b22\\.co\\.uk\\.$");
}

BOOST_AUTO_TEST_CASE(matching) {
  const auto psl = hitlist::PublicSuffixList::parse("com\nnet\n", "psl");
  const auto b = bundle_with({"avs-alexa-4-na.amazon.com", "api.amazon.com", "x.azure-devices.net"});
  const auto backend = hitlist::parse_backend_patterns(kBackendCsv, "b.csv");
  hitlist::NameMatcherOptions o;
  o.psl = &psl;
  o.scratch_slots = 3;
  const auto m = NameMatcher::build(b, backend, "b.csv", o);
  BOOST_CHECK_EQUAL(m->size(), 5u);
  BOOST_CHECK_EQUAL(m->catalog_patterns(), 3u);
  BOOST_CHECK_EQUAL(m->scratch_slots(), 3u);
  BOOST_CHECK_GT(m->database_bytes(), 0u);
  auto ids = [&](const std::string& name, uint32_t slot = 0) {
    uint32_t out[8];
    const size_t n = m->match(name, slot, out, 8);
    return std::vector<uint32_t>(out, out + n);
  };
  using V = std::vector<uint32_t>;
  BOOST_CHECK(ids("api.amazon.com") == V({1}));
  BOOST_CHECK(ids("avs-alexa-4-na.amazon.com") == V({0}));
  BOOST_CHECK(ids("avs-alexa-12-na.amazon.com", 2) == V({0}));  // digit wildcard
  BOOST_CHECK(ids("avs-alexa--na.amazon.com").empty());
  BOOST_CHECK(ids("xapi.amazon.com").empty());
  BOOST_CHECK(ids("api.amazon.com.evil.com").empty());
  BOOST_CHECK(ids("a1b2c3d4e5-ats.iot.us-east-1.amazonaws.com") == V({3}));
  // The published AWS pattern needs a region between .iot. and .amazonaws.com.
  BOOST_CHECK(ids("data.iot.amazonaws.com").empty());
  BOOST_CHECK(ids("s3.us-east-1.amazonaws.com").empty());
  BOOST_CHECK(ids("x.azure-devices.net") == V({2, 4}));  // catalog domain and provider
  BOOST_CHECK(ids("hub1.azure-devices.net") == V({4}));
  BOOST_CHECK(ids("azure-devices.net") == V({4}));  // (^|.+\.) allows the bare name
  BOOST_CHECK(ids("notazure-devices.net").empty());
  BOOST_CHECK(ids("api.amazon.com", 3).empty());  // no such scratch slot
  BOOST_CHECK(m->pattern(4).source == NameSource::kBackendProvider);
  BOOST_CHECK_EQUAL(m->pattern(4).label, "Microsoft");
  BOOST_CHECK_EQUAL(m->pattern(2).label, "x.azure-devices.net");
  BOOST_CHECK_EQUAL(m->pattern(2).ref, 2u);
}

BOOST_AUTO_TEST_CASE(real_backend_patterns_compile) {
  const auto p = hitlist::load_backend_patterns(std::string(HAYSTACK_TEST_DATA) +
                                                "/learning/top16_companies_dnsdb_patterns.csv");
  BOOST_CHECK_EQUAL(p.size(), 27u);  // one regex per row: A, AAAA and CNAME are identical
  const auto m = NameMatcher::build(bundle_with({}), p, "csv", {});
  BOOST_CHECK_EQUAL(m->size(), 27u);
  uint32_t out[8];
  const std::pair<const char*, const char*> cases[] = {
      {"a3k7odshaiipe8-ats.iot.eu-west-1.amazonaws.com", "Amazon AWS"},
      {"myhub.azure-devices.net", "Microsoft"},
      {"x.iot-mqtts.cn-north-4.myhuaweicloud.com", "Huawei Technologies"},
      {"abc.iot-as-mqtt.cn-shanghai.aliyuncs.com", "Alibaba Cloud"},
      {"things.eu1.mindsphere.io", "Siemens"},
      {"mqtt.googleapis.com", "Google"},
      {"device.tencentdevices.com", "Tencent Holdings"}};
  for (const auto& [name, provider] : cases) {
    BOOST_TEST_CONTEXT(name) {
      const size_t n = m->match(name, 0, out, 8);
      BOOST_REQUIRE_EQUAL(n, 1u);
      BOOST_CHECK_EQUAL(m->pattern(out[0]).label, provider);
    }
  }
  BOOST_CHECK_EQUAL(m->match("www.amazon.com", 0, out, 8), 0u);
}

BOOST_AUTO_TEST_CASE(bad_backend_pattern_names_its_line) {
  const auto p = hitlist::parse_backend_patterns(
      "company,a\nA,ok\\.com\\.$/A,ok\\.com\\.$/AAAA,ok\\.com\\.$/CNAME\nB,(x/A,(x/AAAA,(x/CNAME\n",
      "b.csv");
  try {
    NameMatcher::build(bundle_with({}), p, "b.csv", {});
    BOOST_FAIL("no error");
  } catch (const hitlist::HitlistError& e) {
    BOOST_CHECK_EQUAL(e.line(), 3);
    BOOST_CHECK_EQUAL(e.field(), "backend.regex");
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
struct VectorSink : LearnSink {
  std::vector<LearnRecord> recs;
  size_t capacity = 1 << 20;
  bool push(const LearnRecord& r) override {
    if (recs.size() == capacity) return false;
    recs.push_back(r);
    return true;
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(name_learning)

// The Alexa-app capture (nDPI, filtered to its DNS responses and ClientHellos): the
// bindings of matched names, with the CNAME chain of a matched response.
BOOST_AUTO_TEST_CASE(alexa_capture) {
  const auto psl = hitlist::PublicSuffixList::load(hitlist::kDefaultPslPath);
  const auto b = bundle_with({"pitangui.amazon.com", "www.amazon.com"});
  hitlist::NameMatcherOptions o;
  o.psl = &psl;
  const auto m = NameMatcher::build(b, {}, "", o);
  VectorSink sink;
  LearningSettings s;
  s.enabled = true;
  s.sink = &sink;
  s.names = m.get();
  NameLearner learner(0, s);
  WorkerCounters c;
  const PcapContents pc = read_pcap(std::string(HAYSTACK_TEST_DATA) + "/pcaps/alexa-dns-sni.pcap");
  for (const auto& pk : pc.packets) {
    ParsedPacket p;
    BOOST_REQUIRE(parse_packet(pk.data.data(), pk.data.size(), p) == ParseError::kOk);
    learner.observe(p, pk.data.data(), pk.ts_ns, 7, c);
  }
  BOOST_CHECK_EQUAL(c.learning_dns_responses.get(), 31u);
  BOOST_CHECK_EQUAL(c.learning_dns_malformed.get(), 0u);
  // 102 ClientHellos, 6 of them (to bare IPs) without a server_name extension.
  BOOST_CHECK_EQUAL(c.learning_sni_hellos.get(), 96u);
  BOOST_CHECK_EQUAL(c.learning_sni_skipped.get(), 6u);
  BOOST_CHECK_EQUAL(c.learning_sni_error[size_t(SniError::kNoSni)].get(), 6u);
  BOOST_CHECK_EQUAL(c.learning_sni_malformed.get(), 0u);
  BOOST_CHECK_EQUAL(c.learning_ring_full.get(), 0u);
  std::set<std::tuple<std::string, std::string, std::string, uint32_t>> got;
  for (const auto& r : sink.recs) {
    BOOST_CHECK_EQUAL(r.generation, 7u);
    const std::string value = r.kind == LearnKind::kDnsCname ? std::string(r.target_name()) : ip_text(r.ip);
    got.emplace(std::string(r.owner_name()), std::string(learn_kind_name(r.kind)), value, r.ttl);
  }
  // From the decoder: 4 responses www.amazon.com -> www.cdn.amazon.com ->
  // d3ag4hukkh62yn.cloudfront.net (4 A each), 6 alexa.amazon.com -> pitangui /
  // pitangui A responses, and the ClientHellos to pitangui.amazon.com and www.amazon.com.
  std::set<std::string> owners;
  for (const auto& [o, k, v, t] : got) owners.insert(o + " " + k + " " + v);
  const std::set<std::string> expected = {
      "alexa.amazon.com CNAME pitangui.amazon.com",
      "d3ag4hukkh62yn.cloudfront.net A 52.85.209.122",
      "d3ag4hukkh62yn.cloudfront.net A 52.85.209.143",
      "d3ag4hukkh62yn.cloudfront.net A 52.85.209.197",
      "d3ag4hukkh62yn.cloudfront.net A 52.85.209.216",
      "pitangui.amazon.com A 52.94.232.134",
      "pitangui.amazon.com A 54.239.28.178",
      "pitangui.amazon.com SNI 52.94.232.134",
      "pitangui.amazon.com SNI 54.239.28.178",
      "www.amazon.com CNAME www.cdn.amazon.com",
      "www.amazon.com SNI 52.85.209.143",
      "www.amazon.com SNI 52.85.209.197",
      "www.amazon.com SNI 52.85.209.216",
      "www.cdn.amazon.com CNAME d3ag4hukkh62yn.cloudfront.net"};
  BOOST_CHECK_EQUAL_COLLECTIONS(owners.begin(), owners.end(), expected.begin(), expected.end());
  // ClientHellos: 46 to pitangui.amazon.com, 6 to www.amazon.com.
  size_t sni = 0;
  for (const auto& r : sink.recs) sni += r.kind == LearnKind::kSni;
  BOOST_CHECK_EQUAL(sni, 42u + 4u + 1u + 1u + 4u);
  BOOST_CHECK_EQUAL(c.learning_records.get(), sink.recs.size());
  // The ring-full path: nothing blocks, every record beyond capacity is counted.
  VectorSink small;
  small.capacity = 3;
  s.sink = &small;
  NameLearner l2(0, s);
  WorkerCounters c2;
  for (const auto& pk : pc.packets) {
    ParsedPacket p;
    parse_packet(pk.data.data(), pk.data.size(), p);
    l2.observe(p, pk.data.data(), pk.ts_ns, 7, c2);
  }
  BOOST_CHECK_EQUAL(c2.learning_records.get(), 3u);
  BOOST_CHECK_EQUAL(c2.learning_ring_full.get(), sink.recs.size() - 3);
}

BOOST_AUTO_TEST_SUITE_END()

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/config.h"
#include "control/learning_pipeline.h"
#include "signatures/dns_records.h"
#include "signatures/hitlist_generation.h"

BOOST_AUTO_TEST_SUITE(learning_pipeline)

BOOST_AUTO_TEST_CASE(config_keys) {
  const std::string base = "mode: ixp\nports:\n  - name: p0\n    device: net_ring0\n";
  const Config d = parse_config(base, "t.yaml");
  BOOST_CHECK(d.learning.enabled && d.learning.every_packet && d.learning.dns && d.learning.sni);
  BOOST_CHECK(d.learning.digit_wildcards && !d.learning.add_to_hitlist);
  BOOST_CHECK_EQUAL(d.learning.ring_size, 4096u);
  BOOST_CHECK_EQUAL(d.learning.max_bindings, 1000000u);
  BOOST_CHECK_EQUAL(d.learning.psl, "/usr/share/publicsuffix/public_suffix_list.dat");
  const Config c = parse_config(base +
                                    "learning:\n  enabled: false\n  every_packet: false\n"
                                    "  dns: false\n  sni: false\n  backend_patterns: /b.csv\n"
                                    "  digit_wildcards: false\n  psl: /p.dat\n  ring_size: 128\n"
                                    "  max_bindings: 10\n  add_to_hitlist: true\n",
                                "t.yaml");
  const LearningConfig& l = c.learning;
  BOOST_CHECK(!l.enabled && !l.every_packet && !l.dns && !l.sni && !l.digit_wildcards);
  BOOST_CHECK(l.add_to_hitlist);
  BOOST_CHECK_EQUAL(l.backend_patterns, "/b.csv");
  BOOST_CHECK_EQUAL(l.psl, "/p.dat");
  BOOST_CHECK_EQUAL(l.ring_size, 128u);
  BOOST_CHECK_EQUAL(l.max_bindings, 10u);
  auto err = [&](const std::string& extra) {
    try {
      parse_config(base + extra, "t.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_CHECK_EQUAL(err("learning:\n  ring_size: 8\n"),
                    "t.yaml:6: learning.ring_size: expected an integer in 64..1048576, got \"8\"");
  BOOST_CHECK_EQUAL(err("learning:\n  sin: true\n").rfind("t.yaml:6: learning.sin: unknown key; did you mean 'sni'?", 0),
                    0u);
}

// The worker stage's records of the Alexa capture through control: the builder-format
// log, the dedicated/shared verdicts, and the endpoints add_to_hitlist would publish.
BOOST_AUTO_TEST_CASE(alexa_capture_end_to_end) {
  const std::string dir = (std::filesystem::temp_directory_path() / "haystack-learning-unit").string();
  std::filesystem::remove_all(dir);
  Config cfg;
  cfg.state_dir = dir;
  cfg.learning.add_to_hitlist = true;
  LearningPipeline lp(cfg, 1);
  auto g = hitlist::make_generation(
      hitlist::parse_bundle("hitlist 1\nvalid_from 2026-11-01\nvalid_until 2026-11-01\n"
                            "service amazon manufacturer - Amazon\n"
                            "domain pitangui.amazon.com amazon:primary\n"
                            "domain www.amazon.com amazon:support\n"
                            "endpoint 192.0.2.1 tcp 443 pitangui.amazon.com\n",
                            "a.hitlist"),
      "a.hitlist", 1, &lp.matcher_spec());
  lp.on_generation(g);

  VectorSink sink;
  LearningSettings s = lp.worker_settings();
  s.sink = &sink;
  s.names = g->names.get();
  NameLearner learner(0, s);
  WorkerCounters c;
  const PcapContents pc = read_pcap(std::string(HAYSTACK_TEST_DATA) + "/pcaps/alexa-dns-sni.pcap");
  for (const auto& pk : pc.packets) {
    ParsedPacket p;
    parse_packet(pk.data.data(), pk.data.size(), p);
    learner.observe(p, pk.data.data(), pk.ts_ns, 1, c);
  }
  for (const auto& r : sink.recs) lp.add(r);
  auto next = lp.advance(pc.packets.back().ts_ns);
  // learned.dns: first/last seen are the packet times (Unix seconds) of each binding.
  const std::string dns = lp.dns_text();
  const auto recs = hitlist::parse_dns_records(dns, "learned.dns");  // the builder's reader
  BOOST_CHECK_EQUAL(recs.size(), 12u);
  std::ifstream f(dir + "/learning/learned.dns");
  std::stringstream ss;
  ss << f.rdbuf();
  BOOST_CHECK_EQUAL(ss.str(), dns);
  BOOST_CHECK(dns.find("\nalexa.amazon.com CNAME pitangui.amazon.com ") != std::string::npos);
  BOOST_CHECK(dns.find("\nwww.amazon.com A 52.85.209.216 ") != std::string::npos);  // from SNI

  const auto& ips = lp.ips();
  std::vector<std::string> dedicated, shared;
  for (const auto& [ip, st] : ips) (st.verdict.dedicated ? dedicated : shared).push_back(ip_text(ip));
  BOOST_CHECK((dedicated == std::vector<std::string>{"52.94.232.134", "54.239.28.178"}));
  BOOST_CHECK((shared == std::vector<std::string>{"52.85.209.122", "52.85.209.143", "52.85.209.197",
                                                   "52.85.209.216"}));
  const auto& w = ips.begin()->second;  // 52.85.209.122
  BOOST_CHECK((w.verdict.slds == std::set<std::string>{"amazon.com", "d3ag4hukkh62yn.cloudfront.net"}));
  BOOST_CHECK((w.catalog == std::set<std::string>{"www.amazon.com"}));

  // add_to_hitlist: the two dedicated pitangui IPs, on pitangui's protocol/port.
  BOOST_REQUIRE(next.has_value());
  BOOST_REQUIRE_EQUAL(next->endpoints.size(), 3u);
  BOOST_CHECK_EQUAL(ip_text(next->endpoints[1].addr), "52.94.232.134");
  BOOST_CHECK_EQUAL(ip_text(next->endpoints[2].addr), "54.239.28.178");
  BOOST_CHECK_EQUAL(next->endpoints[2].proto, 6);
  BOOST_CHECK_EQUAL(next->endpoints[2].port, 443);
  auto g2 = hitlist::make_generation(*next, "a.hitlist", 2, &lp.matcher_spec());
  BOOST_CHECK_EQUAL(g2->table->size(), 3u);
  lp.on_generation(g2);
  size_t added = 0;
  BOOST_CHECK(!LearningPipeline::add_confirmed(*g2->bundle, lp.ips(), added).has_value());
  BOOST_CHECK_EQUAL(added, 0u);
  const auto sum = lp.summary();
  BOOST_CHECK_EQUAL(sum["records"].get<uint64_t>(), sink.recs.size());
  BOOST_CHECK_EQUAL(sum["bindings"].get<uint64_t>(), 12u);
  BOOST_CHECK_EQUAL(sum["ips_dedicated"].get<uint64_t>(), 2u);
  BOOST_CHECK_EQUAL(sum["ips_shared"].get<uint64_t>(), 4u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
