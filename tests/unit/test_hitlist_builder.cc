// Hitlist builder (docs/hitlist-builder.md): input parsers with exact file:line: field
// errors, each METHODS §3 step on hand-computed inputs, a whole build rendered to exact
// text, and the real BehavIoT catalog + intl-iot passive DNS end to end.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "signatures/catalog.h"
#include "signatures/dns_records.h"
#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_loader.h"
#include "signatures/psl.h"
#include "tests/unit/ip_literal.h"

using namespace haystack;
using namespace haystack::hitlist;
using haystack::test::ip;

namespace {

// A small list: com, net, org, io are suffixes; everything else uses the default rule.
const PublicSuffixList& small_psl() {
  static const auto psl = PublicSuffixList::parse("com\nnet\norg\nio\n", "t.psl");
  return psl;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const HitlistError& e) {
    return e.what();
  }
  return "no error";
}

std::string catalog_error(const std::string& text) {
  return error_of([&] { parse_catalog(text, "t.catalog"); });
}
std::string dns_error(const std::string& text) {
  return error_of([&] { parse_dns_records(text, "t.dns"); });
}

// "always" = 1970 .. 2099: inside every window.
std::vector<DnsRecord> dns(const std::string& body) {
  return parse_dns_records("dns 1\n" + body, "t.dns");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(builder_inputs)

BOOST_AUTO_TEST_CASE(catalog_parses_services_uses_and_ports) {
  const auto c = parse_catalog(
      "catalog 1\n"
      "# comment\n"
      "service p platform - The Platform\n"
      "service m manufacturer p  Maker  Inc \n"
      "domain API.Vendor.COM. m primary udp/any tcp/443\n"
      "domain ntp.pool.org m generic\n",
      "t.catalog");
  BOOST_TEST(c.services.size() == 2u);
  BOOST_TEST(c.services[1].name == "Maker  Inc");
  BOOST_TEST(c.services[1].parent == "p");
  BOOST_TEST(c.services[1].line == 4);
  BOOST_TEST(c.uses.size() == 2u);
  BOOST_TEST(c.uses[0].fqdn == "api.vendor.com");
  BOOST_TEST(c.uses[0].ports.size() == 2u);
  BOOST_TEST(port_spec_text(c.uses[0].ports[0]) == "tcp/443");
  BOOST_TEST(port_spec_text(c.uses[0].ports[1]) == "udp/any");
  BOOST_TEST(catalog_role_name(c.uses[1].role) == "generic");
  BOOST_TEST(c.uses[1].ports.empty());
}

BOOST_AUTO_TEST_CASE(catalog_errors_name_file_line_field) {
  const std::string h = "catalog 1\nservice p platform - P\n";  // lines 1-2
  BOOST_TEST(catalog_error("") == "t.catalog:0: catalog.version: missing 'catalog 1' header");
  BOOST_TEST(catalog_error("catalog 2\n") ==
             "t.catalog:1: catalog.version: unsupported version '2'");
  BOOST_TEST(catalog_error(h + "service q platform -\n") ==
             "t.catalog:3: service: expected: service <key> <level> <parent|-> <name>");
  BOOST_TEST(catalog_error(h + "service q vendor - Q\n") ==
             "t.catalog:3: service.level: level 'vendor' is not platform, manufacturer or product");
  BOOST_TEST(catalog_error(h + "service P! platform - Q\n") ==
             "t.catalog:3: service.key: invalid key 'P!'");
  BOOST_TEST(catalog_error(h + "service p platform - Q\n") ==
             "t.catalog:3: service.key: duplicate key 'p'");
  BOOST_TEST(catalog_error(h + "service q product nope Q\n") ==
             "t.catalog:3: service.parent: unknown parent 'nope'");
  BOOST_TEST(catalog_error(h + "service q platform p Q\n") ==
             "t.catalog:3: service.parent: parent 'p' must be at a higher level than platform");
  BOOST_TEST(catalog_error(h + "domain a..b p primary\n") ==
             "t.catalog:3: domain.fqdn: invalid name 'a..b'");
  BOOST_TEST(catalog_error(h + "domain a.com p main\n") ==
             "t.catalog:3: domain.role: role 'main' is not primary, support or generic");
  BOOST_TEST(catalog_error(h + "domain a.com p primary tcp/0\n") ==
             "t.catalog:3: domain.port: 'tcp/0' is not <tcp|udp|any>/<1..65535|any>");
  BOOST_TEST(catalog_error(h + "domain a.com p primary sctp/1\n") ==
             "t.catalog:3: domain.port: 'sctp/1' is not <tcp|udp|any>/<1..65535|any>");
  BOOST_TEST(catalog_error(h + "domain a.com p primary tcp/443 tcp/443\n") ==
             "t.catalog:3: domain.port: a protocol/port is listed twice");
  BOOST_TEST(catalog_error(h + "domain a.com p primary\ndomain A.com. p support\n") ==
             "t.catalog:4: domain.service: domain 'a.com' listed twice for service 'p'");
  BOOST_TEST(catalog_error(h + "domain a.com q primary\n") ==
             "t.catalog:3: domain.service: unknown service 'q'");
  BOOST_TEST(catalog_error(h + "device x\n") ==
             "t.catalog:3: record: unknown record type 'device'");
  BOOST_TEST(catalog_error(h + "domain a.com p pri\x01mary\n") ==
             "t.catalog:3: line: control character");
  BOOST_TEST(error_of([] { load_catalog("/nonexistent/c"); }) ==
             "/nonexistent/c:0: file: cannot open: No such file or directory");
}

BOOST_AUTO_TEST_CASE(dns_records_parse) {
  const auto r =
      dns("Api.Vendor.com. CNAME lb.vendor.com 10 20\r\n"
          "lb.vendor.com A 192.0.2.1 10 10\n"
          "lb.vendor.com AAAA 2001:db8::1 0 4102444799\n");
  BOOST_TEST(r.size() == 3u);
  BOOST_TEST(r[0].name == "api.vendor.com");
  BOOST_TEST(r[0].target == "lb.vendor.com");
  BOOST_TEST(r[0].first_seen == 10);
  BOOST_TEST(r[0].line == 2);
  BOOST_TEST((r[1].type == RrType::kA && r[1].addr == ip("192.0.2.1")));
  BOOST_TEST((r[2].type == RrType::kAaaa && r[2].addr == ip("2001:db8::1")));
  BOOST_TEST(format_ip(r[2].addr) == "2001:db8::1");
}

BOOST_AUTO_TEST_CASE(dns_errors_name_file_line_field) {
  BOOST_TEST(dns_error("") == "t.dns:0: dns.version: missing 'dns 1' header");
  BOOST_TEST(dns_error("a.com A 192.0.2.1 1 2\n") ==
             "t.dns:1: dns.version: first record must be 'dns 1'");
  BOOST_TEST(dns_error("dns 1\na.com A 192.0.2.1 1\n") ==
             "t.dns:2: record: expected 5 fields (name rrtype value first_seen last_seen), got 4");
  BOOST_TEST(dns_error("dns 1\na.com MX mx.a.com 1 2\n") ==
             "t.dns:2: dns.rrtype: rrtype 'MX' is not A, AAAA or CNAME");
  BOOST_TEST(dns_error("dns 1\na.com A 2001:db8::1 1 2\n") ==
             "t.dns:2: dns.value: A value '2001:db8::1' is not an IPv4 address");
  BOOST_TEST(dns_error("dns 1\na.com AAAA ::ffff:192.0.2.1 1 2\n") ==
             "t.dns:2: dns.value: AAAA value '::ffff:192.0.2.1' is IPv4-mapped; use an A record");
  BOOST_TEST(dns_error("dns 1\na.com CNAME A.com. 1 2\n") ==
             "t.dns:2: dns.value: CNAME points to itself");
  BOOST_TEST(dns_error("dns 1\na_b..com A 192.0.2.1 1 2\n") ==
             "t.dns:2: dns.name: invalid name 'a_b..com'");
  BOOST_TEST(dns_error("dns 1\na.com A 192.0.2.1 -1 2\n") ==
             "t.dns:2: dns.first_seen: '-1' is not Unix seconds");
  BOOST_TEST(dns_error("dns 1\na.com A 192.0.2.1 5 4\n") ==
             "t.dns:2: dns.last_seen: before first_seen");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(builder_steps)

BOOST_AUTO_TEST_CASE(step1_drop_generic_merges_uses_and_ports) {
  const auto c = parse_catalog(
      "catalog 1\n"
      "service p platform - P\n"
      "service m manufacturer p M\n"
      "service x product m X\n"
      "domain a.vendor.com x support udp/any\n"
      "domain a.vendor.com m primary tcp/443\n"
      "domain ntp.pool.org m generic\n"
      "domain cdn.net x generic\n"
      "domain cdn.net m support\n"
      "domain any.vendor.com m primary tcp/443\n"
      "domain any.vendor.com x primary\n",
      "t.catalog");
  GenericDrop g;
  const auto cands = drop_generic(c, g);
  BOOST_TEST(g.generic_uses == 2u);
  BOOST_TEST(g.dropped_domains == std::vector<std::string>{"ntp.pool.org"});
  BOOST_REQUIRE(cands.size() == 3u);
  BOOST_TEST(cands[0].fqdn == "a.vendor.com");
  BOOST_TEST((cands[0].uses ==
              std::vector<std::pair<size_t, Role>>{{1, Role::kPrimary}, {2, Role::kSupport}}));
  BOOST_TEST(cands[0].ports.size() == 2u);
  BOOST_TEST(port_spec_text(cands[0].ports[0]) == "tcp/443");
  BOOST_TEST(port_spec_text(cands[0].ports[1]) == "udp/any");
  BOOST_TEST(cands[1].fqdn == "any.vendor.com");
  BOOST_TEST(cands[1].ports.empty());  // a use without ports means any/any, covering tcp/443
  BOOST_TEST(cands[2].fqdn == "cdn.net");
  BOOST_TEST((cands[2].uses == std::vector<std::pair<size_t, Role>>{{1, Role::kSupport}}));
}

BOOST_AUTO_TEST_CASE(step2_sld) {
  const auto psl = PublicSuffixList::parse("com\nuk\nco.uk\n*.ck\n!www.ck\n", "t.psl");
  BOOST_TEST(sld_of(psl, "a.b.vendor.co.uk") == "vendor.co.uk");
  BOOST_TEST(sld_of(psl, "co.uk") == "co.uk");  // a public suffix is its own group
  BOOST_TEST(sld_of(psl, "x.y.ck") == "x.y.ck");
  BOOST_TEST(sld_of(psl, "a.www.ck") == "www.ck");
  BOOST_TEST(sld_of(psl, "mqtt.eu.vendor.com") == "vendor.com");
}

BOOST_AUTO_TEST_CASE(dns_graph_follows_cname_chains_both_ways) {
  const auto r =
      dns("api.vendor.com CNAME api.vendor.com.edge.cdn.net 0 4102444799\n"
          "api.vendor.com.edge.cdn.net CNAME e1.cdn.net 0 4102444799\n"
          "e1.cdn.net A 192.0.2.1 0 4102444799\n"
          "other.shop.com A 192.0.2.1 0 4102444799\n"
          "loop1.vendor.com CNAME loop2.vendor.com 0 4102444799\n"
          "loop2.vendor.com CNAME loop1.vendor.com 0 4102444799\n");
  const DnsGraph g(r, 0, 4102444799);
  BOOST_TEST(g.records_used() == 6u);
  BOOST_TEST((g.resolve("api.vendor.com") == IpSet{ip("192.0.2.1")}));
  BOOST_TEST(g.resolve("loop1.vendor.com").empty());  // a CNAME loop ends, resolving nothing
  BOOST_TEST(g.resolve("unknown.vendor.com").empty());
  BOOST_TEST((g.names_on(ip("192.0.2.1")) ==
              std::set<std::string>{"api.vendor.com", "api.vendor.com.edge.cdn.net", "e1.cdn.net",
                                    "other.shop.com"}));
}

BOOST_AUTO_TEST_CASE(dns_graph_depth_limit_and_window) {
  // n0 -> n1 -> ... -> n16 is 16 hops (resolves); n0 -> ... -> n17 is 17 (does not).
  std::string chain;
  for (int i = 0; i < 17; ++i)
    chain += "n" + std::to_string(i) + ".a.com CNAME n" + std::to_string(i + 1) + ".a.com 0 9\n";
  const auto r16 = dns(chain + "n16.a.com A 192.0.2.16 0 9\n");
  const auto r17 = dns(chain + "n17.a.com A 192.0.2.17 0 9\n");
  BOOST_TEST(DnsGraph::kMaxCnameDepth == 16);
  BOOST_TEST(DnsGraph(r16, 0, 9).resolve("n0.a.com").size() == 1u);
  BOOST_TEST(DnsGraph(r17, 0, 9).resolve("n0.a.com").empty());
  BOOST_TEST(DnsGraph(r17, 0, 9).resolve("n1.a.com").size() == 1u);

  const auto w =
      dns("a.com A 192.0.2.1 100 200\n"    // ends before the window
          "b.com A 192.0.2.2 150 201\n"    // last_seen == window start: counts
          "c.com A 192.0.2.3 300 300\n"    // first_seen == window end: counts
          "d.com A 192.0.2.4 301 400\n");  // starts after
  const DnsGraph g(w, 201, 300);
  BOOST_TEST(g.records_used() == 2u);
  BOOST_TEST(g.resolve("a.com").empty());
  BOOST_TEST(g.resolve("b.com").size() == 1u);
  BOOST_TEST(g.resolve("c.com").size() == 1u);
  BOOST_TEST(g.resolve("d.com").empty());
}

BOOST_AUTO_TEST_CASE(step3_ip_dedicated_when_one_sld_through_cnames) {
  const auto r = dns(
      // 192.0.2.1: names from three SLDs via a CDN CNAME chain -> shared.
      "api.vendor.com CNAME api.vendor.com.edge.cdn.net 0 9\n"
      "api.vendor.com.edge.cdn.net CNAME e1.cdn.net 0 9\n"
      "e1.cdn.net A 192.0.2.1 0 9\n"
      "other.shop.com A 192.0.2.1 0 9\n"
      // 192.0.2.2: two vendor.com names, one through a CNAME -> dedicated.
      "mqtt.vendor.com A 192.0.2.2 0 9\n"
      "fw.eu.vendor.com CNAME mqtt.vendor.com 0 9\n"
      // 192.0.2.3: vendor.com and vendor.io are different SLDs -> shared.
      "x.vendor.com A 192.0.2.3 0 9\n"
      "x.vendor.io A 192.0.2.3 0 9\n"
      // the public suffix io itself on an IP is its own group
      "io AAAA 2001:db8::4 0 9\n");
  const DnsGraph g(r, 0, 9);
  const auto& psl = small_psl();
  const auto v1 = classify_ip(g, psl, ip("192.0.2.1"));
  BOOST_TEST(!v1.dedicated);
  BOOST_TEST((v1.slds == std::set<std::string>{"cdn.net", "shop.com", "vendor.com"}));
  const auto v2 = classify_ip(g, psl, ip("192.0.2.2"));
  BOOST_TEST(v2.dedicated);
  BOOST_TEST((v2.slds == std::set<std::string>{"vendor.com"}));
  BOOST_TEST(!classify_ip(g, psl, ip("192.0.2.3")).dedicated);
  const auto v4 = classify_ip(g, psl, ip("2001:db8::4"));
  BOOST_TEST(v4.dedicated);
  BOOST_TEST((v4.slds == std::set<std::string>{"io"}));
  BOOST_TEST(classify_ip(g, psl, ip("192.0.2.99")).slds.empty());  // no names: not dedicated
}

BOOST_AUTO_TEST_CASE(step4_domain_kept_only_if_all_ips_dedicated) {
  const auto r =
      dns("hub.vendor.com A 192.0.2.2 0 9\n"
          "hub.vendor.com A 192.0.2.3 0 9\n"
          "x.vendor.io A 192.0.2.3 0 9\n"
          "fw.vendor.com A 192.0.2.2 0 9\n");
  const DnsGraph g(r, 0, 9);
  std::map<IpAddr, IpVerdict, IpLess> ips;
  for (const char* a : {"192.0.2.2", "192.0.2.3"}) ips[ip(a)] = classify_ip(g, small_psl(), ip(a));
  const auto hub = classify_domain(g, "hub.vendor.com", ips);
  BOOST_TEST((hub.status == DomainStatus::kShared));
  BOOST_TEST((hub.ips == IpSet{ip("192.0.2.2"), ip("192.0.2.3")}));
  BOOST_TEST((hub.shared_ips == IpSet{ip("192.0.2.3")}));
  const auto fw = classify_domain(g, "fw.vendor.com", ips);
  BOOST_TEST((fw.status == DomainStatus::kDedicated));
  BOOST_TEST((classify_domain(g, "gone.vendor.com", ips).status == DomainStatus::kUnresolved));
}

BOOST_AUTO_TEST_CASE(step5_detection_level_falls_back_to_nearest_sufficient_ancestor) {
  const auto c = parse_catalog(
      "catalog 1\n"
      "service p platform - P\n"
      "service m manufacturer p M\n"
      "service x product m X\n"
      "service y product m Y\n"
      "service q manufacturer - Q\n",
      "t.catalog");
  std::vector<ServiceTally> t(5);
  t[0].primary = t[0].primary_dedicated = 1;
  t[1].primary = 3;
  t[2].primary = t[2].primary_dedicated = 2;
  t[3].primary = 1;
  const auto l1 = service_levels(c, t, 1);
  BOOST_TEST(l1[0].sufficient);
  BOOST_TEST(!l1[1].sufficient);
  BOOST_TEST((l1[0].detected_as == std::optional<size_t>(0)));
  BOOST_TEST((l1[1].detected_as == std::optional<size_t>(0)));  // m -> p
  BOOST_TEST((l1[2].detected_as == std::optional<size_t>(2)));  // x itself
  BOOST_TEST((l1[3].detected_as == std::optional<size_t>(0)));  // y -> m -> p
  BOOST_TEST(!l1[4].detected_as.has_value());                   // q: not detectable
  const auto l2 = service_levels(c, t, 2);  // only x has two dedicated primaries
  BOOST_TEST((l2[2].detected_as == std::optional<size_t>(2)));
  BOOST_TEST(!l2[0].detected_as.has_value());
  BOOST_TEST(!l2[3].detected_as.has_value());
}

BOOST_AUTO_TEST_CASE(step6_drop_reasons) {
  ServiceTally none;
  BOOST_TEST(drop_reason(none, 1, {}) ==
             "no primary domain in the catalog (after dropping generic ones)");
  ServiceTally t;
  t.primary = 3;
  t.primary_dedicated = 1;
  BOOST_TEST(drop_reason(t, 2,
                         {"a.com has no address in the DNS window",
                          "b.com is on shared IP 192.0.2.1 (SLDs b.com c.net)"}) ==
             "1 of 3 primary domains dedicated, need 2; a.com has no address in the DNS window; "
             "b.com is on shared IP 192.0.2.1 (SLDs b.com c.net)");
}

BOOST_AUTO_TEST_CASE(dates) {
  BOOST_TEST(days_from_date("1970-01-01") == 0);
  BOOST_TEST(days_from_date("2026-11-01") * 86400 == 1793491200);
  BOOST_TEST(date_from_days(days_from_date("2024-02-29") + 1) == "2024-03-01");
  BuildOptions bad;
  bad.date = "2026-02-30";
  BOOST_TEST(error_of([&] { build({}, {}, small_psl(), bad); }) ==
             "options:0: option.date: '2026-02-30' is not YYYY-MM-DD");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(builder_build)

// maker's only primary domain is on a CDN IP shared with other SLDs, so maker is dropped
// and gadget hangs under plat; other has no primary domain at all.
const char* kCatalog =
    "catalog 1\n"
    "service plat platform - Platform\n"
    "service maker manufacturer plat Maker\n"
    "service gadget product maker Gadget\n"
    "service other manufacturer - Other\n"
    "domain api.plat.com plat primary tcp/443\n"
    "domain fw.maker.com maker primary\n"
    "domain hub.gadget.io gadget primary tcp/8883 udp/any\n"
    "domain img.gadget.io gadget support\n"
    "domain pool.ntp.org gadget generic\n"
    "domain only.other.net other support\n";
const char* kDns =
    "api.plat.com A 192.0.2.10 1793491200 1793577599\n"
    "fw.maker.com CNAME fw.maker.com.cdn.example.net 1793491200 1793577599\n"
    "fw.maker.com.cdn.example.net A 198.51.100.7 1793491200 1793577599\n"
    "www.shop.org A 198.51.100.7 1793491200 1793577599\n"
    "hub.gadget.io A 192.0.2.20 1793491200 1793577599\n"
    "hub.gadget.io AAAA 2001:db8::20 1793491200 1793577599\n"
    "img.gadget.io A 192.0.2.20 1793491200 1793577599\n"
    "img.gadget.io A 192.0.2.99 1793404800 1793491199\n";  // the day before: outside

BuildResult small_build() {
  BuildOptions opt;
  opt.date = "2026-11-01";
  opt.catalog_name = "t.catalog";
  opt.dns_names = {"t.dns"};
  opt.psl_name = "t.psl";
  return build(parse_catalog(kCatalog, "t.catalog"), {dns(kDns)}, small_psl(), opt);
}

BOOST_AUTO_TEST_CASE(bundle_text_is_exact_and_loads) {
  const auto r = small_build();
  const std::string want =
      "# Haystack hitlist bundle built by haystack-hitlist build (docs/hitlist-builder.md)\n"
      "hitlist 1\n"
      "valid_from 2026-11-01\n"
      "valid_until 2026-11-01\n"
      "provenance built by haystack-hitlist build (METHODS §3)\n"
      "provenance catalog t.catalog\n"
      "provenance dns t.dns\n"
      "provenance psl t.psl\n"
      "provenance dns window 2026-11-01..2026-11-01, min dedicated primary domains 1\n"
      "\n"
      "service plat platform - Platform\n"
      "service gadget product plat Gadget\n"
      "\n"
      "domain api.plat.com plat:primary\n"
      "domain hub.gadget.io gadget:primary\n"
      "domain img.gadget.io gadget:support\n"
      "\n"
      "endpoint 192.0.2.10 tcp 443 api.plat.com\n"
      "endpoint 192.0.2.20 any any img.gadget.io\n"
      "endpoint 192.0.2.20 tcp 8883 hub.gadget.io\n"
      "endpoint 192.0.2.20 udp any hub.gadget.io\n"
      "endpoint 2001:db8::20 tcp 8883 hub.gadget.io\n"
      "endpoint 2001:db8::20 udp any hub.gadget.io\n";
  BOOST_TEST(write_bundle(r) == want);
  const Bundle b = parse_bundle(want, "built.hitlist");
  BOOST_TEST(b.services.size() == 2u);
  BOOST_TEST(b.services[1].parent == 0);
  BOOST_TEST(b.endpoints.size() == 6u);
}

BOOST_AUTO_TEST_CASE(report_text_is_exact) {
  const auto r = small_build();
  const auto c = parse_catalog(kCatalog, "t.catalog");
  const std::string want =
      "haystack-hitlist build report\n"
      "date 2026-11-01, DNS window 2026-11-01..2026-11-01 (1 day)\n"
      "\n"
      "inputs\n"
      "  catalog t.catalog: 4 services, 6 domain lines, 6 domains\n"
      "  dns t.dns\n"
      "  dns records: 8 (A 6, AAAA 1, CNAME 1), 7 in the window\n"
      "  psl t.psl: 4 rules (ICANN and private sections)\n"
      "\n"
      "steps\n"
      "  1 drop generic: 1 generic domain lines, 1 domains dropped, 5 candidate domains left\n"
      "  2 SLD: 4 distinct SLDs among the candidates (0 of them public suffixes themselves)\n"
      "  3 classify IPs: 4 IPs reached by candidates: 3 dedicated, 1 shared\n"
      "  4 keep domains: 3 dedicated, 1 on shared IPs, 1 without address in the window\n"
      "  5 detection levels: detectable at their own level: platform 1/1, manufacturer 0/2, "
      "product 1/1\n"
      "  6 drop services: 2 kept, 2 dropped (min 1 dedicated primary domain)\n"
      "\n"
      "output: 2 services, 3 domains, 6 endpoints\n"
      "\n"
      "dropped services (2)\n"
      "  maker (manufacturer): 0 of 1 primary domains dedicated, need 1; fw.maker.com is on "
      "shared IP 198.51.100.7 (SLDs example.net maker.com shop.org); devices detectable only as "
      "plat (platform)\n"
      "  other (manufacturer): no primary domain in the catalog (after dropping generic ones); "
      "devices not detectable\n"
      "\n"
      "kept services (2)\n"
      "  plat (platform, parent -): primary 1/1 dedicated, support 0/0 dedicated\n"
      "  gadget (product, parent plat): primary 1/1 dedicated, support 1/1 dedicated\n"
      "\n"
      "generic-only domains dropped (1)\n"
      "  pool.ntp.org\n"
      "\n"
      "domains on shared IPs (1)\n"
      "  fw.maker.com is on shared IP 198.51.100.7 (SLDs example.net maker.com shop.org)\n"
      "\n"
      "domains without address in the window (1)\n"
      "  only.other.net\n";
  BOOST_TEST(write_report(r, c) == want);
}

BOOST_AUTO_TEST_CASE(min_primary_two_drops_everything_with_one) {
  BuildOptions opt;
  opt.date = "2026-11-01";
  opt.min_primary = 2;
  const auto r = build(parse_catalog(kCatalog, "t.catalog"), {dns(kDns)}, small_psl(), opt);
  BOOST_TEST(r.bundle.services.empty());
  BOOST_TEST(r.dropped.size() == 4u);
  BOOST_TEST(r.dropped[0].reason ==
             "1 of 1 primary domains dedicated, need 2");  // gadget, first by key
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(builder_e2e)

// The real BehavIoT catalog (scripts/catalog-from-behaviot.py) and the intl-iot passive DNS
// records on the IPs of its domains (scripts/pdns-from-hosts.py --only-catalog); see
// tests/data/NOTICE and docs/hitlist-builder.md for the commands.
BuildResult real_build() {
  const std::string dir = std::string(HAYSTACK_TEST_DATA) + "/hitlist-builder/";
  BuildOptions opt;
  opt.date = "2026-11-01";
  opt.catalog_name = "behaviot.catalog";
  opt.dns_names = {"intl-iot-catalog-ips.dns"};
  opt.psl_name = kDefaultPslPath;
  return build(load_catalog(dir + "behaviot.catalog"),
               {load_dns_records(dir + "intl-iot-catalog-ips.dns")},
               PublicSuffixList::load(kDefaultPslPath), opt);
}

BOOST_AUTO_TEST_CASE(real_catalog_and_passive_dns) {
  const auto r = real_build();
  BOOST_TEST(r.catalog_services == 34u);
  BOOST_TEST(r.catalog_lines == 233u);
  BOOST_TEST(r.dns_records == 5081u);
  BOOST_TEST(r.generic.generic_uses == 79u);
  BOOST_TEST(r.generic.dropped_domains.size() == 44u);
  BOOST_TEST(r.candidates.size() == 154u);
  BOOST_TEST(r.candidate_slds.size() == 63u);
  size_t ded_ips = 0;
  for (const auto& [a, v] : r.ips) ded_ips += v.dedicated;
  BOOST_TEST(r.ips.size() == 1910u);
  BOOST_TEST(ded_ips == 1757u);
  size_t st[3] = {};
  for (const auto& [f, d] : r.domains) ++st[static_cast<int>(d.status)];
  BOOST_TEST(st[0] == 54u);  // dedicated
  BOOST_TEST(st[1] == 9u);   // shared
  BOOST_TEST(st[2] == 91u);  // no address
  BOOST_TEST(r.dropped.size() == 22u);

  const Bundle b = parse_bundle(write_bundle(r), "real.hitlist");
  BOOST_TEST(b.services.size() == 12u);
  BOOST_TEST(b.domains.size() == 52u);
  BOOST_TEST(b.endpoints.size() == 842u);
  std::string keys;
  for (const auto& s : b.services) keys += s.key + " ";
  BOOST_TEST(keys ==
             "smartthings amazon apple-homepod dlink google-home nest ring yi amazon-echo "
             "amazon-echo-show ring-doorbell samsung-fridge ");
}

BOOST_AUTO_TEST_CASE(same_inputs_give_byte_identical_output) {
  const auto a = real_build(), b = real_build();
  const auto c =
      load_catalog(std::string(HAYSTACK_TEST_DATA) + "/hitlist-builder/behaviot.catalog");
  BOOST_TEST(write_bundle(a) == write_bundle(b));
  BOOST_TEST(write_report(a, c) == write_report(b, c));
}

BOOST_AUTO_TEST_SUITE_END()
