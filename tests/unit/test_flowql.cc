// FlowQL: parser accept/reject with exact columns, region bounds against flowtree::query,
// and the executor on trees written to a temporary state directory through TreeStore.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "control/flowql/error.h"
#include "control/flowql/executor.h"
#include "control/flowql/lexer.h"
#include "control/flowql/parser.h"
#include "control/flowql/region.h"
#include "control/tree_store.h"
#include "dataplane/flowtree/flowtree_queries.h"
#include "tests/unit/ip_literal.h"

using namespace haystack;
using namespace haystack::flowql;
using flowtree::Counters;
using flowtree::FeatureSet;
using flowtree::Flowtree;

namespace {

const std::string kP = "FROM 2026-11-01 10:00 TO 2026-11-01 11:00";
constexpr int64_t k1000 = 1793527200;  // 2026-11-01 10:00 UTC

void expect_error(const std::string& q, int column, const std::string& msg) {
  try {
    parse(q);
    BOOST_ERROR("accepted: " << q);
  } catch (const FlowQLError& e) {
    BOOST_TEST(e.column() == column, q);
    BOOST_TEST(std::string(e.what()) == msg, q);
  }
}

Counters pk(int64_t n) {
  return Counters{n, 100 * n, 1};
}
std::string str(const Counters& c) {
  return std::to_string(c.packets) + "," + std::to_string(c.bytes) + "," + std::to_string(c.flows);
}

// p = 0: only leaves hang below the root, so every count is hand-computable.
Flowtree tree(FeatureSet fs, bool proto = false) {
  flowtree::FlowtreeConfig c;
  c.feature_set = fs;
  c.p = 0;
  c.budget = 1000;
  c.with_proto = proto;
  return Flowtree(c);
}
void add_si(Flowtree& t, const std::string& a, int64_t n) {
  t.add(t.hierarchy().leaf(test::ip(a), IpAddr{}, 0, 0, 0), pk(n));
}

// A state directory removed at the end of the test.
struct StateDir {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("hs-flowql-" + std::to_string(::getpid()));
  StateDir() { std::filesystem::remove_all(root); }
  ~StateDir() { std::filesystem::remove_all(root); }
  void write(const std::string& site, uint32_t seconds, int64_t start, Flowtree t) {
    TreeStore store((root / "flowtrees").string(), site);
    SiteTrees s;
    s.seconds = seconds;
    s.start_ns = uint64_t(start) * 1'000'000'000ULL;
    s.trees.push_back(std::move(t));
    store.write(s);
    BOOST_REQUIRE(store.counters().write_errors == 0u);
  }
  StateDirSource source() const { return StateDirSource((root / "flowtrees").string()); }
};

// Site a: 1m bins at 10:00 (10.0.0.1 x5, 10.0.0.2 x3, 192.168.1.1 x2) and 10:01
// (10.0.0.1 x1, 10.0.1.1 x6); site b: 10:00 (10.0.0.1 x7, 172.16.0.1 x1). SI trees.
void write_two_sites(StateDir& d) {
  Flowtree a0 = tree(FeatureSet::SI), a1 = tree(FeatureSet::SI), b0 = tree(FeatureSet::SI);
  add_si(a0, "10.0.0.1", 5);
  add_si(a0, "10.0.0.2", 3);
  add_si(a0, "192.168.1.1", 2);
  add_si(a1, "10.0.0.1", 1);
  add_si(a1, "10.0.1.1", 6);
  add_si(b0, "10.0.0.1", 7);
  add_si(b0, "172.16.0.1", 1);
  d.write("a", 60, k1000, a0);
  d.write("a", 60, k1000 + 60, a1);
  d.write("b", 60, k1000, b0);
}

// 10.0.0.1 x5, 10.0.0.2 x3, 192.168.1.1 x2 as leaves, plus mass a compress would leave
// behind: 4 packets at 10.0.0.0/24 and 2 at the root.
Flowtree with_interior_mass() {
  Flowtree t = tree(FeatureSet::SI);
  add_si(t, "10.0.0.1", 5);
  add_si(t, "10.0.0.2", 3);
  add_si(t, "192.168.1.1", 2);
  t.add_node(t.hierarchy().parse("10.0.0.0/24"), pk(4));
  t.add_node(t.hierarchy().root(), pk(2));
  return t;
}

RegionEstimate where(const Flowtree& t, const std::string& cond) {
  const Query q = parse("SELECT pop " + kP + " WHERE " + cond);
  return estimate(t, compile(&*q.where));
}

std::string rows(const Answer& a) {
  std::string s;
  for (const Row& r : a.rows) s += r.key + "=" + std::to_string(r.value.packets) + " ";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flowql_parser)

BOOST_AUTO_TEST_CASE(accepts_top_k_with_prefix) {
  const Query q = parse("select TOP-10 " + kP + " where src_ip = 10.1.2.3/8;");
  BOOST_TEST(int(q.op) == int(Op::kTop));
  BOOST_TEST(q.k == 10);
  BOOST_TEST(int(q.metric) == int(flowtree::Metric::kPackets));
  BOOST_REQUIRE(q.periods.size() == 1u);
  BOOST_TEST(q.periods[0].from == k1000);
  BOOST_TEST(q.periods[0].to == k1000 + 3600);
  BOOST_TEST(int(q.feature_set) == int(FeatureSet::SI));
  BOOST_REQUIRE(q.where.has_value());
  const Predicate& p = q.where->pred;
  BOOST_TEST(p.ip.len == 104);
  BOOST_TEST(int(p.ip.addr[10]) == 0xff);
  BOOST_TEST(int(p.ip.addr[12]) == 10);
  BOOST_TEST(int(p.ip.addr[13]) == 0);  // host bits cleared
  BOOST_TEST(int(q.sites.mode) == int(SiteSelection::Mode::kAll));
}

BOOST_AUTO_TEST_CASE(values_ports_protocols_and_options) {
  const Query q = parse(
      "SELECT pop(bytes, bin15) FROM TIME 2026-11-01T10:00:30Z TO 2026-11-01 11:00 "
      "WHERE (dst_port = 80|12 OR dst_port IN (1024-2047, 8080)) AND proto = tcp "
      "AND src_ip = 2001:db8::1|32");
  BOOST_TEST(int(q.metric) == int(flowtree::Metric::kBytes));
  BOOST_TEST(*q.bin_seconds == 900u);
  BOOST_TEST(q.periods[0].from == k1000 + 30);
  BOOST_TEST(int(q.feature_set) == int(FeatureSet::SIDP));
  const Region r = compile(&*q.where);
  BOOST_REQUIRE(r.boxes.size() == 3u);
  BOOST_TEST(r.boxes[0].dp_lo == 80);
  BOOST_TEST(r.boxes[0].dp_hi == 95);
  BOOST_TEST(r.boxes[1].dp_lo == 1024);
  BOOST_TEST(r.boxes[1].dp_hi == 2047);
  BOOST_TEST(r.boxes[2].dp_lo == 8080);
  BOOST_TEST(r.boxes[2].dp_hi == 8080);
  for (const Box& b : r.boxes) {
    BOOST_TEST(b.proto == 6);
    BOOST_TEST(b.src.len == 32);
    BOOST_TEST(int(b.src.addr[3]) == 0xb8);
    BOOST_TEST(int(b.src.addr[15]) == 0);
  }
  BOOST_TEST(*parse("SELECT pop(bin1h) " + kP + " USING SI").bin_seconds == 3600u);
  BOOST_TEST(int(parse("SELECT hhh-2.5(flow) " + kP + " USING DP, 15m").metric) ==
             int(flowtree::Metric::kFlows));
  BOOST_TEST(parse("SELECT hhh-2.5 " + kP + " USING DP, 15m").phi == 0.025);
  BOOST_TEST(*parse("SELECT hhh-2.5 " + kP + " USING DP, 15m").granularity == 900u);
}

BOOST_AUTO_TEST_CASE(feature_set_from_where_or_using) {
  auto fs = [](const std::string& w) {
    return parse("SELECT * " + kP + " WHERE " + w).feature_set;
  };
  BOOST_TEST(int(fs("dst_ip = ANY")) == int(FeatureSet::DI));
  BOOST_TEST(int(fs("src_ip = ANY AND dst_port = 53")) == int(FeatureSet::SIDP));
  BOOST_TEST(int(fs("src_port = 53 OR dst_ip = 10.0.0.0/8")) == int(FeatureSet::DISP));
  BOOST_TEST(int(fs("src_ip = ANY AND dst_ip = ANY AND dst_port = 443")) == int(FeatureSet::FULL));
  BOOST_TEST(int(parse("SELECT drill " + kP + " WHERE proto = 17 USING spdp").feature_set) ==
             int(FeatureSet::SPDP));
}

BOOST_AUTO_TEST_CASE(sites) {
  const Query a = parse("SELECT pop " + kP + " WHERE site_id = fra-1 AND src_ip = ANY");
  BOOST_TEST(int(a.sites.mode) == int(SiteSelection::Mode::kList));
  BOOST_TEST(a.sites.sites == std::vector<std::string>{"fra-1"});
  BOOST_TEST(int(a.where->kind) == int(Cond::Kind::kPred));
  const Query b = parse("SELECT pop " + kP + " WHERE src_ip = ANY AND site_id IN (x, 'ber 2')");
  BOOST_TEST((b.sites.sites == std::vector<std::string>{"x", "ber 2"}));
  BOOST_TEST(int(parse("SELECT pop " + kP + " WHERE site_id = ITR AND src_ip = ANY").sites.mode) ==
             int(SiteSelection::Mode::kIterate));
  BOOST_TEST(int(parse("SELECT pop " + kP + " WHERE site_id = ANY USING SI").sites.mode) ==
             int(SiteSelection::Mode::kAll));
}

BOOST_AUTO_TEST_CASE(rejects_with_columns) {
  expect_error("SELECT top-10 FORM 2026-11-01 10:00 TO 2026-11-01 11:00", 15,
               "expected FROM, got 'FORM'");
  expect_error("SELECT top-0 " + kP + " WHERE src_ip = ANY", 12,
               "expected a count in 1..1000000 after top-, got '0'");
  expect_error("SELECT pop FROM 2026-13-01 10:00 TO 2026-11-01 11:00 WHERE src_ip = ANY", 17,
               "invalid date '2026-13-01'");
  expect_error("SELECT pop FROM 2026-11-01 11:00 TO 2026-11-01 10:00 WHERE src_ip = ANY", 17,
               "empty period: the end must be after the start");
  expect_error("SELECT pop " + kP + " WHERE src_ip = 10.0.0.0/33", 78,
               "expected a prefix length 0..32, got '33'");
  expect_error("SELECT pop " + kP + " WHERE dst_port = 80-70", 74,
               "expected the last port of the range (>= the first), got '70'");
  expect_error("SELECT pop " + kP + " WHERE src_ip = ANY OR site_id = fra1", 76,
               "site_id can only be combined with AND at the top level of WHERE");
  expect_error("SELECT pop " + kP + " WHERE src_ip = 10.0.0.0 # x", 78, "unexpected character '#'");
  expect_error("SELECT pop " + kP + " WHERE site_id = 'fra1", 70, "unterminated string");
  expect_error("SELECT hc-5 " + kP + " WHERE src_ip = ANY", 18,
               "hc compares exactly two periods (before, after)");
  expect_error("SELECT pop " + kP + ", 2026-11-01 10:30 TO 2026-11-01 12:00 WHERE src_ip = ANY", 55,
               "periods overlap (their traffic would be counted twice)");
  expect_error("SELECT pop " + kP, 53,
               "no feature set: name the features in WHERE (e.g. src_ip = ANY) or add USING <set>");
  expect_error("SELECT pop " + kP + " WHERE dst_port = 80 USING SI", 60,
               "feature set SI has no dst_port");
  expect_error("SELECT pop " + kP + " WHERE src_ip = 300.1.2.3", 69,
               "expected an IPv4 or IPv6 address or ANY, got '300.1.2.3'");
  expect_error("SELECT hhh-0 " + kP + " WHERE src_ip = ANY", 12,
               "expected a percentage of the total in (0, 100] after hhh-, got '0'");
  expect_error("SELECT pop(bin7x) " + kP + " WHERE src_ip = ANY", 12,
               "expected a bin length such as bin15, bin1h or bin1d, got 'bin7x'");
  expect_error("SELECT pop " + kP + " WHERE (src_ip = ANY", 73,
               "expected AND, OR or ')', got the end of the query");
  expect_error("SELECT pop " + kP + " WHERE src_ip = ANY LIMIT 5", 73,
               "expected WHERE, USING or the end of the query, got 'LIMIT'");
  expect_error("", 1, "expected SELECT, got the end of the query");
}

BOOST_AUTO_TEST_CASE(caret_message) {
  const std::string q = "SELECT top-10 FORM 2026-11-01 10:00 TO 2026-11-01 11:00";
  try {
    parse(q);
    BOOST_ERROR("accepted");
  } catch (const FlowQLError& e) {
    BOOST_TEST(format_error(q, e) ==
               "column 15: expected FROM, got 'FORM'\n"
               "  SELECT top-10 FORM 2026-11-01 10:00 TO 2026-11-01 11:00\n"
               "                ^");
  }
}

BOOST_AUTO_TEST_CASE(too_complex_condition) {
  std::string w =
      "src_ip IN (1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8, 5.0.0.0/8, 6.0.0.0/8, 7.0.0.0/8, "
      "8.0.0.0/8)";
  const std::string q =
      "SELECT pop " + kP + " WHERE " + w + " AND (dst_ip IN (" +
      "1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8, 5.0.0.0/8, 6.0.0.0/8, 7.0.0.0/8, 8.0.0.0/8))" +
      " AND (dst_port IN (1, 2, 3, 4, 5))";
  const Query parsed = parse(q);
  try {
    compile(&*parsed.where);
    BOOST_ERROR("compiled");
  } catch (const FlowQLError& e) {
    BOOST_TEST(e.column() == 60);
    BOOST_TEST(std::string(e.what()) ==
               "condition too complex: more than 256 AND-terms after expanding OR");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(flowql_exec)

BOOST_AUTO_TEST_CASE(region_bounds_match_query_for_nodes) {
  const Flowtree t = with_interior_mass();
  // Not a node: nearest ancestor 10.0.0.0/24 holds 4 that may belong to the /25.
  const RegionEstimate e = where(t, "src_ip = 10.0.0.0/25");
  BOOST_TEST(e.lower.packets == 8);
  BOOST_TEST(e.estimate.packets == 12);
  BOOST_TEST(e.upper.packets == 14);
  const auto q = flowtree::query(t, t.hierarchy().parse("10.0.0.0/25"));
  BOOST_TEST(str(e.lower) == str(q.lower));
  BOOST_TEST(str(e.estimate) == str(q.estimate));
  BOOST_TEST(str(e.upper) == str(q.upper));
  // A node: its pop; the root's 2 only widen the upper bound.
  const RegionEstimate n = where(t, "src_ip = 10.0.0.0/24");
  const auto qn = flowtree::query(t, t.hierarchy().parse("10.0.0.0/24"));
  BOOST_TEST(n.lower.packets == 12);
  BOOST_TEST(n.estimate.packets == 12);
  BOOST_TEST(n.upper.packets == 14);
  BOOST_TEST(str(n.estimate) == str(qn.estimate));
  BOOST_TEST(str(n.upper) == str(qn.upper));
  // A union that is no node: 10.0.0.0/25 plus all of 192.168.1.1.
  const RegionEstimate u = where(t, "src_ip = 10.0.0.0/25 OR src_ip = 192.168.0.0/16");
  BOOST_TEST(u.lower.packets == 10);
  BOOST_TEST(u.estimate.packets == 14);
  BOOST_TEST(u.upper.packets == 16);
  BOOST_TEST(!u.exact());
  const RegionEstimate all = where(t, "src_ip = ANY");
  BOOST_TEST(all.lower.packets == 16);
  BOOST_TEST(all.exact());
  const RegionEstimate none = where(t, "src_ip = 172.16.0.0/12");
  BOOST_TEST(none.lower.packets == 0);
  BOOST_TEST(none.upper.packets == 2);
}

BOOST_AUTO_TEST_CASE(two_feature_region_not_aligned) {
  Flowtree t = tree(FeatureSet::SIDP);
  const auto& h = t.hierarchy();
  t.add(h.leaf(test::ip("10.0.0.1"), IpAddr{}, 0, 80, 6), pk(1));
  t.add(h.leaf(test::ip("10.0.0.1"), IpAddr{}, 0, 443, 6), pk(2));
  t.add(h.leaf(test::ip("10.0.0.2"), IpAddr{}, 0, 80, 6), pk(4));
  t.add(h.leaf(test::ip("10.0.1.2"), IpAddr{}, 0, 80, 6), pk(8));
  const RegionEstimate e = where(t, "src_ip = 10.0.0.0/24 AND dst_port = 0-100");
  BOOST_TEST(e.lower.packets == 5);
  BOOST_TEST(e.exact());
  BOOST_TEST(where(t, "src_ip = 10.0.0.0/16 AND dst_port IN (80, 443)").lower.packets == 15);
  BOOST_TEST(where(t, "dst_port = 443 OR src_ip = 10.0.1.0/24").lower.packets == 10);
}

BOOST_AUTO_TEST_CASE(ranking_on_the_selected_region) {
  StateDir d;
  d.write("c", 86400, k1000 - 36000, with_interior_mass());
  const StateDirSource src = d.source();
  const std::string day = "FROM 2026-11-01 00:00 TO 2026-11-02 00:00";
  const Result drill_all = run("SELECT drill " + day + " USING SI", src);
  BOOST_TEST(rows(drill_all.answers.at(0)) == "10.0.0.0/24=12 192.168.1.1/32=2 ");
  const Result drill24 = run("SELECT drill " + day + " WHERE src_ip = 10.0.0.0/24", src);
  BOOST_TEST(rows(drill24.answers.at(0)) == "10.0.0.1/32=5 10.0.0.2/32=3 ");
  BOOST_TEST(rows(run("SELECT above-3 " + day + " USING SI", src).answers.at(0)) ==
             "*=16 10.0.0.0/24=12 10.0.0.1/32=5 10.0.0.2/32=3 ");
  BOOST_TEST(
      rows(run("SELECT above-3 " + day + " WHERE src_ip = 10.0.0.0/30", src).answers.at(0)) ==
      "10.0.0.1/32=5 10.0.0.2/32=3 ");
  // phi 25 % of 16 = 4: 10.0.0.1 (5), 10.0.0.0/24 (4 + 3), root (2 + 2).
  BOOST_TEST(rows(run("SELECT hhh-25 " + day + " USING SI", src).answers.at(0)) ==
             "10.0.0.0/24=7 10.0.0.1/32=5 *=4 ");
  // Within 10.0.0.0/16 the total is 12, so 25 % is 3.
  BOOST_TEST(rows(run("SELECT hhh-25 " + day + " WHERE src_ip = 10.0.0.0/16", src).answers.at(0)) ==
             "10.0.0.1/32=5 10.0.0.0/24=4 10.0.0.2/32=3 ");
  BOOST_TEST(rows(run("SELECT * " + day + " WHERE src_ip = 192.168.0.0/16", src).answers.at(0)) ==
             "192.168.1.1/32=2 ");
  try {
    run("SELECT pop " + day + " WHERE src_ip = ANY AND proto = 6", src);
    BOOST_ERROR("proto accepted on trees without a protocol key");
  } catch (const FlowQLError& e) {
    BOOST_TEST(e.column() == 77);
  }
}

BOOST_AUTO_TEST_CASE(multi_bin_and_multi_site_merges) {
  StateDir d;
  write_two_sites(d);
  const StateDirSource src = d.source();
  BOOST_TEST(src.sites() == (std::vector<std::string>{"a", "b"}));
  const std::string two = "FROM 2026-11-01 10:00 TO 2026-11-01 10:02";
  const Result a = run("SELECT pop " + two + " WHERE site_id = a AND src_ip = 10.0.0.0/24", src);
  BOOST_REQUIRE(a.answers.size() == 1u);
  BOOST_TEST(a.answers[0].site == "a");
  BOOST_TEST(a.answers[0].trees == 2u);
  BOOST_TEST(a.answers[0].covered_seconds == 120);
  BOOST_TEST(str(a.answers[0].estimate->lower) == "9,900,3");
  BOOST_TEST(a.answers[0].estimate->exact());
  const Result all = run("SELECT pop " + two + " WHERE src_ip = 10.0.0.0/16", src);
  BOOST_TEST(all.answers[0].site == "*");
  BOOST_TEST(all.answers[0].trees == 3u);
  BOOST_TEST(all.answers[0].estimate->estimate.packets == 22);
  const Result top = run("SELECT top-2 " + two + " WHERE src_ip = ANY", src);
  BOOST_TEST(rows(top.answers[0]) == "10.0.0.1/32=13 10.0.1.1/32=6 ");
  // Two periods are one merged answer.
  const Result periods =
      run("SELECT pop FROM 2026-11-01 10:00 TO 2026-11-01 10:01, 2026-11-01 10:01 TO "
          "2026-11-01 10:02 WHERE site_id IN (a, b) AND src_ip = ANY",
          src);
  BOOST_TEST(periods.answers.at(0).site == "a,b");
  BOOST_TEST(periods.answers[0].estimate->estimate.packets == 25);
  try {
    run("SELECT pop " + two + " WHERE site_id = zz AND src_ip = ANY", src);
    BOOST_ERROR("unknown site accepted");
  } catch (const FlowQLError& e) {
    BOOST_TEST(std::string(e.what()) == "unknown site 'zz' (stored sites: a, b)");
  }
}

BOOST_AUTO_TEST_CASE(iterate_sites_and_bins) {
  StateDir d;
  write_two_sites(d);
  const StateDirSource src = d.source();
  const Result itr =
      run("SELECT pop FROM 2026-11-01 10:00 TO 2026-11-01 10:02 WHERE site_id = ITR AND "
          "src_ip = 10.0.0.0/16",
          src);
  BOOST_REQUIRE(itr.answers.size() == 2u);
  BOOST_TEST(itr.answers[0].site == "a");
  BOOST_TEST(itr.answers[0].estimate->estimate.packets == 15);
  BOOST_TEST(itr.answers[1].site == "b");
  BOOST_TEST(itr.answers[1].estimate->estimate.packets == 7);
  BOOST_TEST(itr.to_text() ==
             "pop by packets, feature set SI\n"
             "site  from              to                trees  packets lower  estimate  upper\n"
             "a     2026-11-01 10:00  2026-11-01 10:02      2             15        15     15\n"
             "b     2026-11-01 10:00  2026-11-01 10:02      1              7         7      7\n");
  const nlohmann::json j = itr.to_json();
  BOOST_TEST(j["answers"][1]["lower"]["bytes"] == 700);
  BOOST_TEST(j["answers"][1]["from"] == "2026-11-01T10:00:00Z");
  BOOST_TEST(j["answers"][1]["exact"] == true);
  const Result bins =
      run("SELECT pop(bin1) FROM 2026-11-01 10:00 TO 2026-11-01 10:03 WHERE site_id = a "
          "AND src_ip = ANY",
          src);
  BOOST_REQUIRE(bins.answers.size() == 3u);
  BOOST_TEST(bins.answers[0].estimate->estimate.packets == 10);
  BOOST_TEST(bins.answers[1].estimate->estimate.packets == 7);
  BOOST_TEST(bins.answers[2].trees == 0u);
  BOOST_TEST(bins.answers[2].estimate->estimate.packets == 0);
  BOOST_TEST(bins.answers[2].from == k1000 + 120);
}

BOOST_AUTO_TEST_CASE(planner_prefers_coarse_bins) {
  StateDir d;
  write_two_sites(d);
  Flowtree hour = tree(FeatureSet::SI);
  add_si(hour, "10.0.0.1", 6);
  add_si(hour, "10.0.0.2", 3);
  add_si(hour, "192.168.1.1", 2);
  add_si(hour, "10.0.1.1", 6);
  d.write("a", 3600, k1000, hour);
  const StateDirSource src = d.source();
  const Result h = run("SELECT pop " + kP + " WHERE site_id = a AND src_ip = ANY", src);
  BOOST_TEST(h.answers[0].trees == 1u);
  BOOST_TEST(h.answers[0].covered_seconds == 3600);
  BOOST_TEST(h.answers[0].estimate->estimate.packets == 17);
  const Result m = run("SELECT pop " + kP + " WHERE site_id = a AND src_ip = ANY USING 1m", src);
  BOOST_TEST(m.answers[0].trees == 2u);
  BOOST_TEST(m.answers[0].estimate->estimate.packets == 17);
  // Not inside the hour: only the minute bins fit.
  const Result part =
      run("SELECT pop FROM 2026-11-01 10:01 TO 2026-11-01 10:30 WHERE site_id = a AND "
          "src_ip = ANY",
          src);
  BOOST_TEST(part.answers[0].trees == 1u);
  BOOST_TEST(part.answers[0].estimate->estimate.packets == 7);
}

BOOST_AUTO_TEST_CASE(heavy_changers_between_periods) {
  StateDir d;
  write_two_sites(d);
  const StateDirSource src = d.source();
  // Site a from 10:00 to 10:01: 10.0.1.1 +6, 10.0.0.1 -4, 10.0.0.2 -3, 192.168.1.1 -2.
  const Result hc =
      run("SELECT hc-2 FROM 2026-11-01 10:00 TO 2026-11-01 10:01, 2026-11-01 10:01 TO "
          "2026-11-01 10:02 WHERE site_id = ITR AND src_ip = ANY",
          src);
  BOOST_REQUIRE(hc.answers.size() == 2u);
  BOOST_TEST(hc.answers[0].trees == 2u);
  BOOST_TEST(rows(hc.answers[0]) == "10.0.1.1/32=6 10.0.0.1/32=-4 ");
  BOOST_TEST(str(hc.answers[0].rows[1].value) == "-4,-400,0");
  // Site b has nothing after 10:01: everything it had is a change.
  BOOST_TEST(rows(hc.answers[1]) == "10.0.0.1/32=-7 172.16.0.1/32=-1 ");
  // Restricted to 10.0.0.0/16 the 10.0.0.0/24 HHHs compete only with each other.
  const Result r =
      run("SELECT hc-1 FROM 2026-11-01 10:00 TO 2026-11-01 10:01, 2026-11-01 10:01 TO "
          "2026-11-01 10:02 WHERE site_id = a AND src_ip = 10.0.0.0/24",
          src);
  BOOST_TEST(rows(r.answers[0]) == "10.0.0.1/32=-4 ");
}

BOOST_AUTO_TEST_SUITE_END()
