#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "control/ddos_detector.h"
#include "control/flow_summaries.h"
#include "control/tree_store.h"
#include "dataplane/flow_set.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "dataplane/flowtree/flowtree_queries.h"

using namespace haystack;
using namespace haystack::flowtree;

namespace {
constexpr uint64_t kSec = 1'000'000'000ULL;

FlowtreeConfig cfg(FeatureSet fs, uint32_t budget = 1000, uint64_t seed = 1) {
  FlowtreeConfig c;
  c.feature_set = fs;
  c.budget = budget;
  c.p = 1.0;  // deterministic structure for exact comparisons
  c.seed = seed;
  return c;
}

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  uint8_t x[4] = {a, b, c, d};
  return IpAddr::from_v4(x);
}

// A worker record for bin `start` with SI and DP trees holding `n` packets from 10.0.0.<i>.
BinRecord record(uint32_t worker, uint64_t start, int n, uint16_t dport = 80, int base = 0) {
  BinRecord r;
  r.reset(worker, start, start + 60 * kSec);
  r.trees.emplace_back(cfg(FeatureSet::SI, 1000, worker + 1));
  r.trees.emplace_back(cfg(FeatureSet::DP, 1000, worker + 1));
  for (int i = 0; i < n; ++i) {
    auto& si = r.trees[0];
    si.add(si.hierarchy().leaf(v4(10, 0, 0, uint8_t(base + i % 50)), IpAddr{}, 0, 0, 0),
           Counters{1, 100, 0});
    auto& dp = r.trees[1];
    dp.add(dp.hierarchy().leaf(IpAddr{}, IpAddr{}, 0, dport, 0), Counters{1, 100, 0});
  }
  return r;
}

struct Collected {
  std::vector<SiteTrees> sets;
};

FlowSummaries make(Collected& out, uint32_t workers, std::vector<uint32_t> rollups = {}) {
  return FlowSummaries({cfg(FeatureSet::SI), cfg(FeatureSet::DP)}, workers, 60, rollups,
                       [&out](const SiteTrees& s) { out.sets.push_back(s); });
}
}  // namespace

BOOST_AUTO_TEST_SUITE(flow_summaries)

BOOST_AUTO_TEST_CASE(flow_set_counts_each_tuple_once_per_generation) {
  FlowSet fs(64);
  BOOST_TEST(fs.capacity() == 64u);
  BOOST_TEST((fs.insert(42) == FlowSet::Result::kNew));
  BOOST_TEST((fs.insert(42) == FlowSet::Result::kSeen));
  BOOST_TEST((fs.insert(43) == FlowSet::Result::kNew));
  BOOST_TEST(fs.size() == 2u);
  fs.clear();
  BOOST_TEST(fs.size() == 0u);
  BOOST_TEST((fs.insert(42) == FlowSet::Result::kNew));
  FlowSet off(0);
  BOOST_TEST((off.insert(1) == FlowSet::Result::kSeen));
  // Bounded: a full table reports kFull instead of growing.
  FlowSet tiny(4);
  int full = 0, fresh = 0;
  for (uint64_t i = 1; i <= 100; ++i) {
    auto r = tiny.insert(i * 0x9e3779b97f4a7c15ULL);
    full += r == FlowSet::Result::kFull;
    fresh += r == FlowSet::Result::kNew;
  }
  BOOST_TEST(fresh == 4);
  BOOST_TEST(full == 96);
}

BOOST_AUTO_TEST_CASE(bin_completes_when_all_workers_moved_on) {
  Collected out;
  auto fsum = make(out, 2);
  fsum.add(0, record(0, 0, 10));
  fsum.set_position(0, 60 * kSec);
  fsum.add(0, record(0, 60 * kSec, 5));
  fsum.set_position(0, 120 * kSec);
  BOOST_TEST(out.sets.empty());  // worker 1 has not moved past bin 0 yet
  fsum.add(1, record(1, 0, 7));
  BOOST_TEST(out.sets.empty());
  fsum.set_position(1, 60 * kSec);
  fsum.add(1, record(1, 60 * kSec, 1));
  BOOST_REQUIRE(out.sets.size() == 1u);
  BOOST_TEST(out.sets[0].start_ns == 0u);
  BOOST_TEST(out.sets[0].records == 2u);
  BOOST_TEST(out.sets[0].trees[0].total().packets == 17);
  BOOST_TEST(out.sets[0].trees[1].total().bytes == 1700);
  fsum.finish();
  BOOST_REQUIRE(out.sets.size() == 2u);
  BOOST_TEST(out.sets[1].trees[0].total().packets == 6);
}

BOOST_AUTO_TEST_CASE(idle_workers_do_not_hold_bins_back) {
  Collected out;
  auto fsum = make(out, 2);
  fsum.add(0, record(0, 0, 3));
  fsum.set_position(0, 60 * kSec);
  BOOST_TEST(out.sets.empty());
  fsum.set_position(1, FlowSummaries::kIdle);
  BOOST_REQUIRE(out.sets.size() == 1u);
  BOOST_TEST(out.sets[0].trees[0].total().packets == 3);
}

BOOST_AUTO_TEST_CASE(merge_order_does_not_change_the_site_tree) {
  Collected a, b;
  auto fa = make(a, 3), fb = make(b, 3);
  BinRecord r0 = record(0, 0, 40, 80, 0), r1 = record(1, 0, 30, 443, 20), r2 = record(2, 0, 25, 53, 7);
  fa.add(0, r0);
  fa.add(1, r1);
  fa.add(2, r2);
  fb.add(2, r2);
  fb.add(0, r0);
  fb.add(1, r1);
  fa.finish();
  fb.finish();
  BOOST_REQUIRE(a.sets.size() == 1u);
  BOOST_REQUIRE(b.sets.size() == 1u);
  for (size_t i = 0; i < 2; ++i) {
    BOOST_TEST(to_json(a.sets[0].trees[i]).dump() == to_json(b.sets[0].trees[i]).dump());
  }
  // DP: exact per-port counts survive the merge.
  const auto& dp = a.sets[0].trees[1];
  auto q = query(dp, dp.hierarchy().leaf(IpAddr{}, IpAddr{}, 0, 443, 0));
  BOOST_TEST(q.exact);
  BOOST_TEST(q.estimate.packets == 30);
}

BOOST_AUTO_TEST_CASE(rollups_merge_bins_in_time_order) {
  Collected out;
  auto fsum = FlowSummaries({cfg(FeatureSet::SI), cfg(FeatureSet::DP)}, 1, 60, {900, 3600},
                            [&out](const SiteTrees& s) { out.sets.push_back(s); });
  // Bins at minutes 0, 1, 14, 15 and 61: two 15-min periods in hour 0, one in hour 1.
  for (uint64_t minute : {0, 1, 14, 15, 61}) {
    fsum.add(0, record(0, minute * 60 * kSec, 2));
    fsum.set_position(0, (minute + 1) * 60 * kSec);
  }
  fsum.finish();
  std::vector<std::tuple<uint32_t, uint64_t, int64_t, uint64_t>> got;
  for (const auto& s : out.sets) {
    got.emplace_back(s.seconds, s.start_ns / kSec, s.trees[0].total().packets, s.records);
  }
  std::vector<std::tuple<uint32_t, uint64_t, int64_t, uint64_t>> want{
      {60, 0, 2, 1},     {60, 60, 2, 1},      {60, 840, 2, 1},  {60, 900, 2, 1},
      {900, 0, 6, 3},    {60, 3660, 2, 1},    {900, 900, 2, 1},  // minute 61 closes 15m@900
      {900, 3600, 2, 1},  // finish: the open 15 min closes, which then closes hour 0
      {3600, 0, 8, 2},   {3600, 3600, 2, 1}};
  BOOST_TEST(got.size() == want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    BOOST_TEST((got[i] == want[i]), "set " << i << ": " << std::get<0>(got[i]) << "s @"
                                           << std::get<1>(got[i]) << " pkts "
                                           << std::get<2>(got[i]));
  }
  BOOST_TEST(fsum.counters().bins_completed == 5u);
  BOOST_TEST(fsum.counters().rollups_completed == 5u);
}

BOOST_AUTO_TEST_CASE(late_and_forced_are_counted) {
  Collected out;
  FlowSummaries fsum({cfg(FeatureSet::SI), cfg(FeatureSet::DP)}, 2, 60, {},
                     [&out](const SiteTrees& s) { out.sets.push_back(s); }, /*max_pending=*/2);
  for (uint64_t m = 0; m < 4; ++m) {  // worker 1 silent, position unknown
    fsum.add(0, record(0, m * 60 * kSec, 1));
    fsum.set_position(0, (m + 1) * 60 * kSec);
  }
  BOOST_TEST(fsum.counters().forced_completions == 2u);  // the 3rd and 4th open bin
  BOOST_TEST(out.sets.size() == 2u);
  fsum.add(1, record(1, 0, 5));  // bin 0 already completed: goes to the oldest open bin
  BOOST_TEST(fsum.counters().late_records == 1u);
  fsum.finish();
  int64_t total = 0;
  for (const auto& s : out.sets) total += s.trees[0].total().packets;
  BOOST_TEST(total == 9);  // nothing lost
}

BOOST_AUTO_TEST_CASE(tree_store_layout_and_round_trip) {
  BOOST_TEST(TreeStore::granularity_label(60) == "1m");
  BOOST_TEST(TreeStore::granularity_label(900) == "15m");
  BOOST_TEST(TreeStore::granularity_label(3600) == "1h");
  BOOST_TEST(TreeStore::granularity_label(86400) == "1d");
  BOOST_TEST(TreeStore::granularity_label(45) == "45s");
  BOOST_TEST(TreeStore::period_label(1793527200ULL * kSec) == "20261101T100000Z");
  auto dir = std::filesystem::temp_directory_path() / ("hs-store-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TreeStore store(dir.string(), "fra1");
  Collected out;
  auto fsum = make(out, 1);
  fsum.add(0, record(0, 1793527200ULL * kSec, 12));
  fsum.finish();
  store.write(out.sets.at(0));
  BOOST_TEST(store.counters().trees_written == 2u);
  const std::string p = (dir / "fra1/1m/20261101T100000Z/DP.ftr").string();
  BOOST_REQUIRE(std::filesystem::exists(p));
  std::ifstream f(p, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Flowtree back = deserialize(bytes);
  BOOST_TEST(to_json(back).dump() == to_json(out.sets[0].trees[1]).dump());
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(ddos_alert_on_amplification_port_increase) {
  Config c;
  c.bin_seconds = 60;
  c.sampling.flow_rate = 10;
  c.ddos.ports = {53, 123};
  c.ddos.threshold_packets = 500;
  DdosDetector d(c);
  auto bin = [&](uint64_t minute, int dns_pkts) {
    SiteTrees s;
    s.seconds = 60;
    s.start_ns = minute * 60 * kSec;
    s.trees.emplace_back(cfg(FeatureSet::SP));
    s.trees.emplace_back(cfg(FeatureSet::DP));
    auto& sp = s.trees[0];
    sp.add(sp.hierarchy().leaf(IpAddr{}, IpAddr{}, 53, 0, 0), Counters{dns_pkts, 0, 0});
    sp.add(sp.hierarchy().leaf(IpAddr{}, IpAddr{}, 443, 0, 0), Counters{1000, 0, 0});
    return s;
  };
  BOOST_TEST(d.check(bin(0, 10)).empty());   // first bin vs nothing: 100 < 500
  BOOST_TEST(d.check(bin(1, 50)).empty());   // +400 scaled
  auto alerts = d.check(bin(2, 120));        // +700 scaled
  BOOST_REQUIRE(alerts.size() == 1u);
  BOOST_TEST(alerts[0].type == "ddos_amplification");
  BOOST_TEST(alerts[0].subject == "source port 53");
  BOOST_TEST(alerts[0].details["increase"] == 700);
  BOOST_TEST(alerts[0].details["packets"] == 1200);
  BOOST_TEST(alerts[0].time_ns == 180 * kSec);
  // A gap: compared against zero, 60*10 = 600 >= 500.
  auto gap = d.check(bin(5, 60));
  BOOST_REQUIRE(gap.size() == 1u);
  BOOST_TEST(gap[0].details["previous_packets"] == 0);
}

BOOST_AUTO_TEST_SUITE_END()
