// SqliteStore (control/store/sqlite_store.h) on real SQLite files in a temporary directory.
#include <boost/test/unit_test.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "control/rollup_period.h"
#include "control/store/sqlite_db.h"
#include "control/store/sqlite_store.h"
#include "dataplane/flowtree/flowtree_io.h"

using namespace haystack;
using namespace haystack::flowtree;
using namespace haystack::store;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSec = 1'000'000'000ULL;

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() /
        ("haystack-sqlite-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string file(const std::string& n = "haystack.sqlite") const { return (p / n).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

int64_t utc(int y, int mo, int d, int h = 0, int mi = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return int64_t(timegm(&tm));
}

FlowtreeConfig site_cfg(FeatureSet fs, uint32_t budget = 96) {
  FlowtreeConfig c;
  c.feature_set = fs;
  c.budget = budget;
  c.p = 1.0;
  c.seed = 7 + uint64_t(fs);
  return c;
}

std::vector<FlowtreeConfig> site_cfgs(uint32_t budget = 96) {
  return {site_cfg(FeatureSet::SI, budget), site_cfg(FeatureSet::DP, budget)};
}

// A bin as FlowSummaries hands it over: SI and DP trees, compressed and canonical, with
// `n` packets drawn from a per-bin RNG (different bins, different heavy hitters).
SiteTrees bin(uint32_t seconds, int64_t start, int n = 200, uint32_t budget = 96) {
  SiteTrees s;
  s.seconds = seconds;
  s.start_ns = uint64_t(start) * kSec;
  s.records = 2;
  std::mt19937_64 rng(uint64_t(start) * 31 + seconds);
  for (const auto& c : site_cfgs(budget)) {
    Flowtree t(c);
    for (int i = 0; i < n; ++i) {
      const uint8_t a[4] = {10, uint8_t(rng() % 4), uint8_t(rng() % 16), uint8_t(rng() % 64)};
      const uint16_t port = uint16_t(rng() % 3 == 0 ? 443 : 1000 + rng() % 2000);
      t.add(t.hierarchy().leaf(IpAddr::from_v4(a), IpAddr{}, 0, port, 6),
            Counters{1, int64_t(60 + rng() % 1400), 0});
    }
    t.compress_to(c.budget);
    t.canonicalize();
    s.trees.push_back(std::move(t));
  }
  return s;
}

SqliteOptions opts(const std::string& path, uint32_t bin_seconds = 60,
                   std::vector<uint32_t> rollups = {}) {
  SqliteOptions o;
  o.path = path;
  o.site = "siteA";
  o.bin_seconds = bin_seconds;
  o.rollups = std::move(rollups);
  o.site_configs = site_cfgs();
  o.retention_interval_seconds = 86400;  // tests call run_retention() themselves
  return o;
}

std::vector<uint8_t> bytes_of(const Flowtree& t) {
  return serialize(t);
}

// Merges trees in order into a fresh site tree and compresses it, by hand.
Flowtree merged(const FlowtreeConfig& c, const std::vector<const Flowtree*>& parts) {
  Flowtree acc(c);
  for (const Flowtree* p : parts) acc.merge(*p);
  acc.compress_to(c.budget);
  acc.canonicalize();
  return acc;
}

int64_t count(SqliteDb& db, const std::string& sql) {
  return db.scalar(sql).value_or(-1);
}
std::string text(SqliteDb& db, const std::string& sql) {
  return db.scalar_text(sql).value_or("<null>");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_store)

BOOST_AUTO_TEST_CASE(trees_round_trip_exactly) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  const SiteTrees a = bin(60, t0), b = bin(60, t0 + 60, 500);
  {
    SqliteStore s(opts(d.file()));
    s.put_trees(a);
    s.put_trees(b);
    BOOST_TEST(s.counters().trees_written == 4u);
    BOOST_TEST(s.counters().write_errors == 0u);
    BOOST_TEST(s.sites() == std::vector<std::string>{"siteA"});
    BOOST_TEST(s.granularities("siteA") == std::vector<uint32_t>{60});
    BOOST_TEST(s.bins("siteA", 60, FeatureSet::DP, t0, t0 + 120) ==
               (std::vector<int64_t>{t0, t0 + 60}));
    // [from, to): a bin must end by `to`.
    BOOST_TEST(s.bins("siteA", 60, FeatureSet::DP, t0, t0 + 119) == std::vector<int64_t>{t0});
    BOOST_TEST(s.bins("siteA", 60, FeatureSet::FULL, t0, t0 + 120).empty());
    s.flush();
  }
  // Reopened (read-only, as haystack-flowtree does): the very same trees come back.
  SqliteOptions ro = opts(d.file());
  ro.read_only = true;
  SqliteStore s(ro);
  for (const SiteTrees* st : {&a, &b}) {
    for (const Flowtree& t : st->trees) {
      const Flowtree back =
          s.load("siteA", 60, int64_t(st->start_ns / kSec), t.config().feature_set);
      BOOST_TEST(bytes_of(back) == bytes_of(t));
    }
  }
  SqliteDb db(d.file(), true);
  Stmt q(db,
         "SELECT nodes, packets, bytes, format_version, rollup FROM trees WHERE start = ? AND "
         "feature_set = 'SI'");
  q.args(t0 + 60);
  BOOST_REQUIRE(q.step());
  BOOST_TEST(q.i64(0) == int64_t(b.trees[0].size()));
  BOOST_TEST(q.i64(1) == 500);
  BOOST_TEST(q.i64(2) == b.trees[0].pop(Flowtree::kRoot).bytes);
  BOOST_TEST(q.i64(3) == int64_t(kFormatVersion));
  BOOST_TEST(q.i64(4) == 0);
  const std::string err = error_of([&] { s.load("siteA", 60, t0 + 120, FeatureSet::SI); });
  BOOST_TEST(err.find(d.file()) != std::string::npos);
  BOOST_TEST(err.find("not stored") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_row_type) {
  TempDir d;
  SqliteStore s(opts(d.file()));
  detection::WindowReport r;
  r.kind = detection::WindowKind::kHour;
  r.start_ns = uint64_t(utc(2026, 11, 22, 10)) * kSec;
  r.end_ns = r.start_ns + 3600 * kSec;
  for (int i = 0; i < 2; ++i) {
    detection::Detection x;
    x.line = "line" + std::to_string(i);
    x.service_key = "alexa";
    x.level = hitlist::Level::kPlatform;
    x.domains = {"a.example", "b.example"};
    x.domains_required = 2;
    x.domains_total = 3;
    x.packets = 10 + uint64_t(i);
    x.bytes = 1000;
    x.first_seen_ns = r.start_ns + 5;
    x.last_seen_ns = r.start_ns + 9;
    x.active = i == 1;
    x.active_hours = 1;
    r.detections.push_back(x);
  }
  for (const char* k : {"alexa", "hue", "ring"}) {
    detection::ServiceLineCount c;
    c.service_key = k;
    c.lines = std::string(k) == "alexa" ? 2 : 0;
    c.active_lines = std::string(k) == "alexa" ? 1 : 0;
    r.service_counts.push_back(c);
  }
  s.put_windows({r});
  s.put_windows({r});  // the same window again (replay) replaces, never duplicates
  nlohmann::ordered_json e;
  e["window"] = "day";
  e["window_start"] = "2026-11-22T00:00:00.000000000Z";
  e["prefixes_seen"] = 7;
  e["prefixes_exposed"] = 2;
  e["exposed_share"] = 0.2857;
  e["manufacturers"] = nlohmann::ordered_json::array();
  e["prefixes"] = nlohmann::ordered_json::array();
  s.put_eui64(e);
  Alert a;
  a.time_ns = r.start_ns + 42;
  a.type = "ddos_amplification";
  a.severity = Severity::kCritical;
  a.subject = "udp/53";
  a.details = {{"packets", 123}};
  s.put_alert(a);
  HitlistGenerationRow g{3,   "/etc/haystack/hitlist.bundle",     "2026-11-01", "2026-12-01", 40,
                         900, uint64_t(utc(2026, 11, 22)) * kSec, "signal"};
  s.put_hitlist_generation(g);
  BOOST_TEST(s.counters().rows_written == 2u * 5u + 3u);
  BOOST_TEST(s.counters().write_errors == 0u);

  SqliteDb db(d.file(), true);
  BOOST_TEST(count(db, "SELECT count(*) FROM detections") == 2);
  BOOST_TEST(count(db, "SELECT packets FROM detections WHERE line = 'line1'") == 11);
  BOOST_TEST(count(db, "SELECT active FROM detections WHERE line = 'line1'") == 1);
  BOOST_TEST(text(db, "SELECT domains FROM detections WHERE line = 'line0'") ==
             std::string(R"(["a.example","b.example"])"));
  BOOST_TEST(text(db, "SELECT window FROM detections LIMIT 1") == std::string("hour"));
  BOOST_TEST(count(db, "SELECT window_end - window_start FROM detections LIMIT 1") == 3600);
  BOOST_TEST(count(db, "SELECT count(*) FROM service_counts") == 3);
  BOOST_TEST(count(db, "SELECT lines FROM service_counts WHERE service_key = 'alexa'") == 2);
  BOOST_TEST(count(db, "SELECT window_start FROM eui64_windows") == utc(2026, 11, 22));
  BOOST_TEST(count(db, "SELECT prefixes_exposed FROM eui64_windows") == 2);
  BOOST_TEST(text(db, "SELECT report FROM eui64_windows") == std::string(e.dump()));
  BOOST_TEST(count(db, "SELECT time_ns FROM alerts") == int64_t(a.time_ns));
  BOOST_TEST(text(db, "SELECT severity || ' ' || subject || ' ' || details FROM alerts") ==
             std::string(R"(critical udp/53 {"packets":123})"));
  BOOST_TEST(count(db, "SELECT endpoints FROM hitlist_generations WHERE number = 3") == 900);
  BOOST_TEST(text(db, "SELECT trigger FROM hitlist_generations") == std::string("signal"));
  BOOST_TEST(text(db, "PRAGMA journal_mode") == std::string("wal"));
}

// 1 min bins -> 15 min -> 1 h, each level equal to merging the finer trees by hand.
BOOST_AUTO_TEST_CASE(rollups_15m_1h_equal_merging_by_hand) {
  TempDir d;
  std::vector<SiteTrees> rolled;
  SqliteOptions o = opts(d.file(), 60, {900, 3600});
  o.on_rollup = [&](const SiteTrees& s) { rolled.push_back(s); };
  SqliteStore s(o);
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  std::vector<SiteTrees> bins;
  for (int i = 0; i < 62; ++i) {  // 10:00 .. 11:01: one hour and two minutes
    bins.push_back(bin(60, t0 + 60 * i));
    s.put_trees(bins.back());
  }
  // Four 15 min periods and one hour are complete; 11:00 is still open.
  BOOST_TEST(s.bins("siteA", 900, FeatureSet::SI, 0, INT64_MAX) ==
             (std::vector<int64_t>{t0, t0 + 900, t0 + 1800, t0 + 2700}));
  BOOST_TEST(s.bins("siteA", 3600, FeatureSet::SI, 0, INT64_MAX) == std::vector<int64_t>{t0});
  BOOST_TEST(s.counters().rollups_written == 5u * 2u);
  BOOST_TEST(s.counters().trees_written == 62u * 2u + 5u * 2u);
  BOOST_REQUIRE(rolled.size() == 5u);
  BOOST_TEST(rolled[4].seconds == 3600u);
  BOOST_TEST(rolled[4].records == 4u);
  BOOST_TEST(rolled[0].records == 15u);
  for (size_t f = 0; f < 2; ++f) {
    const FlowtreeConfig c = site_cfgs()[f];
    std::vector<Flowtree> quarters;
    for (int q = 0; q < 4; ++q) {
      std::vector<const Flowtree*> parts;
      for (int m = 0; m < 15; ++m) parts.push_back(&bins[size_t(q * 15 + m)].trees[f]);
      quarters.push_back(merged(c, parts));
      const Flowtree got = s.load("siteA", 900, t0 + 900 * q, c.feature_set);
      BOOST_TEST(bytes_of(got) == bytes_of(quarters.back()));
      BOOST_TEST(got.size() <= c.budget);
    }
    const Flowtree hour = merged(c, {&quarters[0], &quarters[1], &quarters[2], &quarters[3]});
    BOOST_TEST(bytes_of(s.load("siteA", 3600, t0, c.feature_set)) == bytes_of(hour));
    BOOST_TEST(bytes_of(rolled[4].trees[f]) == bytes_of(hour));
    // Totals are exact through the merges.
    int64_t packets = 0;
    for (int m = 0; m < 60; ++m) packets += bins[size_t(m)].trees[f].pop(Flowtree::kRoot).packets;
    BOOST_TEST(hour.pop(Flowtree::kRoot).packets == packets);
  }
  SqliteDb db(d.file(), true);
  BOOST_TEST(count(db, "SELECT count(*) FROM trees WHERE rollup = 1") == 10);
  BOOST_TEST(count(db, "SELECT records FROM trees WHERE seconds = 3600 LIMIT 1") == 4);
}

// Hourly bins -> 1 d -> 1 w; weeks are ISO weeks starting Monday 00:00 UTC.
BOOST_AUTO_TEST_CASE(rollups_1d_1w_iso_weeks) {
  BOOST_TEST(period_start(uint64_t(utc(2026, 11, 19, 12)), 604800) == uint64_t(utc(2026, 11, 16)));
  BOOST_TEST(period_start(uint64_t(utc(2026, 11, 16)), 604800) == uint64_t(utc(2026, 11, 16)));
  BOOST_TEST(period_start(uint64_t(utc(2026, 11, 15, 23, 59)), 604800) ==
             uint64_t(utc(2026, 11, 9)));
  TempDir d;
  SqliteStore s(opts(d.file(), 3600, {86400, 604800}));
  // Sunday 2026-11-15 00:00 to Monday 2026-11-23 01:00 (the hour 00:00 completes Sunday).
  const int64_t t0 = utc(2026, 11, 15);
  std::vector<SiteTrees> hours;
  for (int64_t t = t0; t < utc(2026, 11, 23, 1); t += 3600) {
    hours.push_back(bin(3600, t, 60));
    s.put_trees(hours.back());
  }
  BOOST_TEST(s.bins("siteA", 86400, FeatureSet::DP, 0, INT64_MAX).size() == 8u);  // 15th..22nd
  // Week of Monday 9th (only its Sunday stored) and of Monday 16th (complete); the week
  // of the 23rd is open. No Thursday-aligned period appears.
  BOOST_TEST(s.bins("siteA", 604800, FeatureSet::DP, 0, INT64_MAX) ==
             (std::vector<int64_t>{utc(2026, 11, 9), utc(2026, 11, 16)}));
  for (size_t f = 0; f < 2; ++f) {
    const FlowtreeConfig c = site_cfgs()[f];
    std::vector<Flowtree> days;
    for (int day = 1; day <= 7; ++day) {  // Monday 16th .. Sunday 22nd
      std::vector<const Flowtree*> parts;
      for (int h = 0; h < 24; ++h) parts.push_back(&hours[size_t(day * 24 + h)].trees[f]);
      days.push_back(merged(c, parts));
      BOOST_TEST(bytes_of(s.load("siteA", 86400, t0 + 86400 * day, c.feature_set)) ==
                 bytes_of(days.back()));
    }
    std::vector<const Flowtree*> parts;
    for (const Flowtree& t : days) parts.push_back(&t);
    BOOST_TEST(bytes_of(s.load("siteA", 604800, utc(2026, 11, 16), c.feature_set)) ==
               bytes_of(merged(c, parts)));
  }
}

// A crash after bins committed but before their roll-ups: reopening builds them.
BOOST_AUTO_TEST_CASE(crash_catch_up_on_open) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  std::vector<SiteTrees> bins;
  {
    SqliteStore s(opts(d.file(), 60, {}));  // as if the process died before rolling up
    for (int i = 0; i < 40; ++i) {          // 10:00 .. 10:39: two full quarters and part of one
      bins.push_back(bin(60, t0 + 60 * i));
      s.put_trees(bins.back());
    }
    BOOST_TEST(s.counters().rollups_written == 0u);
  }
  {
    SqliteStore s(opts(d.file(), 60, {900, 3600}));
    BOOST_TEST(s.counters().rollups_written == 2u * 2u);
    BOOST_TEST(s.bins("siteA", 900, FeatureSet::SI, 0, INT64_MAX) ==
               (std::vector<int64_t>{t0, t0 + 900}));
    BOOST_TEST(s.bins("siteA", 3600, FeatureSet::SI, 0, INT64_MAX).empty());
    std::vector<const Flowtree*> parts;
    for (int m = 15; m < 30; ++m) parts.push_back(&bins[size_t(m)].trees[0]);
    BOOST_TEST(bytes_of(s.load("siteA", 900, t0 + 900, FeatureSet::SI)) ==
               bytes_of(merged(site_cfgs()[0], parts)));
    // The process continues: bins up to 11:00 complete the third and fourth quarter and
    // the hour.
    for (int i = 40; i < 61; ++i) s.put_trees(bin(60, t0 + 60 * i));
    BOOST_TEST(s.counters().rollups_written == (2u + 2u + 1u) * 2u);
  }
  // Nothing left to catch up: reopening builds nothing again.
  SqliteStore s(opts(d.file(), 60, {900, 3600}));
  BOOST_TEST(s.counters().rollups_written == 0u);
  BOOST_TEST(s.catch_up_rollups() == 0u);
}

// A bin arriving for a period already rolled up (a replay) rebuilds that roll-up.
BOOST_AUTO_TEST_CASE(late_bin_rebuilds_rollup) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  SqliteStore s(opts(d.file(), 60, {900}));
  std::vector<SiteTrees> bins;
  for (int i = 0; i < 16; ++i) {
    if (i == 3) continue;  // 10:03 is missing at first
    bins.push_back(bin(60, t0 + 60 * i));
    s.put_trees(bins.back());
  }
  BOOST_TEST(s.counters().rollups_written == 1u * 2u);
  bins.insert(bins.begin() + 3, bin(60, t0 + 180));
  s.put_trees(bins[3]);  // late: the quarter is rebuilt with it
  BOOST_TEST(s.counters().rollups_written == 2u * 2u);
  std::vector<const Flowtree*> parts;
  for (int m = 0; m < 15; ++m) parts.push_back(&bins[size_t(m)].trees[1]);
  BOOST_TEST(bytes_of(s.load("siteA", 900, t0, FeatureSet::DP)) ==
             bytes_of(merged(site_cfgs()[1], parts)));
}

// Replaying old data into a filled store rebuilds each period a bounded number of times,
// not every later period again for every bin (which made such a replay quadratic).
BOOST_AUTO_TEST_CASE(replay_into_filled_store_is_linear) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 8, 0);
  SqliteStore s(opts(d.file(), 60, {900}));
  std::vector<SiteTrees> bins;
  for (int i = 0; i < 240; ++i) bins.push_back(bin(60, t0 + 60 * i, 20));
  for (const auto& b : bins) s.put_trees(b);
  BOOST_TEST(s.counters().rollups_written == 16u * 2u);  // 4 h of quarters, 2 feature sets
  for (const auto& b : bins) s.put_trees(b);
  // The first quarter is rebuilt with each of its 15 (late) bins; that moves the
  // watermark back to 08:15, so the rest of the replay is in-order traffic again: each
  // later quarter once, when its last bin arrives.
  BOOST_TEST(s.counters().rollups_written == 16u * 2u + (15u + 15u) * 2u);
  std::vector<const Flowtree*> parts;
  for (int m = 225; m < 240; ++m) parts.push_back(&bins[size_t(m)].trees[1]);
  BOOST_TEST(bytes_of(s.load("siteA", 900, t0 + 225 * 60, FeatureSet::DP)) ==
             bytes_of(merged(site_cfgs()[1], parts)));
}

// Shutdown rolls up the open periods as they stand (partial); a later bin of the period
// removes those, and the complete roll-up replaces them.
BOOST_AUTO_TEST_CASE(flush_writes_partial_rollups) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  std::vector<SiteTrees> bins;
  for (int i = 0; i < 16; ++i) bins.push_back(bin(60, t0 + 60 * i));
  auto by_hand = [&](int from, int to, size_t f) {
    std::vector<const Flowtree*> parts;
    for (int m = from; m < to; ++m) parts.push_back(&bins[size_t(m)].trees[f]);
    return bytes_of(merged(site_cfgs()[f], parts));
  };
  {
    SqliteStore s(opts(d.file(), 60, {900, 3600}));
    for (int i = 0; i < 5; ++i) s.put_trees(bins[size_t(i)]);
    BOOST_TEST(s.counters().rollups_written == 0u);
    s.flush();
    BOOST_TEST(s.counters().rollups_written == 2u * 2u);  // 10:00 quarter and hour, partial
    BOOST_TEST(bytes_of(s.load("siteA", 900, t0, FeatureSet::DP)) == by_hand(0, 5, 1));
    BOOST_TEST(bytes_of(s.load("siteA", 3600, t0, FeatureSet::DP)) == by_hand(0, 5, 1));
  }
  SqliteDb db(d.file(), true);
  BOOST_TEST(count(db, "SELECT count(*) FROM trees WHERE partial = 1") == 4);
  SqliteStore s(opts(d.file(), 60, {900, 3600}));
  BOOST_TEST(s.counters().rollups_written == 0u);  // nothing complete to catch up on
  s.put_trees(bins[5]);
  BOOST_TEST(s.bins("siteA", 900, FeatureSet::DP, 0, INT64_MAX).empty());
  BOOST_TEST(s.bins("siteA", 3600, FeatureSet::DP, 0, INT64_MAX).empty());
  for (int i = 6; i < 16; ++i) s.put_trees(bins[size_t(i)]);
  BOOST_TEST(s.counters().rollups_written == 1u * 2u);
  BOOST_TEST(bytes_of(s.load("siteA", 900, t0, FeatureSet::SI)) == by_hand(0, 15, 0));
  BOOST_TEST(count(db, "SELECT count(*) FROM trees WHERE partial = 1") == 0);
  BOOST_TEST(count(db, "SELECT count(*) FROM trees WHERE rollup = 1") == 2);
}

// Age retention per granularity, measured from the newest data; trees a roll-up still
// needs are kept.
BOOST_AUTO_TEST_CASE(retention_by_age) {
  TempDir d;
  SqliteOptions o = opts(d.file(), 60, {900});
  o.retention_days = {{60, 1}, {900, 2}};
  o.event_retention_days = 1;
  const int64_t t0 = utc(2026, 11, 20);
  const int n = 4 * 24 * 3;  // one bin per quarter hour for three days
  const int64_t last = t0 + 900 * (n - 1);
  const int64_t ref = last + 60;  // newest data: the end of the last bin
  {
    SqliteStore s(o);
    for (int i = 0; i < n; ++i) s.put_trees(bin(60, t0 + 900 * i, 20));
    Alert old_alert, new_alert;
    old_alert.time_ns = uint64_t(ref - 2 * 86400) * kSec;
    old_alert.type = new_alert.type = "x";
    new_alert.time_ns = uint64_t(ref - 3600) * kSec;
    s.put_alert(old_alert);
    s.put_alert(new_alert);
    BOOST_TEST(s.counters().rollups_written == uint64_t(n - 1) * 2u);  // the last quarter is open
    BOOST_TEST(s.counters().retention_deleted == 0u);
  }
  // Expected by the rule: a bin goes when it ended a day before `ref`, a quarter when it
  // ended two days before.
  int bins_gone = 0, quarters_gone = 0;
  for (int i = 0; i < n; ++i) bins_gone += t0 + 900 * i + 60 <= ref - 86400;
  for (int i = 0; i < n - 1; ++i) quarters_gone += t0 + 900 * i + 900 <= ref - 2 * 86400;
  BOOST_TEST(bins_gone == 192);
  BOOST_TEST(quarters_gone == 95);
  SqliteStore s(o);  // retention runs at open
  BOOST_TEST(s.counters().retention_deleted == uint64_t(2 * bins_gone + 2 * quarters_gone + 1));
  BOOST_TEST(s.bins("siteA", 60, FeatureSet::SI, 0, INT64_MAX).size() == size_t(n - bins_gone));
  BOOST_TEST(s.bins("siteA", 60, FeatureSet::SI, 0, INT64_MAX).front() == t0 + 900 * bins_gone);
  BOOST_TEST(s.bins("siteA", 900, FeatureSet::SI, 0, INT64_MAX).size() ==
             size_t(n - 1 - quarters_gone));
  SqliteDb db(d.file(), true);
  BOOST_TEST(count(db, "SELECT count(*) FROM alerts") == 1);
  BOOST_TEST(s.run_retention() == 0u);
}

// Trees age by packet time, alerts by theirs: a wall-clock alert weeks later (the daemon
// start of a replay) expires no tree.
BOOST_AUTO_TEST_CASE(retention_ages_each_kind_by_its_own_clock) {
  TempDir d;
  SqliteStore s(opts(d.file()));
  s.put_trees(bin(60, utc(2026, 11, 1, 10)));
  Alert start;
  start.type = "daemon_start";
  start.time_ns = uint64_t(utc(2026, 11, 22, 7)) * kSec;
  s.put_alert(start);
  BOOST_TEST(s.run_retention() == 0u);
  BOOST_TEST(s.bins("siteA", 60, FeatureSet::SI, 0, INT64_MAX).size() == 1u);
}

// Size retention: the oldest trees of the finest granularity go first.
BOOST_AUTO_TEST_CASE(retention_by_size) {
  TempDir d;
  const int64_t t0 = utc(2026, 11, 22, 10, 0);
  uint64_t used = 0;
  {
    SqliteStore s(opts(d.file()));
    for (int i = 0; i < 20; ++i) s.put_trees(bin(60, t0 + 60 * i, 2000, 2000));
    s.put_trees(bin(3600, t0, 2000, 2000));  // a coarser granularity (as given)
    s.put_trees(bin(3600, t0 + 3600, 2000, 2000));
    used = s.used_bytes();
    s.flush();
  }
  const uint64_t file_before = fs::file_size(d.file());
  {
    SqliteOptions o = opts(d.file());
    o.max_bytes = used - used / 4;  // about a quarter must go: only 1 min bins
    SqliteStore s(o);
    const auto left = s.bins("siteA", 60, FeatureSet::SI, 0, INT64_MAX);
    BOOST_TEST(s.used_bytes() <= o.max_bytes);
    BOOST_TEST(left.size() > 0u);
    BOOST_TEST(left.size() < 20u);
    BOOST_TEST(left.back() == t0 + 60 * 19);  // the newest survive, in one run
    BOOST_TEST(left.front() == t0 + 60 * int64_t(20 - left.size()));
    BOOST_TEST(s.counters().retention_deleted == 2u * (20u - left.size()));
    BOOST_TEST(s.bins("siteA", 3600, FeatureSet::SI, 0, INT64_MAX).size() == 2u);
  }
  BOOST_TEST(fs::file_size(d.file()) < file_before);  // incremental_vacuum shrank the file
  {
    SqliteOptions o = opts(d.file());
    o.max_bytes = 1;  // everything goes: the remaining bins, then the hours
    SqliteStore s(o);
    BOOST_TEST(s.bins("siteA", 60, FeatureSet::SI, 0, INT64_MAX).empty());
    BOOST_TEST(s.bins("siteA", 3600, FeatureSet::SI, 0, INT64_MAX).empty());
  }
  SqliteDb db(d.file(), true);
  BOOST_TEST(count(db, "SELECT count(*) FROM trees") == 0);
}

BOOST_AUTO_TEST_CASE(corrupt_file_names_the_path) {
  TempDir d;
  {
    std::ofstream f(d.file("junk.sqlite"));
    for (int i = 0; i < 200; ++i) f << "this is not a database\n";
  }
  const std::string err = error_of([&] { SqliteStore s(opts(d.file("junk.sqlite"))); });
  BOOST_TEST(err.find(d.file("junk.sqlite")) == 0u);
  BOOST_TEST(err.find("not a SQLite database") != std::string::npos);
  SqliteOptions ro = opts(d.file("missing.sqlite"));
  ro.read_only = true;
  BOOST_TEST(error_of([&] { SqliteStore s(ro); }) ==
             d.file("missing.sqlite") + ": no such SQLite database");
  // A SQLite file of something else.
  {
    SqliteDb other(d.file("other.sqlite"), false);
    other.exec("CREATE TABLE t (x)");
  }
  BOOST_TEST(error_of([&] { SqliteStore s(opts(d.file("other.sqlite"))); }) ==
             d.file("other.sqlite") + ": not a Haystack store (no schema_version table)");
  // A tree whose bytes were damaged: load names the tree.
  {
    SqliteStore s(opts(d.file()));
    s.put_trees(bin(60, utc(2026, 11, 22, 10)));
  }
  {
    SqliteDb db(d.file(), false);
    db.exec("UPDATE trees SET tree = substr(tree, 1, 20) WHERE feature_set = 'SI'");
  }
  SqliteStore s(opts(d.file()));
  const std::string lerr =
      error_of([&] { s.load("siteA", 60, utc(2026, 11, 22, 10), FeatureSet::SI); });
  BOOST_TEST(lerr.find(d.file() + ": site siteA, 1m tree 20261122T100000Z SI: ") == 0u);
}

BOOST_AUTO_TEST_CASE(schema_version_mismatch) {
  TempDir d;
  { SqliteStore s(opts(d.file())); }
  {
    SqliteDb db(d.file(), false);
    db.exec("UPDATE schema_version SET version = 99");
  }
  BOOST_TEST(error_of([&] { SqliteStore s(opts(d.file())); }) ==
             d.file() + ": schema version 99, this haystack reads version 1");
}

BOOST_AUTO_TEST_CASE(write_errors_are_counted_not_thrown) {
  TempDir d;
  { SqliteStore s(opts(d.file())); }
  SqliteOptions ro = opts(d.file());
  ro.read_only = true;
  SqliteStore s(ro);
  s.put_trees(bin(60, utc(2026, 11, 22, 10)));
  BOOST_TEST(s.counters().write_errors == 1u);
  BOOST_TEST(s.counters().trees_written == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
