#include <boost/test/unit_test.hpp>

#include "dataplane/iot_evidence.h"
#include "dataplane/parser.h"
#include "signatures/hitlist_loader.h"
#include "tests/unit/frame_builder.h"

using namespace haystack;
using haystack::test::FrameBuilder;

namespace {
const char* kBundle =
    "hitlist 1\n"
    "valid_from 2026-11-01\nvalid_until 2026-11-01\nprovenance unit test\n"
    "service cam manufacturer - Camera maker\n"
    "domain api.cam.example cam:primary\n"
    "domain log.cam.example cam:support\n"
    "endpoint 192.0.2.10 tcp 443 api.cam.example\n"
    "endpoint 192.0.2.11 tcp any api.cam.example log.cam.example\n";

struct Rig {
  hitlist::Bundle bundle = hitlist::parse_bundle(kBundle, "t.hitlist");
  std::shared_ptr<const hitlist::HitlistTable> table = hitlist::HitlistTable::compile(bundle);
  IotSettings s;
  IotEvidenceTable t{64};
  WorkerCounters c;
  Rig(IotMode mode = IotMode::kIsp) {
    s.table = table.get();
    s.mode = mode;
    Prefix p;
    std::string why;
    BOOST_REQUIRE(parse_prefix("100.64.0.0/16", p, why));
    s.subscriber_prefixes.push_back(p);
  }
  void send(std::initializer_list<uint8_t> src, std::initializer_list<uint8_t> dst, uint16_t sp,
            uint16_t dp, uint8_t flags, uint64_t ts) {
    FrameBuilder f;
    f.eth(0x0800).ipv4(src, dst, 6, 20).tcp(sp, dp, flags);
    ParsedPacket p;
    BOOST_REQUIRE(parse_packet(f.b.data(), f.b.size(), p) == ParseError::kOk);
    observe_iot(s, p, uint32_t(f.b.size()), ts, t, c);
  }
  const IotLine* only_line() const {
    const IotLine* out = nullptr;
    t.for_each([&](const IotLine& l) { out = &l; });
    return out;
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(iot_evidence)

BOOST_AUTO_TEST_CASE(both_directions_count_for_the_subscriber_line) {
  Rig r;
  r.send({100, 64, 1, 2}, {192, 0, 2, 10}, 40000, 443, tcpflag::kAck, 100);  // to the server
  r.send({192, 0, 2, 11}, {100, 64, 1, 2}, 8883, 40001, tcpflag::kAck, 200);  // reply, any port
  r.send({100, 64, 1, 2}, {192, 0, 2, 10}, 40000, 80, tcpflag::kAck, 300);   // port not listed
  BOOST_TEST(r.c.iot_matches.get() == 2u);
  BOOST_TEST(r.t.size() == 1u);
  const IotLine* l = r.only_line();
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->len == 32);
  BOOST_TEST(l->line.v4_host_order() == 0x64400102u);
  BOOST_TEST(l->n_domains == 2);  // api + log, each once
  BOOST_TEST(l->n_services == 1);
  BOOST_TEST(l->services[0].packets == 2u);
  BOOST_TEST(l->n_ips == 2);
  BOOST_TEST(l->first_ns == 100u);
  BOOST_TEST(l->last_ns == 200u);
}

BOOST_AUTO_TEST_CASE(isp_needs_a_subscriber_side) {
  Rig r;
  r.send({198, 51, 100, 1}, {192, 0, 2, 10}, 40000, 443, tcpflag::kAck, 1);
  BOOST_TEST(r.c.iot_no_line.get() == 1u);
  BOOST_TEST(r.t.size() == 0u);
}

BOOST_AUTO_TEST_CASE(ixp_counts_only_established_tcp) {
  Rig r(IotMode::kIxp);
  r.send({198, 51, 100, 1}, {192, 0, 2, 10}, 40000, 443, tcpflag::kSyn, 1);
  BOOST_TEST(r.c.iot_not_established.get() == 1u);
  BOOST_TEST(r.t.size() == 0u);
  r.send({198, 51, 100, 1}, {192, 0, 2, 10}, 40000, 443, tcpflag::kAck, 2);
  BOOST_TEST(r.c.iot_matches.get() == 1u);
  const IotLine* l = r.only_line();
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->line.v4_host_order() == 0xc6336401u);  // the non-hitlist side is the line
}

BOOST_AUTO_TEST_CASE(telnet_syns_are_scan_attempts_and_bounded) {
  Rig r;
  for (int i = 0; i < 40; ++i) {
    r.send({100, 64, 0, 7}, {203, 0, 113, uint8_t(i)}, 50000, i % 2 ? 23 : 2323, tcpflag::kSyn, 5);
  }
  r.send({100, 64, 0, 7}, {203, 0, 113, 1}, 50000, 23, tcpflag::kSyn | tcpflag::kAck, 6);  // not a SYN
  const IotLine* l = r.only_line();
  BOOST_REQUIRE(l != nullptr);
  BOOST_TEST(l->scan_connections == 40u);
  BOOST_TEST(l->n_scan == IotLine::kScanTargets);
  BOOST_TEST(l->scan_saturated);
  BOOST_TEST(r.c.iot_scan_syns.get() == 40u);
  BOOST_TEST(r.c.iot_line_overflow.get() == 8u);
}

BOOST_AUTO_TEST_CASE(full_table_is_counted_and_clear_empties_it) {
  Rig r;
  r.t = IotEvidenceTable(2);
  for (uint8_t i = 1; i <= 3; ++i) r.send({100, 64, 0, i}, {192, 0, 2, 10}, 40000, 443, tcpflag::kAck, 1);
  BOOST_TEST(r.t.size() == 2u);
  BOOST_TEST(r.c.iot_lines_full.get() == 1u);
  r.t.clear();
  BOOST_TEST(r.t.size() == 0u);
  r.send({100, 64, 0, 9}, {192, 0, 2, 10}, 40000, 443, tcpflag::kAck, 1);
  BOOST_TEST(r.only_line()->n_domains == 1);
}

BOOST_AUTO_TEST_SUITE_END()
