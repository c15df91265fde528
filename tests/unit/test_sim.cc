// haystack-sim pure logic: catalog parsing, the labelling rule, contact schedule, line
// addresses (docs/simulator.md).
#define BOOST_TEST_MODULE sim
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>

#include "signatures/hitlist_loader.h"
#include "sim/sim_traffic.h"
#include "sim/sim_world.h"

using namespace haystack;
using namespace haystack::sim;

namespace {

const char* kBundle = R"(hitlist 1
valid_from 2026-11-01
valid_until 2026-11-01
service p platform - P
service m manufacturer p M
service x product m X
domain p1.p.com p:primary
domain p2.p.com p:support
domain m1.m.com m:primary
domain m2.m.com m:support
domain m3.m.com m:support
domain m4.m.com m:support
domain m5.m.com m:support
domain x1.m.com x:primary
endpoint 192.0.2.1 tcp 443 p1.p.com
endpoint 192.0.2.2 any any p2.p.com
endpoint 192.0.2.3 tcp 443 m1.m.com m2.m.com
endpoint 192.0.2.3 udp any m3.m.com
endpoint 192.0.2.4 tcp 443 m4.m.com
endpoint 192.0.2.5 tcp 443 m5.m.com
endpoint 192.0.2.6 tcp 8883 x1.m.com
)";

std::vector<hitlist::DomainId> ids(const hitlist::Bundle& b,
                                   std::initializer_list<const char*> names) {
  std::vector<hitlist::DomainId> v;
  for (const char* n : names)
    for (const auto& d : b.domains)
      if (d.fqdn == n) v.push_back(d.id);
  return v;
}

std::vector<std::string> keys(const hitlist::Bundle& b, const std::vector<hitlist::ServiceId>& s) {
  std::vector<std::string> v;
  for (auto i : s) v.push_back(b.services[i].key);
  return v;
}

std::filesystem::path write_catalog(const std::string& name, const std::string& text) {
  auto dir =
      std::filesystem::temp_directory_path() / ("haystack-sim-ut-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sim_model)

BOOST_AUTO_TEST_CASE(detectable_rule_and_hierarchy) {
  const auto b = hitlist::parse_bundle(kBundle, "t.hitlist");
  // p: N=2, k=max(1, floor(0.8)) = 1, needs its primary
  BOOST_TEST(keys(b, detectable(b, 0.4, ids(b, {"p2.p.com"}))).empty());
  BOOST_TEST(keys(b, detectable(b, 0.4, ids(b, {"p1.p.com"}))) == std::vector<std::string>{"p"});
  // m: N=5, k=2 at D=0.4; without its parent p nothing
  BOOST_TEST(keys(b, detectable(b, 0.4, ids(b, {"m1.m.com", "m2.m.com"}))).empty());
  BOOST_TEST(keys(b, detectable(b, 0.4, ids(b, {"p1.p.com", "m1.m.com", "m2.m.com"}))) ==
             (std::vector<std::string>{"p", "m"}));
  // k = 3 at D = 0.6 (floor(3.0) with the tolerance)
  BOOST_TEST(keys(b, detectable(b, 0.6, ids(b, {"p1.p.com", "m1.m.com", "m2.m.com"}))) ==
             std::vector<std::string>{"p"});
  BOOST_TEST(
      keys(b, detectable(b, 0.4, ids(b, {"p1.p.com", "m1.m.com", "m2.m.com", "x1.m.com"}))) ==
      (std::vector<std::string>{"p", "m", "x"}));
}

BOOST_AUTO_TEST_CASE(world_evidence_follows_the_lookup) {
  const auto b = hitlist::parse_bundle(kBundle, "t.hitlist");
  SimConfig cfg;
  cfg.churn = 0;
  const World w = build_world(b, cfg, 2, "");
  const auto m1 = ids(b, {"m1.m.com"})[0], m3 = ids(b, {"m3.m.com"})[0],
             x1 = ids(b, {"x1.m.com"})[0];
  BOOST_REQUIRE_EQUAL(w.v4[m1][0].size(), 1u);
  // a packet to m1's server counts for both names of its endpoint
  BOOST_TEST(w.evidence[w.v4[m1][0][0].evidence] == ids(b, {"m1.m.com", "m2.m.com"}));
  // the same address over UDP matches the udp/any entry
  BOOST_TEST(w.v4[m3][0][0].proto == 17);
  BOOST_TEST(w.evidence[w.v4[m3][0][0].evidence] == ids(b, {"m3.m.com"}));
  BOOST_TEST(w.v4[x1][1][0].port == 8883);
  BOOST_TEST(w.on_hitlist(0xc0000203u));
  BOOST_TEST(!w.on_hitlist(0xc0000207u));
  cfg.churn = 1;
  const World c = build_world(b, cfg, 3, "");
  BOOST_TEST(c.churned.size() == 2 * 8u);  // all 8 domains with an IPv4 address, days 1 and 2
  for (const auto& ch : c.churned)
    BOOST_TEST(c.on_hitlist(uint32_t(ch.t.addr.b[12]) << 24 | uint32_t(ch.t.addr.b[13]) << 16 |
                            uint32_t(ch.t.addr.b[14]) << 8 | ch.t.addr.b[15]));
}

BOOST_AUTO_TEST_CASE(behaviot_tables) {
  auto dir = write_catalog("cam.csv",
                           "protocol,domain,period,org,party\r\n"
                           "DNS,neu.edu,310,neu.edu,2\r\n"
                           "TCP,Cam.Example.COM.,30,\"Example, Inc\",1\r\n"
                           "NTP,pool.ntp.org,600,ntp,3\r\n"
                           "TCP,once.example.com,0,x,1\r\n");
  const auto models = load_behaviot(dir.string(), 60);
  BOOST_REQUIRE_EQUAL(models.size(), 1u);
  BOOST_TEST(models[0].name == "cam");
  BOOST_REQUIRE_EQUAL(models[0].rows.size(), 2u);
  BOOST_TEST(models[0].rows[0].domain == "cam.example.com");
  BOOST_TEST(models[0].rows[0].period == 60u);  // raised to min_period
  BOOST_TEST(models[0].rows[0].party == 1);
  BOOST_TEST(models[0].rows[1].ntp);
  BOOST_TEST(models[0].rows[1].proto == 17);
  auto bad = write_catalog("bad.csv", "protocol,domain,period,org,party\nTCP,a.com,x,o,1\n");
  try {
    load_behaviot(bad.string(), 60);
    BOOST_FAIL("no error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) ==
               (bad / "bad.csv").string() + ":2: period: 'x' is not a number");
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(contact_schedule) {
  Model m;
  m.rows.push_back(Row{"a.com", 6, 600, 1, 0, false});
  Device d;
  d.phase = {100};
  BOOST_TEST(!contacts_in(m, d, 0, 0, 100));
  BOOST_TEST(contacts_in(m, d, 0, 0, 101));
  BOOST_TEST(contacts_in(m, d, 0, 650, 701));    // 700
  BOOST_TEST(!contacts_in(m, d, 0, 701, 1300));  // next is 1300
  BOOST_TEST(contacts_in(m, d, 0, 701, 1301));
  d.burst_rows.insert({1, 0});
  BOOST_TEST(contacts_in(m, d, 0, 86400, 86401));
}

BOOST_AUTO_TEST_CASE(line_addresses_unique_and_rotating) {
  const auto b = hitlist::parse_bundle(kBundle, "t.hitlist");
  SimConfig cfg;
  cfg.lines = 2000;
  cfg.hours = 72;
  cfg.reassign_fraction = 0.3;
  const World w = build_world(b, cfg, 3, "");
  std::vector<Model> models(1);
  models[0].name = "m";
  models[0].rows.push_back(Row{"p1.p.com", 6, 300, 1, 0, false});
  const Population p = build_population(w, models, cfg);
  size_t moved = 0;
  for (uint32_t day = 0; day < 3; ++day) {
    std::set<std::string> v4, v6;
    for (uint32_t i = 0; i < cfg.lines; ++i) {
      v4.insert(prefix_id(line_v4(p, cfg, i, day), 32));
      v6.insert(prefix_id(line_v6(p, cfg, i, day), 56));
      if (day > 0 && line_v4(p, cfg, i, day).b != line_v4(p, cfg, i, day - 1).b) ++moved;
      if (!p.lines[i].reassign) BOOST_TEST(line_v4(p, cfg, i, day).b == line_v4(p, cfg, i, 0).b);
    }
    BOOST_TEST(v4.size() == cfg.lines);
    BOOST_TEST(v6.size() == cfg.lines);
  }
  BOOST_TEST(moved > 300u);
  BOOST_TEST(prefix_id(line_v4(p, cfg, 5, 0), 32) ==
             (p.lines[5].reassign ? prefix_id(line_v4(p, cfg, 5, 0), 32) : "100.64.0.5/32"));
  BOOST_TEST(prefix_id(line_v6(p, cfg, 0x42, 0), 56) ==
             (p.lines[0x42].reassign ? prefix_id(line_v6(p, cfg, 0x42, 0), 56)
                                     : "2001:db8:8000:4200::/56"));
}

BOOST_AUTO_TEST_SUITE_END()
