// Hitlist loader (format validation, exact file:line: field errors) and compiled table
// (lookup precedence, IPv4/IPv6, misses, randomized check against a brute-force reference).
#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "signatures/hitlist.h"
#include "signatures/hitlist_loader.h"
#include "signatures/hitlist_synth.h"
#include "signatures/hitlist_table.h"
#include "tests/unit/ip_literal.h"

using namespace haystack;
using namespace haystack::hitlist;

namespace {

using haystack::test::ip;

const std::string kHeader =
    "hitlist 1\n"
    "valid_from 2026-11-01\n"
    "valid_until 2026-11-01\n";                     // lines 1-3
const std::string kSvcA = "service a platform - A\n"  // line 4
                          "domain a.example a:primary\n";  // line 5

struct Expect {
  int line;
  std::string field;
};

HitlistError parse_error(const std::string& text, const Limits& lim = {}) {
  try {
    parse_bundle(text, "t.hitlist", lim);
  } catch (const HitlistError& e) {
    return e;
  }
  BOOST_FAIL("no error for:\n" << text);
  throw std::logic_error("unreachable");
}

void check_error(const std::string& text, int line, const std::string& field,
                 const std::string& msg_part = "", const Limits& lim = {}) {
  const HitlistError e = parse_error(text, lim);
  BOOST_TEST_CONTEXT(e.what()) {
    BOOST_TEST(e.file() == "t.hitlist");
    BOOST_TEST(e.line() == line);
    BOOST_TEST(e.field() == field);
    const std::string prefix = "t.hitlist:" + std::to_string(line) + ": " + field + ": ";
    BOOST_TEST(std::string(e.what()).rfind(prefix, 0) == 0u);
    if (!msg_part.empty()) BOOST_TEST(e.message().find(msg_part) != std::string::npos);
  }
}

const char* kValid =
    "# Haystack hitlist, unit test\r\n"
    "hitlist 1\n"
    "valid_from 2026-11-01\n"
    "valid_until 2026-11-02\n"
    "provenance unit test | hand written\n"
    "provenance   second line  \n"
    "\n"
    "service amazon-alexa platform - Alexa Enabled\n"
    "service amazon\tmanufacturer amazon-alexa   Amazon devices\n"
    "service amazon-echo product amazon Amazon Echo (all generations)\n"
    "  # indented comment\n"
    "service tuya platform - Tuya IoT platform\n"
    "domain avs-alexa-4-na.amazon.com amazon-alexa:primary\n"
    "domain API.Amazon.com. amazon:primary amazon-alexa:support\n"
    "domain device-metrics-us.amazon.com amazon-echo:primary\n"
    "domain m2.tuyaus.com tuya:primary\n"
    "endpoint 52.94.233.1 tcp 443 avs-alexa-4-na.amazon.com\n"
    "endpoint 52.94.232.0/24 any any api.amazon.com\n"
    "endpoint 2600:1f18::/32 tcp any device-metrics-us.amazon.com API.AMAZON.COM.\n"
    "endpoint 2600:1f18:4000::1 udp 8883 m2.tuyaus.com\n";

std::string domain_lines(int n, const std::string& svc = "s") {
  std::string t;
  for (int i = 0; i < n; ++i) t += "domain d" + std::to_string(i) + ".example " + svc + ":primary\n";
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hitlist_loader)

BOOST_AUTO_TEST_CASE(valid_bundle_exact_contents) {
  const Bundle b = parse_bundle(kValid, "v.hitlist");
  BOOST_TEST(b.source == "v.hitlist");
  BOOST_TEST(b.valid_from == "2026-11-01");
  BOOST_TEST(b.valid_until == "2026-11-02");
  BOOST_TEST(b.provenance == "unit test | hand written\nsecond line");
  BOOST_REQUIRE_EQUAL(b.services.size(), 4u);
  BOOST_TEST(b.services[0].key == "amazon-alexa");
  BOOST_TEST(b.services[0].name == "Alexa Enabled");
  BOOST_TEST((b.services[0].level == Level::kPlatform));
  BOOST_TEST(b.services[0].parent == kNoService);
  BOOST_TEST(b.services[0].line == 8);
  BOOST_TEST(b.services[1].key == "amazon");
  BOOST_TEST(b.services[1].name == "Amazon devices");
  BOOST_TEST((b.services[1].level == Level::kManufacturer));
  BOOST_TEST(b.services[1].parent == 0);
  BOOST_TEST(b.services[2].name == "Amazon Echo (all generations)");
  BOOST_TEST((b.services[2].level == Level::kProduct));
  BOOST_TEST(b.services[2].parent == 1);
  BOOST_TEST(b.services[3].id == 3);
  BOOST_TEST(b.services[3].line == 12);
  BOOST_REQUIRE_EQUAL(b.domains.size(), 4u);
  BOOST_TEST(b.domains[1].fqdn == "api.amazon.com");
  BOOST_TEST(b.domains[1].id == 1u);
  BOOST_TEST(b.domains[1].line == 14);
  BOOST_REQUIRE_EQUAL(b.domains[1].uses.size(), 2u);
  BOOST_TEST(b.domains[1].uses[0].service == 1);
  BOOST_TEST((b.domains[1].uses[0].role == Role::kPrimary));
  BOOST_TEST(b.domains[1].uses[1].service == 0);
  BOOST_TEST((b.domains[1].uses[1].role == Role::kSupport));
  BOOST_REQUIRE_EQUAL(b.endpoints.size(), 4u);
  const Endpoint& e0 = b.endpoints[0];
  BOOST_TEST((e0.addr == ip("52.94.233.1")));
  BOOST_TEST(e0.prefix_len == 32);
  BOOST_TEST(e0.proto == 6);
  BOOST_TEST(e0.port == 443);
  BOOST_TEST(!e0.any_port);
  BOOST_TEST(e0.domains == std::vector<DomainId>{0});
  BOOST_TEST(e0.line == 17);
  const Endpoint& e1 = b.endpoints[1];
  BOOST_TEST((e1.addr == ip("52.94.232.0")));
  BOOST_TEST(e1.prefix_len == 24);
  BOOST_TEST(e1.proto == 0);
  BOOST_TEST(e1.any_port);
  const Endpoint& e2 = b.endpoints[2];
  BOOST_TEST((e2.addr == ip("2600:1f18::")));
  BOOST_TEST(!e2.addr.v4);
  BOOST_TEST(e2.prefix_len == 32);
  BOOST_TEST((e2.domains == std::vector<DomainId>{2, 1}));
  const Endpoint& e3 = b.endpoints[3];
  BOOST_TEST(e3.prefix_len == 128);
  BOOST_TEST(e3.proto == 17);
  BOOST_TEST(e3.port == 8883);
}

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST((level_name(Level::kPlatform) == "platform"));
  BOOST_TEST((level_name(Level::kManufacturer) == "manufacturer"));
  BOOST_TEST((level_name(Level::kProduct) == "product"));
  BOOST_TEST((role_name(Role::kPrimary) == "primary"));
  BOOST_TEST((role_name(Role::kSupport) == "support"));
}

BOOST_AUTO_TEST_CASE(helpers) {
  BOOST_TEST(valid_date("2024-02-29"));
  BOOST_TEST(!valid_date("2026-02-29"));
  BOOST_TEST(!valid_date("2026-13-01"));
  BOOST_TEST(!valid_date("2026-1-01"));
  std::string f;
  BOOST_TEST(normalize_fqdn("Foo.Example.", f));
  BOOST_TEST(f == "foo.example");
  BOOST_TEST(!normalize_fqdn("a..b", f));
  BOOST_TEST(!normalize_fqdn("*.example", f));
  BOOST_TEST(!normalize_fqdn(".", f));
  BOOST_TEST(!normalize_fqdn(std::string(64, 'a') + ".example", f));
}

BOOST_AUTO_TEST_CASE(header_errors) {
  check_error("", 0, "header.version", "missing 'hitlist 1' header");
  check_error("# only a comment\n", 1, "header.version");
  check_error("foo 1\n", 1, "header.version", "file must start with 'hitlist 1', found 'foo'");
  check_error("hitlist 2\n", 1, "header.version", "unsupported format version '2'");
  check_error("hitlist\n", 1, "header.version", "missing format version");
  check_error(kHeader + "hitlist 1\n", 4, "header.version", "header given twice");
  check_error("hitlist 1\n", 1, "header.valid_from", "missing valid_from");
  check_error("hitlist 1\nvalid_from 2026-02-30\n", 2, "header.valid_from",
              "invalid date '2026-02-30' (want YYYY-MM-DD)");
  check_error("hitlist 1\nvalid_from 2026-11-01 x\n", 2, "header.valid_from");
  check_error("hitlist 1\nvalid_from 2026-11-02\nvalid_until 2026-11-01\n" + kSvcA, 3,
              "header.valid_until", "valid_until 2026-11-01 is before valid_from 2026-11-02");
  check_error("hitlist 1\nvalid_from 2026-11-02\nvalid_until 2026-11-01\n", 3, "header.valid_until");
  check_error("hitlist 1\nvalid_from 2026-11-01\n" + kSvcA, 3, "header.valid_until",
              "missing valid_until");
  check_error(kHeader + "valid_from 2026-11-01\n", 4, "header.valid_from", "given twice (first at line 2)");
  check_error(kHeader + kSvcA + "valid_until 2026-11-03\n", 6, "header.valid_until",
              "header records must come before");
  check_error(kHeader + kSvcA + "provenance late\n", 6, "header.provenance");
  check_error(kHeader + "provenance\n", 4, "header.provenance", "empty provenance");
  check_error(kHeader + "bogus x\n", 4, "record", "unknown record type 'bogus'");
  check_error(kHeader + "Service a platform - A\n", 4, "record");
}

BOOST_AUTO_TEST_CASE(line_errors) {
  check_error(kHeader + "# " + std::string(4095, 'x') + "\n", 4, "line", "line is 4097 bytes, limit is 4096");
  BOOST_CHECK_NO_THROW(parse_bundle(kHeader + "#" + std::string(4095, 'x') + "\n", "t"));
  check_error(kHeader + "service a platform - A\x01\n", 4, "line", "control character 0x01 at column 23");
  check_error(kHeader + std::string("service a platform - A\0\n", 24), 4, "line");
}

BOOST_AUTO_TEST_CASE(service_errors) {
  check_error(kHeader + "service\n", 4, "service.key", "missing service key");
  check_error(kHeader + "service a\n", 4, "service.level", "missing level");
  check_error(kHeader + "service a platform\n", 4, "service.parent");
  check_error(kHeader + "service a platform -\n", 4, "service.name", "missing name");
  check_error(kHeader + "service A! platform - x\n", 4, "service.key", "invalid key 'A!'");
  check_error(kHeader + "service -a platform - x\n", 4, "service.key");
  check_error(kHeader + "service a vendor - A\n", 4, "service.level",
              "unknown level 'vendor' (platform|manufacturer|product)");
  check_error(kHeader + "service a platform - A\nservice a platform - B\n", 5, "service.key",
              "duplicate service 'a' (first at line 4)");
  check_error(kHeader + kSvcA + "service b manufacturer zzz B\ndomain b.example b:primary\n", 6,
              "service.parent", "unknown parent service 'zzz'");
  check_error(kHeader + "service a platform Zz A\n", 4, "service.parent", "invalid parent key 'Zz'");
  // Cycles are reported at their earliest member, before any level check.
  check_error(kHeader + "service x platform - X\nservice a manufacturer b A\nservice b product a B\n" +
                  "domain x.example x:primary\n",
              5, "service.parent", "parent cycle: a -> b -> a");
  check_error(kHeader + "service a platform a A\ndomain a.example a:primary\n", 4, "service.parent",
              "parent cycle: a -> a");
  check_error(kHeader + "service a manufacturer - A\nservice b manufacturer a B\n" + "domain a.example a:primary\n" +
                  "domain b.example b:primary\n",
              5, "service.level", "level manufacturer is not below the level of parent 'a' (manufacturer)");
  check_error(kHeader + "service p platform m P\nservice m manufacturer - M\n", 4, "service.level",
              "level platform is not below the level of parent 'm' (manufacturer)");
  check_error(kHeader + "service p product - P\nservice q product p Q\n", 5, "service.level");
  check_error(kHeader + kSvcA + "service b platform - B\ndomain b.example b:support\n", 6, "service.domains",
              "service 'b' has no primary domain");
  check_error(kHeader + "service a platform - A\n", 4, "service.domains");
}

BOOST_AUTO_TEST_CASE(domain_errors) {
  check_error(kHeader + kSvcA + "domain\n", 6, "domain.fqdn", "missing domain name");
  check_error(kHeader + kSvcA + "domain bad..name a:primary\n", 6, "domain.fqdn", "invalid domain name 'bad..name'");
  check_error(kHeader + kSvcA + "domain b.example\n", 6, "domain.service", "missing service:role");
  check_error(kHeader + kSvcA + "domain b.example nope:primary\n", 6, "domain.service", "unknown service 'nope'");
  check_error(kHeader + kSvcA + "domain b.example a:main\n", 6, "domain.role", "unknown role 'main' (primary|support)");
  check_error(kHeader + kSvcA + "domain b.example a\n", 6, "domain.role", "expected service:role, found 'a'");
  check_error(kHeader + kSvcA + "domain b.example a:primary a:support\n", 6, "domain.service",
              "service 'a' listed twice");
  check_error(kHeader + kSvcA + "domain A.Example. a:support\n", 6, "domain.fqdn",
              "duplicate domain 'a.example' (first at line 5)");
}

BOOST_AUTO_TEST_CASE(endpoint_errors) {
  const std::string base = kHeader + kSvcA + "domain b.example a:support\n";  // endpoint at line 7
  check_error(base + "endpoint\n", 7, "endpoint.addr", "missing address");
  check_error(base + "endpoint 192.0.2.1\n", 7, "endpoint.proto");
  check_error(base + "endpoint 192.0.2.1 tcp\n", 7, "endpoint.port");
  check_error(base + "endpoint 192.0.2.1 tcp 443\n", 7, "endpoint.domain", "missing domain");
  check_error(base + "endpoint 300.1.1.1 tcp 443 a.example\n", 7, "endpoint.addr", "invalid IP address '300.1.1.1'");
  check_error(base + "endpoint example.com tcp 443 a.example\n", 7, "endpoint.addr");
  check_error(base + "endpoint ::ffff:192.0.2.1 tcp 443 a.example\n", 7, "endpoint.addr", "IPv4-mapped");
  check_error(base + "endpoint 192.0.2.0/33 tcp 443 a.example\n", 7, "endpoint.prefix",
              "invalid prefix length '33' (0..32)");
  check_error(base + "endpoint 2001:db8::/129 tcp 443 a.example\n", 7, "endpoint.prefix", "(0..128)");
  check_error(base + "endpoint 192.0.2.0/ tcp 443 a.example\n", 7, "endpoint.prefix");
  check_error(base + "endpoint 192.0.2.1/24 tcp 443 a.example\n", 7, "endpoint.addr",
              "host bits set in '192.0.2.1/24' (network is 192.0.2.0/24)");
  check_error(base + "endpoint 2001:db8::1/64 tcp 443 a.example\n", 7, "endpoint.addr",
              "(network is 2001:db8::/64)");
  check_error(base + "endpoint 192.0.2.1 icmp 443 a.example\n", 7, "endpoint.proto",
              "unknown protocol 'icmp' (tcp|udp|any)");
  check_error(base + "endpoint 192.0.2.1 tcp 65536 a.example\n", 7, "endpoint.port",
              "port '65536' out of range (1..65535 or any)");
  check_error(base + "endpoint 192.0.2.1 tcp 0 a.example\n", 7, "endpoint.port");
  check_error(base + "endpoint 192.0.2.1 tcp https a.example\n", 7, "endpoint.port");
  check_error(base + "endpoint 192.0.2.1 tcp -1 a.example\n", 7, "endpoint.port");
  check_error(base + "endpoint 192.0.2.1 tcp 443 nope.example\n", 7, "endpoint.domain", "unknown domain 'nope.example'");
  check_error(base + "endpoint 192.0.2.1 tcp 443 a.example A.EXAMPLE.\n", 7, "endpoint.domain",
              "domain 'a.example' listed twice");
  check_error(base + "endpoint 192.0.2.1 tcp 443 a.example b.example\nendpoint 192.0.2.1 tcp 443 b.example a.example\n",
              8, "endpoint", "duplicate endpoint (first at line 7)");
  check_error(base + "endpoint 192.0.2.1 tcp 443 a.example\nendpoint 192.0.2.1 tcp 443 b.example\n", 8,
              "endpoint", "contradictory endpoint: same address, protocol and port as line 7 but different domains");
  check_error(base + "endpoint 2001:db8::/32 any any a.example\nendpoint 2001:DB8:0::/32 any any a.example\n", 8,
              "endpoint", "duplicate endpoint");
  // Same address, different keys: fine.
  BOOST_CHECK_NO_THROW(parse_bundle(base + "endpoint 192.0.2.1 tcp 443 a.example\nendpoint 192.0.2.1 udp 443 a.example\n"
                                           "endpoint 192.0.2.1 any 443 a.example\nendpoint 192.0.2.1 tcp any a.example\n"
                                           "endpoint 192.0.2.1/32 any any a.example\nendpoint 192.0.2.0/24 tcp 443 b.example\n",
                                    "t"));
}

BOOST_AUTO_TEST_CASE(limits) {
  Limits lim;
  lim.max_services = 2;
  lim.max_domains = 3;
  lim.max_endpoints = 2;
  const std::string s = "service s platform - S\n";
  check_error(kHeader + s + "service t platform - T\nservice u platform - U\n", 6, "service",
              "too many services (limit 2)", lim);
  check_error(kHeader + s + domain_lines(4), 8, "domain", "too many domains (limit 3)", lim);
  check_error(kHeader + s + domain_lines(1) +
                  "endpoint 192.0.2.1 tcp 1 d0.example\nendpoint 192.0.2.1 tcp 2 d0.example\n"
                  "endpoint 192.0.2.1 tcp 3 d0.example\n",
              8, "endpoint", "too many endpoints (limit 2)", lim);
  lim.max_line = 30;
  check_error(kHeader + "service s platform - Synthetic service\n", 4, "line", "line is 38 bytes, limit is 30", lim);
  // The default service limit: 65534 services (ServiceId 0xffff means none).
  std::string t = kHeader;
  for (int i = 0; i < 65535; ++i) t += "service s" + std::to_string(i) + " platform - S\n";
  check_error(t, 3 + 65535, "service", "too many services (limit 65534)");
  const Limits def;
  BOOST_TEST(def.max_domains == 4194304u);
  BOOST_TEST(def.max_endpoints == 16777216u);
  BOOST_TEST(def.max_line == 4096u);
}

BOOST_AUTO_TEST_CASE(load_file) {
  try {
    load_bundle("/nonexistent/x.hitlist");
    BOOST_FAIL("no error");
  } catch (const HitlistError& e) {
    BOOST_TEST(e.line() == 0);
    BOOST_TEST(e.field() == "file");
    BOOST_TEST(std::string(e.what()).rfind("/nonexistent/x.hitlist:0: file: cannot open", 0) == 0u);
  }
}

// The example bundle derived from the BehavIoT catalog + intl-iot passive DNS
// (scripts/catalog-to-hitlist.py; origin in tests/data/NOTICE).
BOOST_AUTO_TEST_CASE(example_bundle_from_catalog) {
  const std::string path = std::string(HAYSTACK_TEST_DATA) + "/hitlist/example-2026-11-01.hitlist";
  const Bundle b = load_bundle(path);
  BOOST_TEST(b.source == path);
  BOOST_TEST(b.valid_from == "2026-11-01");
  BOOST_TEST(b.valid_until == "2026-11-01");
  BOOST_TEST(b.provenance.find("Apache-2.0") != std::string::npos);
  BOOST_TEST(b.services.size() == 27u);
  BOOST_TEST(b.domains.size() == 149u);
  // 1942 from the passive DNS + 12 SYNTHETIC documentation-range endpoints
  // (tests/data/hitlist/synthetic-endpoints.txt), recorded in the provenance.
  BOOST_TEST(b.endpoints.size() == 1954u);
  BOOST_TEST(b.provenance.find("synthetic endpoints: 12 entries from "
                               "tests/data/hitlist/synthetic-endpoints.txt") != std::string::npos);
  auto svc = [&](const std::string& key) -> const Service& {
    for (const Service& s : b.services)
      if (s.key == key) return s;
    BOOST_FAIL("no service " << key);
    throw std::logic_error("unreachable");
  };
  auto dom = [&](const std::string& fqdn) -> const Domain& {
    for (const Domain& d : b.domains)
      if (d.fqdn == fqdn) return d;
    BOOST_FAIL("no domain " << fqdn);
    throw std::logic_error("unreachable");
  };
  const Service& alexa = svc("amazon-alexa");
  const Service& amazon = svc("amazon");
  const Service& echo = svc("amazon-echo");
  BOOST_TEST((alexa.level == Level::kPlatform));
  BOOST_TEST((amazon.level == Level::kManufacturer));
  BOOST_TEST(amazon.parent == alexa.id);
  BOOST_TEST(echo.parent == amazon.id);
  const Domain& avs = dom("avs-alexa-4-na.amazon.com");
  BOOST_REQUIRE_EQUAL(avs.uses.size(), 1u);
  BOOST_TEST(avs.uses[0].service == alexa.id);
  BOOST_TEST((avs.uses[0].role == Role::kPrimary));
  const Domain& aiv = dom("api.us-east-1.aiv-delivery.net");
  BOOST_REQUIRE_EQUAL(aiv.uses.size(), 1u);
  BOOST_TEST(aiv.uses[0].service == svc("amazon-echo-show").id);
  BOOST_TEST((aiv.uses[0].role == Role::kSupport));
  const Domain& es = dom("es.ring.com");
  BOOST_TEST(es.uses[0].service == svc("ring").id);
  // A known endpoint from the passive DNS resolves to its domain.
  const auto table = HitlistTable::compile(b);
  const Match* m = table->lookup(ip("3.209.122.255"), 6, 443);
  BOOST_REQUIRE(m != nullptr);
  bool found = false;
  for (DomainId d : m->domains()) found |= b.domains[d].fqdn == "es.ring.com";
  BOOST_TEST(found);
  BOOST_TEST(table->lookup(ip("3.209.122.255"), 6, 80) == nullptr);
  // Synthetic endpoints: the Alexa platform over IPv4, Ring over IPv6.
  auto only_domain = [&](const char* addr, const std::string& fqdn) {
    const Match* sm = table->lookup(ip(addr), 6, 443);
    BOOST_REQUIRE(sm != nullptr);
    BOOST_REQUIRE_EQUAL(sm->domains().size(), 1u);
    BOOST_TEST(b.domains[sm->domains()[0]].fqdn == fqdn);
  };
  only_domain("192.0.2.224", "api.amazonalexa.com");
  only_domain("192.0.2.226", "avs-alexa-4-na.amazon.com");
  only_domain("2001:db8:e0:2::10", "rss-dpd-service.ring.com");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

const char* kTableText =
    "hitlist 1\nvalid_from 2026-11-01\nvalid_until 2026-11-01\n"
    "service s platform - S\nservice t manufacturer s T\n"
    "domain d0.example s:primary\ndomain d1.example s:primary\ndomain d2.example s:primary\n"
    "domain d3.example s:primary\ndomain d4.example s:primary\ndomain d5.example s:primary\n"
    "domain d6.example s:primary\ndomain d7.example s:primary\ndomain d8.example s:primary\n"
    "domain d9.example t:primary s:support\n"
    // IPv4 (endpoints 0..8)
    "endpoint 192.0.2.10 tcp 443 d0.example\n"
    "endpoint 192.0.2.10 any 443 d1.example\n"
    "endpoint 192.0.2.10 tcp any d2.example\n"
    "endpoint 192.0.2.10 any any d3.example\n"
    "endpoint 192.0.2.0/24 tcp 443 d4.example\n"
    "endpoint 192.0.2.0/28 udp any d5.example\n"
    "endpoint 192.0.0.0/16 any any d6.example\n"
    "endpoint 0.0.0.0/0 udp 53 d7.example\n"
    "endpoint 192.0.2.20 tcp 8883 d8.example d9.example\n"
    // IPv6 (endpoints 9..13)
    "endpoint 2001:db8::1 tcp 443 d0.example\n"
    "endpoint 2001:db8::/64 any any d1.example\n"
    "endpoint 2001:db8::/32 udp any d2.example\n"
    "endpoint ::/0 udp 123 d3.example\n"
    "endpoint 2001:db8::1 any 443 d9.example\n";

// Which domain a lookup found (-1 = miss).
int hit(const HitlistTable& t, const std::string& addr, uint8_t proto, uint16_t port) {
  const Match* m = t.lookup(ip(addr), proto, port);
  return m ? int(m->domains()[0]) : -1;
}

// Brute-force reference: best endpoint by (longest prefix, then precedence class).
struct RefEntry {
  bool v6;
  unsigned len;
  IpAddr net;
  uint8_t proto;
  bool any_port;
  uint16_t port;
};

bool in_prefix(const IpAddr& a, const RefEntry& e) {
  if (a.v4 == e.v6) return false;
  const unsigned base = e.v6 ? 0 : 96;
  for (unsigned bit = base; bit < base + e.len; ++bit) {
    const uint8_t m = uint8_t(0x80u >> (bit % 8));
    if ((a.b[bit / 8] & m) != (e.net.b[bit / 8] & m)) return false;
  }
  return true;
}

int reference(const std::vector<RefEntry>& es, const IpAddr& a, uint8_t proto, uint16_t port) {
  int best = -1;
  int best_len = -1, best_cls = 99;
  for (size_t i = 0; i < es.size(); ++i) {
    const RefEntry& e = es[i];
    if (e.proto != 0 && e.proto != proto) continue;
    if (!e.any_port && e.port != port) continue;
    if (int(e.len) < best_len) continue;
    if (!in_prefix(a, e)) continue;
    const int cls = e.any_port ? (e.proto ? 2 : 3) : (e.proto ? 0 : 1);
    if (int(e.len) > best_len || cls < best_cls) {
      best = int(i);
      best_len = int(e.len);
      best_cls = cls;
    }
  }
  return best;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hitlist_table)

BOOST_AUTO_TEST_CASE(precedence_ipv4) {
  const auto t = HitlistTable::compile(parse_bundle(kTableText, "t"));
  BOOST_TEST(t->size() == 14u);
  BOOST_TEST(t->host_entries() == 7u);
  BOOST_TEST(t->prefix_entries() == 7u);
  BOOST_TEST(hit(*t, "192.0.2.10", 6, 443) == 0);   // host, exact proto + port
  BOOST_TEST(hit(*t, "192.0.2.10", 17, 443) == 1);  // host, any proto, exact port
  BOOST_TEST(hit(*t, "192.0.2.10", 6, 80) == 2);    // host, exact proto, any port
  BOOST_TEST(hit(*t, "192.0.2.10", 17, 80) == 3);   // host, any/any
  BOOST_TEST(hit(*t, "192.0.2.10", 1, 0) == 3);     // ICMP: port 0 only matches any-port
  BOOST_TEST(hit(*t, "192.0.2.11", 6, 443) == 4);   // /28 is udp only -> /24
  BOOST_TEST(hit(*t, "192.0.2.11", 17, 9) == 5);    // /28 beats /24 and /16
  BOOST_TEST(hit(*t, "192.0.2.200", 17, 9) == 6);   // outside /28, /24 is tcp 443 -> /16
  BOOST_TEST(hit(*t, "192.0.2.200", 6, 443) == 4);
  BOOST_TEST(hit(*t, "192.0.3.1", 6, 443) == 6);
  BOOST_TEST(hit(*t, "192.0.2.20", 6, 8883) == 8);  // host
  BOOST_TEST(hit(*t, "192.0.2.20", 6, 443) == 4);   // host has no rule for 443 -> prefix
  BOOST_TEST(hit(*t, "198.51.100.1", 17, 53) == 7); // default route, udp 53 only
  BOOST_TEST(hit(*t, "198.51.100.1", 6, 53) == -1); // miss
  BOOST_TEST(hit(*t, "198.51.100.1", 17, 54) == -1);
  const Match* m = t->lookup(ip("192.0.2.20"), 6, 8883);
  BOOST_REQUIRE(m);
  BOOST_TEST(m->endpoint == 8u);
  BOOST_TEST(m->prefix_len == 32);
  BOOST_TEST(m->proto == 6);
  BOOST_TEST(m->port == 8883);
  BOOST_TEST(!m->any_port);
  BOOST_TEST((std::vector<DomainId>(m->domains().begin(), m->domains().end()) == std::vector<DomainId>{8, 9}));
  BOOST_TEST((std::vector<ServiceId>(m->services().begin(), m->services().end()) == std::vector<ServiceId>{0, 1}));
  BOOST_TEST(&t->match(8) == m);
  const Match* p = t->lookup(ip("192.0.3.1"), 6, 443);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->prefix_len == 16);
  BOOST_TEST(p->any_port);
  BOOST_TEST(p->proto == 0);
  BOOST_TEST(t->memory_bytes() > 0u);
  t->prefetch(ip("192.0.2.10"));
  t->prefetch(ip("2001:db8::1"));
}

BOOST_AUTO_TEST_CASE(precedence_ipv6) {
  const auto t = HitlistTable::compile(parse_bundle(kTableText, "t"));
  BOOST_TEST(hit(*t, "2001:db8::1", 6, 443) == 0);
  BOOST_TEST(hit(*t, "2001:db8::1", 17, 443) == 9);     // any-proto 443 on the host
  BOOST_TEST(hit(*t, "2001:db8::1", 6, 80) == 1);       // host has nothing -> /64
  BOOST_TEST(hit(*t, "2001:db8::2", 17, 5) == 1);
  BOOST_TEST(hit(*t, "2001:db8:1::1", 17, 5) == 2);     // /32
  BOOST_TEST(hit(*t, "2001:db8:1::1", 6, 5) == -1);
  BOOST_TEST(hit(*t, "2001:db9::1", 17, 123) == 3);     // ::/0
  BOOST_TEST(hit(*t, "2a00::1", 17, 123) == 3);
  BOOST_TEST(hit(*t, "2a00::1", 17, 124) == -1);
  // Families never mix: an IPv4-mapped IPv6 address is not the IPv4 host.
  BOOST_TEST(hit(*t, "::ffff:192.0.2.10", 6, 443) == -1);
  BOOST_TEST(hit(*t, "::ffff:192.0.2.10", 17, 123) == 3);
}

BOOST_AUTO_TEST_CASE(empty_and_programmatic) {
  Bundle b;
  auto t = HitlistTable::compile(b);
  BOOST_TEST(t->size() == 0u);
  BOOST_TEST(hit(*t, "192.0.2.1", 6, 443) == -1);
  BOOST_TEST(hit(*t, "2001:db8::1", 6, 443) == -1);
  // Inconsistent programmatic bundles are rejected.
  b.domains.push_back(Domain{0, "a.example", {{0, Role::kPrimary}}, 0});
  Endpoint e;
  e.addr = ip("192.0.2.1");
  e.prefix_len = 32;
  e.proto = 6;
  e.port = 443;
  e.domains = {0};
  e.line = 7;
  b.endpoints = {e, e};
  try {
    HitlistTable::compile(b);
    BOOST_FAIL("no error");
  } catch (const HitlistError& err) {
    BOOST_TEST(err.field() == "endpoint");
  }
  b.endpoints = {e};
  b.endpoints[0].domains = {5};
  BOOST_CHECK_THROW(HitlistTable::compile(b), HitlistError);
  b.endpoints[0].domains = {0};
  b.endpoints[0].prefix_len = 24;
  BOOST_CHECK_THROW(HitlistTable::compile(b), HitlistError);  // host bits
}

BOOST_AUTO_TEST_CASE(random_100k_against_brute_force) {
  SynthSpec spec;
  spec.endpoints = 101000;
  spec.address_bits = 12;  // 4096 hosts per family: many shared addresses and overlaps
  spec.prefix_fraction = 0.02;
  spec.seed = 42;
  Bundle b = synthetic_bundle(spec);
  // Drop any-port prefixes that cover the whole synthetic space, so that misses remain.
  std::erase_if(b.endpoints, [](const Endpoint& e) {
    return e.any_port && e.prefix_len <= (e.addr.v4 ? 20 : 116);
  });
  BOOST_REQUIRE_GE(b.endpoints.size(), 100000u);
  b.endpoints.resize(100000);
  const auto t = HitlistTable::compile(b);
  BOOST_TEST(t->size() == 100000u);
  std::vector<RefEntry> ref;
  for (const Endpoint& e : b.endpoints) ref.push_back({!e.addr.v4, e.prefix_len, e.addr, e.proto, e.any_port, e.port});
  std::mt19937_64 rng(7);
  size_t hits = 0;
  const int kQueries = 3000;
  std::vector<LookupKey> burst;
  for (int q = 0; q < kQueries; ++q) {
    IpAddr a;
    uint8_t proto;
    uint16_t port;
    if (q % 2 == 0) {  // around a listed endpoint
      const Endpoint& e = b.endpoints[rng() % b.endpoints.size()];
      a = e.addr;
      if (rng() % 4 == 0) a.b[15] ^= uint8_t(rng());
      proto = e.proto ? e.proto : uint8_t(rng() % 2 ? 6 : 17);
      port = e.any_port ? uint16_t(rng()) : e.port;
    } else {  // anywhere in (and slightly beyond) the synthetic space
      uint8_t raw[16] = {0x20, 0x01, 0x0d, 0xb8};
      const uint32_t host = uint32_t(rng() % 8192);
      if (rng() % 4 == 0) {
        for (int i = 0; i < 3; ++i) raw[15 - i] = uint8_t(host >> (8 * i));
        a = IpAddr::from_v6(raw);
      } else {
        raw[0] = 10;
        for (int i = 0; i < 3; ++i) raw[3 - i] = uint8_t(host >> (8 * i));
        a = IpAddr::from_v4(raw);
      }
      static constexpr uint8_t kProtos[] = {6, 17, 1};
      proto = kProtos[rng() % 3];
      port = rng() % 2 ? kSynthPorts[rng() % std::size(kSynthPorts)] : uint16_t(rng());
    }
    const int want = reference(ref, a, proto, port);
    const Match* m = t->lookup(a, proto, port);
    const int got = m ? int(m->endpoint) : -1;
    if (want != got) BOOST_FAIL("query " << q << ": want " << want << " got " << got);
    hits += got >= 0;
    burst.push_back({a, proto, port});
  }
  std::vector<const Match*> out(burst.size());
  t->lookup_burst(burst.data(), burst.size(), out.data());
  for (size_t i = 0; i < burst.size(); ++i)
    BOOST_REQUIRE(out[i] == t->lookup(burst[i].server, burst[i].proto, burst[i].port));
  BOOST_TEST(hits > size_t(kQueries / 3));
  BOOST_TEST(hits < size_t(kQueries));
}

BOOST_AUTO_TEST_SUITE_END()
