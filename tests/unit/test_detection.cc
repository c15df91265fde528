#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/detection.h"
#include "control/detection_evidence.h"
#include "control/pseudonym.h"
#include "control/service_outage.h"

BOOST_TEST_DONT_PRINT_LOG_VALUE(haystack::detection::WindowKind)

using namespace haystack;
using namespace haystack::detection;
using hitlist::DomainId;
using hitlist::Level;
using hitlist::Role;
using hitlist::ServiceId;

namespace {

constexpr uint64_t kMin = 60ULL * 1'000'000'000ULL;
constexpr uint64_t kT0 = 1'700'006'400ULL * 1'000'000'000ULL;  // 2023-11-15 00:00:00 UTC

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  uint8_t x[4] = {a, b, c, d};
  return IpAddr::from_v4(x);
}

// Builds a hitlist::Bundle in code (the loader is written elsewhere).
struct BundleBuilder {
  std::shared_ptr<hitlist::Bundle> b = std::make_shared<hitlist::Bundle>();

  ServiceId service(const std::string& key, Level level, ServiceId parent = hitlist::kNoService) {
    hitlist::Service s;
    s.id = ServiceId(b->services.size());
    s.key = key;
    s.name = key;
    s.level = level;
    s.parent = parent;
    b->services.push_back(s);
    return s.id;
  }
  DomainId domain(const std::string& fqdn, std::vector<hitlist::DomainUse> uses) {
    hitlist::Domain d;
    d.id = DomainId(b->domains.size());
    d.fqdn = fqdn;
    d.uses = std::move(uses);
    b->domains.push_back(d);
    // One endpoint per domain: 203.0.113.<id> (or 198.18.x.y beyond 255), TCP 443.
    hitlist::Endpoint e;
    uint32_t n = d.id;
    e.addr = n < 256 ? v4(203, 0, 113, uint8_t(n)) : v4(198, 18, uint8_t(n >> 8), uint8_t(n));
    e.prefix_len = 32;
    e.proto = 6;
    e.port = 443;
    e.domains = {d.id};
    b->endpoints.push_back(e);
    return d.id;
  }
  // A service with `primary` primary and `support` support domains of its own.
  ServiceId flat(const std::string& key, int primary, int support) {
    ServiceId s = service(key, Level::kManufacturer);
    for (int i = 0; i < primary; ++i)
      domain("p" + std::to_string(i) + "." + key + ".example", {{s, Role::kPrimary}});
    for (int i = 0; i < support; ++i)
      domain("s" + std::to_string(i) + "." + key + "-cdn.example", {{s, Role::kSupport}});
    return s;
  }
};

std::vector<DomainId> ids(std::initializer_list<DomainId> l) {
  std::vector<DomainId> v(l);
  std::sort(v.begin(), v.end());
  return v;
}

LineId line_n(uint8_t n) { return LineId::of(v4(100, 64, 0, n), 32); }

// Evidence for one line: `packets` packets spread over the endpoints of `doms`.
LineBinEvidence evidence(const hitlist::Bundle& b, LineId line, const std::vector<DomainId>& doms,
                         uint64_t ts, int packets_each = 1) {
  LineBinEvidence ev;
  ev.line = line;
  for (DomainId d : doms)
    for (int i = 0; i < packets_each; ++i)
      add_hitlist_packet(ev, b, d, b.endpoints[d].addr, 100, ts + uint64_t(i));
  return ev;
}

BinEvidence bin(uint64_t start, std::vector<LineBinEvidence> lines) {
  BinEvidence bn;
  bn.start_ns = start;
  bn.end_ns = start + kMin;
  bn.lines = std::move(lines);
  return bn;
}

const WindowReport* find(const std::vector<WindowReport>& rs, WindowKind k, uint64_t start) {
  for (const auto& r : rs)
    if (r.kind == k && r.start_ns == start) return &r;
  return nullptr;
}

std::vector<std::string> keys(const WindowReport& r) {
  std::vector<std::string> out;
  for (const auto& d : r.detections) out.push_back(d.service_key);
  return out;
}

// Alexa Enabled (platform: 1 domain) ⊃ Amazon products (+33) ⊃ Fire TV (+33 more).
struct AmazonHierarchy {
  BundleBuilder bb;
  ServiceId alexa, amazon, firetv;
  DomainId avs;
  std::vector<DomainId> amazon_only, firetv_only;
  AmazonHierarchy() {
    alexa = bb.service("alexa-enabled", Level::kPlatform);
    amazon = bb.service("amazon", Level::kManufacturer, alexa);
    firetv = bb.service("amazon-firetv", Level::kProduct, amazon);
    avs = bb.domain("avs-alexa-eu.amazon.com", {{alexa, Role::kPrimary},
                                                {amazon, Role::kPrimary},
                                                {firetv, Role::kPrimary}});
    for (int i = 0; i < 33; ++i)
      amazon_only.push_back(bb.domain("d" + std::to_string(i) + ".amazon-device.example",
                                      {{amazon, i < 30 ? Role::kPrimary : Role::kSupport},
                                       {firetv, i < 30 ? Role::kPrimary : Role::kSupport}}));
    for (int i = 0; i < 33; ++i)
      firetv_only.push_back(
          bb.domain("f" + std::to_string(i) + ".firetv.example", {{firetv, Role::kPrimary}}));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(detection)

BOOST_AUTO_TEST_CASE(fraction_threshold_boundaries) {
  DetectionConfig c;  // D = 0.4
  BOOST_TEST(required_domains(c, 5) == 2u);   // floor(2.0)
  BOOST_TEST(required_domains(c, 2) == 1u);   // max(1, floor(0.8))
  BOOST_TEST(required_domains(c, 1) == 1u);
  BOOST_TEST(required_domains(c, 4) == 1u);   // floor(1.6)
  BOOST_TEST(required_domains(c, 34) == 13u);
  BOOST_TEST(required_domains(c, 67) == 26u);
  c.fraction_d = 0.25;
  BOOST_TEST(required_domains(c, 10) == 2u);  // floor(2.5)
  BOOST_TEST(required_domains(c, 3) == 1u);
  c.fraction_d = 0.3;
  BOOST_TEST(required_domains(c, 10) == 3u);  // 0.3*10 is 2.9999999999999996 in binary
  c.fraction_d = 1.0;
  BOOST_TEST(required_domains(c, 7) == 7u);
}

BOOST_AUTO_TEST_CASE(guo_heidemann_thresholds) {
  DetectionConfig c;
  c.policy = ThresholdPolicy::kGuoHeidemann;
  BOOST_TEST(required_domains(c, 1) == 1u);
  BOOST_TEST(required_domains(c, 2) == 2u);   // ceil(4/3)
  BOOST_TEST(required_domains(c, 3) == 2u);
  BOOST_TEST(required_domains(c, 5) == 4u);   // ceil(10/3)
  BOOST_TEST(required_domains(c, 6) == 4u);
  BOOST_TEST(required_domains(c, 20) == 14u);  // ceil(40/3), last N of the 2/3 regime
  BOOST_TEST(required_domains(c, 21) == 11u);  // ceil(21/2)
  BOOST_TEST(required_domains(c, 41) == 21u);
  BOOST_TEST(required_domains(c, 67) == 34u);

  BundleBuilder bb;
  ServiceId s = bb.flat("vendor", 2, 3);  // N = 5 -> 4 under Guo-Heidemann
  RuleSet r(bb.b, c);
  BOOST_TEST(r.required(s) == 4u);
  BOOST_TEST(!r.rule_holds(s, ids({0, 2, 3})));
  BOOST_TEST(r.rule_holds(s, ids({0, 2, 3, 4})));
  BOOST_TEST(!r.rule_holds(s, ids({1, 2, 3})));  // primary present, but 3 < 4
}

BOOST_AUTO_TEST_CASE(rule_counts_distinct_domains_and_needs_a_primary) {
  BundleBuilder bb;
  ServiceId s = bb.flat("vendor", 1, 4);  // domains 0 (primary), 1..4 (support); N=5, k=2
  RuleSet r(bb.b, DetectionConfig{});
  BOOST_TEST(r.domain_count(s) == 5u);
  BOOST_TEST(r.required(s) == 2u);
  BOOST_TEST(!r.rule_holds(s, ids({0})));        // 1 < 2
  BOOST_TEST(r.rule_holds(s, ids({0, 3})));      // exactly k
  BOOST_TEST(!r.rule_holds(s, ids({1, 2, 3, 4})));  // enough domains, but no primary
  DetectionConfig np;
  np.require_primary = false;
  BOOST_TEST(RuleSet(bb.b, np).rule_holds(s, ids({1, 2})));

  BundleBuilder small;
  ServiceId t = small.flat("tiny", 1, 1);  // N=2 -> max(1, 0) = 1
  RuleSet rs(small.b, DetectionConfig{});
  BOOST_TEST(rs.required(t) == 1u);
  BOOST_TEST(rs.rule_holds(t, ids({0})));
  BOOST_TEST(!rs.rule_holds(t, ids({1})));  // the support domain alone is not enough

  BundleBuilder ten;
  ServiceId u = ten.flat("ten", 3, 7);
  DetectionConfig q;
  q.fraction_d = 0.25;  // N=10 -> 2
  RuleSet rt(ten.b, q);
  BOOST_TEST(rt.required(u) == 2u);
  BOOST_TEST(!rt.rule_holds(u, ids({0})));
  BOOST_TEST(rt.rule_holds(u, ids({0, 9})));
}

BOOST_AUTO_TEST_CASE(hierarchy_alexa_amazon_firetv) {
  AmazonHierarchy h;
  RuleSet r(h.bb.b, DetectionConfig{});
  BOOST_TEST(r.domain_count(h.alexa) == 1u);
  BOOST_TEST(r.domain_count(h.amazon) == 34u);
  BOOST_TEST(r.domain_count(h.firetv) == 67u);
  BOOST_TEST(r.required(h.amazon) == 13u);
  BOOST_TEST(r.required(h.firetv) == 26u);

  // A third-party Alexa-enabled speaker: only the AVS domain -> platform only, NOT Amazon.
  auto third_party = r.detect(ids({h.avs}));
  BOOST_TEST(third_party == std::vector<ServiceId>({h.alexa}));

  // An Echo: AVS + 12 Amazon domains = 13 of 34 -> platform and manufacturer.
  std::vector<DomainId> echo{h.avs};
  for (int i = 0; i < 12; ++i) echo.push_back(h.amazon_only[i]);
  std::sort(echo.begin(), echo.end());
  BOOST_TEST(r.detect(echo) == std::vector<ServiceId>({h.alexa, h.amazon}));
  // One Amazon domain less: 12 < 13 -> platform only.
  std::vector<DomainId> echo_short(echo.begin(), echo.end() - 1);
  BOOST_TEST(r.detect(echo_short) == std::vector<ServiceId>({h.alexa}));

  // A Fire TV: the Echo's 13 + 13 Fire TV domains = 26 of 67 -> all three levels.
  std::vector<DomainId> tv = echo;
  for (int i = 0; i < 13; ++i) tv.push_back(h.firetv_only[i]);
  std::sort(tv.begin(), tv.end());
  BOOST_TEST(r.detect(tv) == std::vector<ServiceId>({h.alexa, h.amazon, h.firetv}));

  // Enough Fire TV domains but the Amazon parent is not detected -> no Fire TV.
  std::vector<DomainId> orphan{h.avs};
  for (DomainId d : h.firetv_only) orphan.push_back(d);
  std::sort(orphan.begin(), orphan.end());
  BOOST_TEST(r.rule_holds(h.firetv, orphan));
  BOOST_TEST(r.detect(orphan) == std::vector<ServiceId>({h.alexa}));

  // Amazon domains without AVS: the manufacturer rule holds but the platform parent is
  // not detected, so nothing is reported.
  std::vector<DomainId> no_avs(h.amazon_only.begin(), h.amazon_only.end());
  BOOST_TEST(r.rule_holds(h.amazon, no_avs));
  BOOST_TEST(r.detect(no_avs).empty());
}

BOOST_AUTO_TEST_CASE(engine_reports_detection_fields) {
  AmazonHierarchy h;
  Pseudonymizer ids(SipKey{});
  DetectionEngine e(DetectionConfig{}, h.bb.b, ids);
  LineId tp = line_n(1);
  e.add_bin(bin(kT0, {evidence(*h.bb.b, tp, {h.avs}, kT0 + 5 * kMin, 3)}));
  auto rs = e.close_until(kT0 + kDayNs);
  BOOST_REQUIRE_EQUAL(rs.size(), 2u);
  BOOST_TEST(rs[0].kind == WindowKind::kHour);  // hours close before the day
  BOOST_TEST(rs[1].kind == WindowKind::kDay);
  const auto& hr = rs[0];
  BOOST_TEST(hr.start_ns == kT0);
  BOOST_TEST(hr.end_ns == kT0 + kHourNs);
  BOOST_REQUIRE_EQUAL(hr.detections.size(), 1u);
  const Detection& d = hr.detections[0];
  BOOST_TEST(d.line == ids.id(tp.addr, tp.len));
  BOOST_TEST(d.service_key == "alexa-enabled");
  BOOST_TEST((d.level == Level::kPlatform));
  BOOST_TEST(d.domains == std::vector<std::string>({"avs-alexa-eu.amazon.com"}));
  BOOST_TEST(d.packets == 3u);
  BOOST_TEST(d.bytes == 300u);
  BOOST_TEST(d.first_seen_ns == kT0 + 5 * kMin);
  BOOST_TEST(d.last_seen_ns == kT0 + 5 * kMin + 2);
  BOOST_TEST(!d.active);
  BOOST_TEST(d.domains_required == 1u);
  BOOST_TEST(d.domains_total == 1u);
  // Per-service counts: Alexa 1 line, Amazon 0 (the third-party device is not Amazon).
  BOOST_REQUIRE_EQUAL(hr.service_counts.size(), 3u);
  BOOST_TEST(hr.service_counts[h.alexa].lines == 1u);
  BOOST_TEST(hr.service_counts[h.amazon].lines == 0u);
  BOOST_TEST(hr.service_counts[h.firetv].lines == 0u);
  BOOST_TEST(keys(rs[1]) == std::vector<std::string>({"alexa-enabled"}));
  BOOST_TEST(e.open_windows() == 0u);
}

BOOST_AUTO_TEST_CASE(scanner_exclusion_boundary) {
  BundleBuilder bb;
  ServiceId s = bb.flat("vendor", 1, 1);
  (void)s;
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  auto with_ips = [&](LineId line, int n) {
    LineBinEvidence ev = evidence(*bb.b, line, {0, 1}, kT0 + kMin);  // 2 backend IPs
    for (int i = 2; i < n; ++i) ev.backend_ips.insert(ip_hash(v4(192, 0, 2, uint8_t(i))));
    BOOST_REQUIRE_EQUAL(ev.backend_ips.count(), uint64_t(n));
    return ev;
  };
  LineId at = line_n(1), over = line_n(2);
  // 100 distinct IPs spread over two hours of the day; 101 for the other line.
  LineBinEvidence a1 = with_ips(at, 60), b1 = with_ips(over, 60);
  LineBinEvidence a2, b2;
  a2.line = at;
  b2.line = over;
  for (int i = 0; i < 40; ++i) a2.backend_ips.insert(ip_hash(v4(198, 51, 100, uint8_t(i))));
  for (int i = 0; i < 41; ++i) b2.backend_ips.insert(ip_hash(v4(198, 51, 100, uint8_t(i))));
  e.add_bin(bin(kT0, {a1, b1}));
  e.add_bin(bin(kT0 + 5 * kHourNs, {a2, b2}));
  auto rs = e.close_until(kT0 + kDayNs);
  const WindowReport* day = find(rs, WindowKind::kDay, kT0);
  BOOST_REQUIRE(day);
  BOOST_REQUIRE_EQUAL(day->scanners.size(), 1u);
  BOOST_TEST(day->scanners[0].line == "100.64.0.2/32");
  BOOST_TEST(day->scanners[0].backend_ips == 101u);
  BOOST_REQUIRE_EQUAL(day->detections.size(), 1u);
  BOOST_TEST(day->detections[0].line == "100.64.0.1/32");
  // The hourly window closed after the whole day was merged: day-to-date count applies.
  const WindowReport* h0 = find(rs, WindowKind::kHour, kT0);
  BOOST_REQUIRE(h0);
  BOOST_TEST(h0->scanners.size() == 1u);
  BOOST_TEST(h0->detections.size() == 1u);
  BOOST_TEST(e.first_detections().size() == 1u);  // scanners never get first detections
}

BOOST_AUTO_TEST_CASE(active_use_threshold_boundary) {
  BundleBuilder bb;
  bb.flat("vendor", 1, 0);  // N = 1
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  LineId nine = line_n(1), ten = line_n(2);
  // Hour 0: 9 vs 10 packets. Hour 1: both lines 5 packets (detected, not active).
  e.add_bin(bin(kT0, {evidence(*bb.b, nine, {0}, kT0, 9), evidence(*bb.b, ten, {0}, kT0, 10)}));
  e.add_bin(bin(kT0 + kHourNs, {evidence(*bb.b, nine, {0}, kT0 + kHourNs, 5),
                                evidence(*bb.b, ten, {0}, kT0 + kHourNs, 5)}));
  auto rs = e.close_until(kT0 + kDayNs);
  const WindowReport* h0 = find(rs, WindowKind::kHour, kT0);
  const WindowReport* h1 = find(rs, WindowKind::kHour, kT0 + kHourNs);
  const WindowReport* day = find(rs, WindowKind::kDay, kT0);
  BOOST_REQUIRE(h0 && h1 && day);
  BOOST_REQUIRE_EQUAL(h0->detections.size(), 2u);
  BOOST_TEST(h0->detections[0].packets == 9u);
  BOOST_TEST(!h0->detections[0].active);
  BOOST_TEST(h0->detections[1].packets == 10u);
  BOOST_TEST(h0->detections[1].active);
  BOOST_TEST(h0->service_counts[0].lines == 2u);
  BOOST_TEST(h0->service_counts[0].active_lines == 1u);
  BOOST_TEST(h1->service_counts[0].active_lines == 0u);
  // Daily: 14 and 15 packets in total, but only the 10-packet hour makes a line active.
  BOOST_REQUIRE_EQUAL(day->detections.size(), 2u);
  BOOST_TEST(day->detections[0].packets == 14u);
  BOOST_TEST(!day->detections[0].active);
  BOOST_TEST(day->detections[1].packets == 15u);
  BOOST_TEST(day->detections[1].active);
  BOOST_TEST(day->detections[1].active_hours == 1u);

  DetectionConfig c;
  c.active_min_packets = 9;
  DetectionEngine e9(c, bb.b, Pseudonymizer::disabled());
  e9.add_bin(bin(kT0, {evidence(*bb.b, nine, {0}, kT0, 9)}));
  auto r9 = e9.close_until(kT0 + kHourNs);
  BOOST_REQUIRE_EQUAL(r9.size(), 1u);
  BOOST_TEST(r9[0].detections.at(0).active);
}

BOOST_AUTO_TEST_CASE(hourly_vs_daily_windows) {
  BundleBuilder bb;
  bb.flat("vendor", 1, 4);  // N=5, k=2
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  LineId l = line_n(7);
  // 00:10 the primary only, 03:20 one support domain only: no hour satisfies the rule,
  // the day does.
  e.add_bin(bin(kT0 + 10 * kMin, {evidence(*bb.b, l, {0}, kT0 + 10 * kMin)}));
  e.add_bin(bin(kT0 + 3 * kHourNs + 20 * kMin,
                {evidence(*bb.b, l, {3}, kT0 + 3 * kHourNs + 20 * kMin)}));
  BOOST_TEST(e.close_until(kT0 + kHourNs - 1).empty());  // nothing has ended yet
  auto rs = e.close_until(kT0 + 4 * kHourNs);
  BOOST_REQUIRE_EQUAL(rs.size(), 2u);  // hours 0 and 3; the day is still open
  for (const auto& r : rs) {
    BOOST_TEST((r.kind == WindowKind::kHour));
    BOOST_TEST(r.detections.empty());
    BOOST_TEST(r.lines == 1u);
  }
  auto rd = e.close_until(kT0 + kDayNs);
  BOOST_REQUIRE_EQUAL(rd.size(), 1u);
  BOOST_TEST((rd[0].kind == WindowKind::kDay));
  BOOST_TEST(rd[0].start_ns == kT0);
  BOOST_TEST(rd[0].end_ns == kT0 + kDayNs);
  BOOST_REQUIRE_EQUAL(rd[0].detections.size(), 1u);
  BOOST_TEST(rd[0].detections[0].domains ==
             std::vector<std::string>({"p0.vendor.example", "s2.vendor-cdn.example"}));
  BOOST_TEST(rd[0].detections[0].first_seen_ns == kT0 + 10 * kMin);
  BOOST_TEST(rd[0].detections[0].last_seen_ns == kT0 + 3 * kHourNs + 20 * kMin);
  BOOST_REQUIRE_EQUAL(rd[0].new_detections.size(), 1u);
  BOOST_TEST((rd[0].new_detections[0].kind == WindowKind::kDay));

  // A bin for an hour that has already closed is late: it only reaches the open day.
  e.add_bin(bin(kT0 + kDayNs + 2 * kHourNs, {evidence(*bb.b, l, {0, 1}, kT0 + kDayNs + 2 * kHourNs)}));
  e.close_until(kT0 + kDayNs + 3 * kHourNs);
  e.add_bin(bin(kT0 + kDayNs + 2 * kHourNs, {evidence(*bb.b, l, {0}, kT0 + kDayNs + 2 * kHourNs)}));
  BOOST_TEST(e.late_bins() == 1u);
  auto rest = e.close_all();
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_TEST((rest[0].kind == WindowKind::kDay));
}

BOOST_AUTO_TEST_CASE(evidence_of_several_workers_is_merged) {
  BundleBuilder bb;
  bb.flat("vendor", 1, 4);  // k = 2
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  LineId l = line_n(9);
  e.add_bin(bin(kT0, {evidence(*bb.b, l, {0}, kT0)}));               // worker 0
  e.add_bin(bin(kT0, {evidence(*bb.b, l, {4}, kT0 + 30 * kMin, 2)}));  // worker 1
  auto rs = e.close_until(kT0 + kHourNs);
  BOOST_REQUIRE_EQUAL(rs.size(), 1u);
  BOOST_REQUIRE_EQUAL(rs[0].detections.size(), 1u);
  BOOST_TEST(rs[0].detections[0].packets == 3u);
  BOOST_TEST(rs[0].lines == 1u);
}

BOOST_AUTO_TEST_CASE(time_to_first_detection) {
  BundleBuilder bb;
  bb.flat("vendor", 1, 4);  // k = 2
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  LineId l = line_n(3);
  e.add_bin(bin(kT0 + 10 * kMin, {evidence(*bb.b, l, {0}, kT0 + 10 * kMin)}));  // hour 0: 1 of 2
  e.add_bin(bin(kT0 + kHourNs, {evidence(*bb.b, l, {0, 1}, kT0 + kHourNs + kMin)}));  // hour 1
  e.add_bin(bin(kT0 + 2 * kHourNs, {evidence(*bb.b, l, {0, 2}, kT0 + 2 * kHourNs)}));  // hour 2
  auto rs = e.close_until(kT0 + kDayNs);
  const WindowReport* h1 = find(rs, WindowKind::kHour, kT0 + kHourNs);
  const WindowReport* h2 = find(rs, WindowKind::kHour, kT0 + 2 * kHourNs);
  const WindowReport* day = find(rs, WindowKind::kDay, kT0);
  BOOST_REQUIRE(h1 && h2 && day);
  BOOST_TEST(find(rs, WindowKind::kHour, kT0)->detections.empty());
  BOOST_REQUIRE_EQUAL(h1->new_detections.size(), 1u);
  const FirstDetection& fd = h1->new_detections[0];
  BOOST_TEST(fd.line == "100.64.0.3/32");
  BOOST_TEST(fd.service_key == "vendor");
  BOOST_TEST((fd.kind == WindowKind::kHour));
  BOOST_TEST(fd.window_start_ns == kT0 + kHourNs);
  BOOST_TEST(fd.detected_at_ns == kT0 + 2 * kHourNs);
  BOOST_TEST(fd.line_first_seen_ns == kT0 + 10 * kMin);
  BOOST_TEST(fd.time_to_detect_ns == 2 * kHourNs - 10 * kMin);
  BOOST_TEST(h2->detections.size() == 1u);
  BOOST_TEST(h2->new_detections.empty());   // already detected
  BOOST_TEST(day->detections.size() == 1u);
  BOOST_TEST(day->new_detections.empty());
  // Next day: detected again, still no new event; the earliest detection is kept.
  e.add_bin(bin(kT0 + kDayNs, {evidence(*bb.b, l, {0, 1}, kT0 + kDayNs)}));
  auto r2 = e.close_all();
  for (const auto& r : r2) BOOST_TEST(r.new_detections.empty());
  auto all = e.first_detections();
  BOOST_REQUIRE_EQUAL(all.size(), 1u);
  BOOST_TEST(all[0].detected_at_ns == kT0 + 2 * kHourNs);
}

BOOST_AUTO_TEST_CASE(mirai_like_scan_events) {
  BundleBuilder bb;
  bb.flat("camera", 1, 0);
  DetectionEngine e(DetectionConfig{}, bb.b, Pseudonymizer::disabled());
  auto scanning = [&](LineId l, int targets, bool iot) {
    LineBinEvidence ev = iot ? evidence(*bb.b, l, {0}, kT0) : LineBinEvidence{};
    ev.line = l;
    for (int i = 0; i < targets; ++i) {
      add_scan_port_attempt(ev, v4(10, 1, uint8_t(i / 200), uint8_t(i % 200)));
      add_scan_port_attempt(ev, v4(10, 1, uint8_t(i / 200), uint8_t(i % 200)));  // same target
    }
    return ev;
  };
  e.add_bin(bin(kT0, {scanning(line_n(1), 20, true), scanning(line_n(2), 21, true),
                      scanning(line_n(3), 50, false)}));
  auto rs = e.close_until(kT0 + kHourNs);
  BOOST_REQUIRE_EQUAL(rs.size(), 1u);
  BOOST_REQUIRE_EQUAL(rs[0].scan_events.size(), 1u);  // 20 is not > 20; no-IoT line ignored
  const ScanPortEvent& ev = rs[0].scan_events[0];
  BOOST_TEST(ev.line == "100.64.0.2/32");
  BOOST_TEST(ev.destinations == 21u);
  BOOST_TEST(ev.connections == 42u);
  BOOST_TEST(ev.services == std::vector<std::string>({"camera"}));
  BOOST_TEST(is_scan_port(23));
  BOOST_TEST(is_scan_port(2323));
  BOOST_TEST(is_scan_port(22));
  BOOST_TEST(!is_scan_port(80));
}

BOOST_AUTO_TEST_CASE(bounded_distinct_set_merges_and_saturates) {
  BoundedDistinctSet a, b;
  for (uint64_t i = 0; i < 10; ++i) a.insert(i);
  for (uint64_t i = 5; i < 15; ++i) b.insert(i);
  a.insert(3);
  a.merge(b);
  BOOST_TEST(a.size() == 15u);
  BOOST_TEST(!a.saturated());
  BoundedDistinctSet big;
  for (uint64_t i = 0; i < BoundedDistinctSet::kCapacity + 5; ++i) big.insert(i * 7);
  BOOST_TEST(big.saturated());
  BOOST_TEST(big.count() == BoundedDistinctSet::kCapacity);
  a.merge(big);
  BOOST_TEST(a.saturated());
  BOOST_TEST(a.size() == BoundedDistinctSet::kCapacity);
}

BOOST_AUTO_TEST_CASE(line_ids_mask_host_bits) {
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0xff,
                    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  LineId l = LineId::of(IpAddr::from_v6(a6), 56);
  BOOST_TEST(l.to_string() == "2001:db8:1234:5600::/56");
  BOOST_TEST(LineId::of(v4(10, 1, 2, 3), 24).to_string() == "10.1.2.0/24");
  BOOST_TEST(LineId::of(v4(10, 1, 2, 3), 99).to_string() == "10.1.2.3/32");
  BOOST_TEST((LineId::of(v4(10, 1, 2, 3), 24) == LineId::of(v4(10, 1, 2, 200), 24)));
}

BOOST_AUTO_TEST_CASE(bundle_reload_remaps_open_windows) {
  BundleBuilder old_b;
  old_b.flat("vendor", 1, 4);
  DetectionEngine e(DetectionConfig{}, old_b.b, Pseudonymizer::disabled());
  LineId l = line_n(4);
  e.add_bin(bin(kT0, {evidence(*old_b.b, l, {0}, kT0)}));
  // New generation: another service first, so every id moves; same fqdns and keys.
  BundleBuilder nb;
  nb.flat("other", 1, 0);
  ServiceId v = nb.flat("vendor", 1, 4);
  e.set_bundle(nb.b);
  e.add_bin(bin(kT0 + kMin, {evidence(*nb.b, l, {3}, kT0 + kMin)}));  // s1.vendor-cdn.example
  auto rs = e.close_until(kT0 + kHourNs);
  BOOST_REQUIRE_EQUAL(rs.size(), 1u);
  BOOST_REQUIRE_EQUAL(rs[0].detections.size(), 1u);
  BOOST_TEST(rs[0].detections[0].service == v);
  BOOST_TEST(rs[0].detections[0].packets == 2u);
  BOOST_TEST(rs[0].detections[0].domains ==
             std::vector<std::string>({"p0.vendor.example", "s1.vendor-cdn.example"}));
}

BOOST_AUTO_TEST_CASE(bundle_id_map_translates_old_generation_evidence) {
  BundleBuilder ob;
  ServiceId cam = ob.flat("cam", 1, 2);   // domains 0 p0.cam, 1 s0.cam-cdn, 2 s1.cam-cdn
  ServiceId gone = ob.flat("gone", 1, 0);  // domain 3, absent from the new bundle
  BundleBuilder nb;
  nb.flat("other", 2, 0);                   // domains 0, 1
  ServiceId ncam = nb.flat("cam", 1, 1);    // domains 2 p0.cam, 3 s0.cam-cdn (s1 dropped)
  BundleIdMap m(*ob.b, *nb.b);
  BOOST_TEST(m.domain(0) == 2);
  BOOST_TEST(m.domain(1) == 3);
  BOOST_TEST(m.domain(2) == -1);
  BOOST_TEST(m.domain(3) == -1);
  BOOST_TEST(m.domain(99) == -1);
  BOOST_TEST(m.service(cam) == int64_t(ncam));
  BOOST_TEST(m.service(gone) == -1);

  LineBinEvidence ev = evidence(*ob.b, line_n(1), {0, 1, 2, 3}, kT0, 2);
  m.apply(ev);
  BOOST_TEST(ev.domains == ids({2, 3}));
  BOOST_REQUIRE_EQUAL(ev.services.size(), 1u);
  BOOST_TEST(ev.services[0].service == ncam);
  BOOST_TEST(ev.services[0].packets == 6u);  // 3 cam domains x 2; "gone" dropped
  BOOST_TEST(ev.services[0].bytes == 600u);
  BOOST_TEST(ev.backend_ips.size() == 4u);   // server IPs are not bundle ids: kept
}

BOOST_AUTO_TEST_CASE(service_outage_compares_the_same_hour_a_day_before) {
  ServiceOutageDetector d(OutageConfig{true, 30.0, 10});
  const uint64_t h = kT0 + 5 * kHourNs;
  using Counts = std::map<std::string, uint64_t>;
  BOOST_TEST(d.observe_hour(h, Counts{{"cam", 20}, {"plug", 10}, {"tv", 9}, {"hub", 40}}).empty());
  BOOST_TEST(d.observe_hour(h + kHourNs, Counts{{"cam", 0}}).empty());  // no day-before hour
  // 24 h later: cam 20 -> 14 is exactly 30 % (not more), plug 10 -> 6 is 40 %, tv had
  // fewer than min_lines, hub 40 -> 50 grew.
  auto ev = d.observe_hour(h + kDayNs, Counts{{"cam", 14}, {"plug", 6}, {"tv", 0}, {"hub", 50}});
  BOOST_REQUIRE_EQUAL(ev.size(), 1u);
  BOOST_TEST(ev[0].service_key == "plug");
  BOOST_TEST(ev[0].hour_start_ns == h + kDayNs);
  BOOST_TEST(ev[0].lines == 6u);
  BOOST_TEST(ev[0].lines_day_before == 10u);
  BOOST_TEST(ev[0].drop_percent == 40.0);
  // cam 20 -> 13 (35 %) one hour later is compared with that hour's day-before count (0).
  BOOST_TEST(d.observe_hour(h + kDayNs + kHourNs, Counts{{"cam", 0}}).empty());
  ServiceOutageDetector off(OutageConfig{false, 30.0, 10});
  off.observe_hour(h, Counts{{"cam", 20}});
  BOOST_TEST(off.observe_hour(h + kDayNs, Counts{{"cam", 0}}).empty());
}

BOOST_AUTO_TEST_CASE(invalid_config_and_bundle_are_rejected) {
  BundleBuilder bb;
  bb.flat("vendor", 1, 1);
  DetectionConfig c;
  c.fraction_d = 0.0;
  BOOST_CHECK_THROW(DetectionEngine(c, bb.b, Pseudonymizer::disabled()), std::invalid_argument);
  c = DetectionConfig{};
  c.scanner_max_backend_ips = BoundedDistinctSet::kCapacity;
  BOOST_CHECK_THROW(DetectionEngine(c, bb.b, Pseudonymizer::disabled()), std::invalid_argument);
  auto bad = std::make_shared<hitlist::Bundle>(*bb.b);
  bad->services[0].parent = 42;
  BOOST_CHECK_THROW(RuleSet(bad, DetectionConfig{}), std::invalid_argument);
  BOOST_CHECK_THROW(RuleSet(nullptr, DetectionConfig{}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
