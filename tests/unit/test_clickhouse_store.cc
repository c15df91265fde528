// ClickHouse store, pure parts: RowBinary encoding of every row kind (decoded back field
// by field), DDL column lists, SQL quoting, and the writer's bounded queue, batch timing
// and backoff. The HTTP path runs against a real clickhouse-server in
// tests/integration/test_clickhouse.py.
#include <boost/test/unit_test.hpp>
#include <string>

#include "control/store/clickhouse_rows.h"
#include "control/store/store.h"
#include "control/store/write_queue.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "tests/unit/ip_literal.h"

using namespace haystack;
using namespace haystack::store;

namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

Row row_of(size_t bytes) {
  return Row{Table::kAlerts, std::string(bytes, 'x')};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clickhouse_rows)

BOOST_AUTO_TEST_CASE(rowbinary_scalars) {
  RowBinaryWriter w;
  w.u8(0xab);
  w.u16(0x0102);
  w.u32(0x01020304);
  w.u64(1);
  w.i64(-2);
  w.datetime(1793527200);         // 2026-11-01 10:00 UTC
  w.datetime(uint64_t(1) << 40);  // clamped to the last DateTime
  w.date("2026-11-22");           // day 20779
  w.date("2000-02-29");           // day 11016
  w.date("yesterday");            // not a date: 1970-01-01
  w.date("");
  BOOST_TEST(hex(w.take()) ==
             "ab0201040302010100000000000000feffffffffffffffa00de76affffffff"
             "2b51082b00000000");
}

BOOST_AUTO_TEST_CASE(rowbinary_strings_round_trip) {
  // Bytes that text formats would escape travel unchanged; lengths are LEB128.
  const std::string binary("\x00\t\n\\'\xff", 6);
  const std::string long_text(300, 'a');
  RowBinaryWriter w;
  w.str(binary);
  w.str(long_text);
  w.strings({"a", "", "bc"});
  const std::string data = w.take();
  BOOST_TEST(hex(data.substr(0, 7)) == "0600090a5c27ff");
  BOOST_TEST(hex(data.substr(7, 2)) == "ac02");  // 300
  RowBinaryReader r(data);
  BOOST_TEST(r.str() == binary);
  BOOST_TEST(r.str() == long_text);
  BOOST_TEST(r.u8() == 3u);  // array length
  BOOST_TEST(r.str() == "a");
  BOOST_TEST(r.str() == "");
  BOOST_TEST(r.str() == "bc");
  BOOST_TEST(r.done());
}

BOOST_AUTO_TEST_CASE(rowbinary_reader_rejects_truncation) {
  BOOST_CHECK_THROW(RowBinaryReader(std::string("\x05"
                                                "abc",
                                                4))
                        .str(),
                    RowBinaryError);
  BOOST_CHECK_THROW(RowBinaryReader(std::string("\x01\x02\x03", 3)).u32(), RowBinaryError);
  BOOST_CHECK_THROW(RowBinaryReader(std::string("\x80", 1)).str(), RowBinaryError);
  RowBinaryReader empty("");
  BOOST_TEST(empty.done());
}

BOOST_AUTO_TEST_CASE(ddl_and_columns) {
  const std::vector<std::string> ddl = clickhouse_ddl("hs");
  BOOST_TEST(ddl.size() == kTableCount + 1);
  BOOST_TEST(ddl[0] == "CREATE DATABASE IF NOT EXISTS hs");
  BOOST_TEST(
      ddl[1].rfind("CREATE TABLE IF NOT EXISTS hs.trees (site String, granularity UInt32", 0) == 0);
  BOOST_TEST(ddl[1].find("ENGINE = ReplacingMergeTree(inserted_ns) PARTITION BY toYYYYMM(start) "
                         "ORDER BY (site, start, granularity, feature_set)") != std::string::npos);
  BOOST_TEST(table_columns(Table::kTrees) ==
             "site, granularity, start, feature_set, records, nodes, packets, bytes, flows, "
             "inserted_ns, blob");
  // Array(String) does not split the list.
  BOOST_TEST(table_columns(Table::kDetections) ==
             "site, window, window_start, window_end, line, service_key, level, domains, "
             "domains_required, domains_total, packets, bytes, first_seen_ns, last_seen_ns, "
             "active, active_hours");
  BOOST_TEST(table_columns(Table::kHitlistGenerations) ==
             "site, loaded, loaded_ns, number, path, valid_from, valid_until, services, "
             "endpoints, trigger");
  BOOST_TEST(table_name(Table::kServiceCounts) == "service_counts");
  for (size_t t = 1; t < ddl.size(); ++t) {
    BOOST_TEST(ddl[t].find("PARTITION BY toYYYYMM(") != std::string::npos);
    BOOST_TEST(ddl[t].find("ORDER BY (site, ") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(tree_rows_carry_exact_blob) {
  flowtree::FlowtreeConfig c;
  c.feature_set = flowtree::FeatureSet::SI;
  c.budget = 1000;
  SiteTrees s;
  s.seconds = 60;
  s.start_ns = 1793527200ULL * 1'000'000'000ULL;
  s.records = 3;
  s.trees.emplace_back(c);
  c.feature_set = flowtree::FeatureSet::DP;
  s.trees.emplace_back(c);
  flowtree::Flowtree& t = s.trees[0];
  t.add(t.hierarchy().leaf(test::ip("10.0.0.1"), IpAddr{}, 0, 0, 0), {5, 500, 1});
  t.add(t.hierarchy().leaf(test::ip("10.0.0.2"), IpAddr{}, 0, 0, 0), {7, 700, 2});

  const std::vector<Row> rows = tree_rows("fra'1", s, 42);
  BOOST_REQUIRE(rows.size() == 2u);
  RowBinaryReader r(rows[0].bytes);
  BOOST_TEST((rows[0].table == Table::kTrees));
  BOOST_TEST(r.str() == "fra'1");
  BOOST_TEST(r.u32() == 60u);
  BOOST_TEST(r.u32() == 1793527200u);
  BOOST_TEST(r.str() == "SI");
  BOOST_TEST(r.u64() == 3u);
  BOOST_TEST(r.u32() == t.size());
  BOOST_TEST(r.i64() == 12);
  BOOST_TEST(r.i64() == 1200);
  BOOST_TEST(r.i64() == 3);
  BOOST_TEST(r.u64() == 42u);
  const std::string blob = r.str();
  BOOST_TEST(r.done());
  const std::vector<uint8_t> want = flowtree::serialize(t);
  BOOST_TEST(blob == std::string(want.begin(), want.end()));
  const flowtree::Flowtree back =
      flowtree::deserialize(std::span(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
  BOOST_TEST(back.total().packets == 12);
  RowBinaryReader r2(rows[1].bytes);
  r2.str();
  r2.u32();
  r2.u32();
  BOOST_TEST(r2.str() == "DP");
}

BOOST_AUTO_TEST_CASE(window_rows_detections_and_counts) {
  detection::WindowReport rep;
  rep.kind = detection::WindowKind::kDay;
  rep.start_ns = 1793491200ULL * 1'000'000'000ULL;  // 2026-11-01 00:00
  rep.end_ns = rep.start_ns + detection::kDayNs;
  rep.lines = 17;
  detection::Detection d;
  d.line = "L1";
  d.service_key = "amazon/echo";
  d.level = hitlist::Level::kProduct;
  d.domains = {"a.example", "b.example"};
  d.domains_required = 2;
  d.domains_total = 4;
  d.packets = 100;
  d.bytes = 9000;
  d.first_seen_ns = 11;
  d.last_seen_ns = 22;
  d.active = true;
  d.active_hours = 3;
  rep.detections.push_back(d);
  rep.service_counts.push_back({0, "amazon", hitlist::Level::kPlatform, 5, 2});
  rep.service_counts.push_back({1, "amazon/echo", hitlist::Level::kProduct, 1, 1});

  const std::vector<Row> rows = window_rows("s1", {rep});
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST((rows[0].table == Table::kDetections));
  BOOST_TEST((rows[1].table == Table::kServiceCounts));
  RowBinaryReader r(rows[0].bytes);
  BOOST_TEST(r.str() == "s1");
  BOOST_TEST(r.str() == "day");
  BOOST_TEST(r.u32() == 1793491200u);
  BOOST_TEST(r.u32() == 1793491200u + 86400u);
  BOOST_TEST(r.str() == "L1");
  BOOST_TEST(r.str() == "amazon/echo");
  BOOST_TEST(r.str() == "product");
  BOOST_TEST(r.u8() == 2u);
  BOOST_TEST(r.str() == "a.example");
  BOOST_TEST(r.str() == "b.example");
  BOOST_TEST(r.u32() == 2u);
  BOOST_TEST(r.u32() == 4u);
  BOOST_TEST(r.u64() == 100u);
  BOOST_TEST(r.u64() == 9000u);
  BOOST_TEST(r.u64() == 11u);
  BOOST_TEST(r.u64() == 22u);
  BOOST_TEST(r.u8() == 1u);
  BOOST_TEST(r.u32() == 3u);
  BOOST_TEST(r.done());
  RowBinaryReader c(rows[1].bytes);
  BOOST_TEST(c.str() == "s1");
  BOOST_TEST(c.str() == "day");
  c.u32();
  c.u32();
  BOOST_TEST(c.str() == "amazon");
  BOOST_TEST(c.str() == "platform");
  BOOST_TEST(c.u64() == 5u);
  BOOST_TEST(c.u64() == 2u);
  BOOST_TEST(c.u64() == 17u);
  BOOST_TEST(c.done());
}

BOOST_AUTO_TEST_CASE(alert_eui64_hitlist_rows) {
  Alert a;
  a.time_ns = 1793527200'123456789ULL;
  a.type = "rx_drops";
  a.severity = Severity::kWarning;
  a.subject = "port0";
  a.details = {{"missed", 5}};
  const Row ar = alert_row("s1", a);  // the reader views the bytes
  RowBinaryReader r(ar.bytes);
  BOOST_TEST(r.str() == "s1");
  BOOST_TEST(r.u32() == 1793527200u);
  BOOST_TEST(r.u64() == 1793527200'123456789ULL);
  BOOST_TEST(r.str() == "rx_drops");
  BOOST_TEST(r.str() == "warning");
  BOOST_TEST(r.str() == "port0");
  BOOST_TEST(r.str() == R"({"missed":5})");
  BOOST_TEST(r.done());

  nlohmann::ordered_json e;
  e["window"] = "hour";
  e["window_start"] = "2026-11-01T10:00:00.000000000Z";
  e["prefixes_seen"] = 9;
  e["prefixes_exposed"] = 4;
  const Row er = eui64_row("s1", e);
  RowBinaryReader re(er.bytes);
  BOOST_TEST(re.str() == "s1");
  BOOST_TEST(re.str() == "hour");
  BOOST_TEST(re.u32() == 1793527200u);
  BOOST_TEST(re.u64() == 9u);
  BOOST_TEST(re.u64() == 4u);
  BOOST_TEST(re.str() == e.dump());
  BOOST_TEST(re.done());

  HitlistGenerationRow g;
  g.number = 3;
  g.path = "/var/lib/h.json";
  g.valid_from = "2026-11-22";
  g.valid_until = "bad";
  g.services = 10;
  g.endpoints = 20;
  g.loaded_ns = 1793527200'000000001ULL;
  g.trigger = "signal";
  RowBinaryWriter w;
  w.str("s1");
  w.datetime(1793527200);
  w.u64(g.loaded_ns);
  w.u64(3);
  w.str(g.path);
  w.u16(20779);
  w.u16(0);
  w.u64(10);
  w.u64(20);
  w.str("signal");
  BOOST_TEST(hex(hitlist_generation_row("s1", g).bytes) == hex(w.take()));
}

BOOST_AUTO_TEST_CASE(quoting_and_times) {
  BOOST_TEST(sql_quote("plain") == "'plain'");
  BOOST_TEST(sql_quote("a'b\\c") == "'a\\'b\\\\c'");
  BOOST_TEST(parse_rfc3339_seconds("2026-11-01T10:00:00.000000000Z") == 1793527200u);
  BOOST_TEST(parse_rfc3339_seconds("2026-11-01T10:00:05Z") == 1793527205u);
  BOOST_TEST(parse_rfc3339_seconds("1970-01-01T00:00:00Z") == 0u);
  BOOST_TEST(parse_rfc3339_seconds("2026-11-01 10:00:00Z") == 0u);
  BOOST_TEST(parse_rfc3339_seconds("2026-13-01T10:00:00Z") == 0u);
  BOOST_TEST(parse_rfc3339_seconds("2026-11-01T10:00:00.12aZ") == 0u);
  BOOST_TEST(parse_rfc3339_seconds("") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(write_queue)

BOOST_AUTO_TEST_CASE(bounded_by_rows) {
  WriteQueue q(3, 1000);
  BOOST_TEST(q.push(row_of(1), 10));
  BOOST_TEST(q.push(row_of(2), 20));
  BOOST_TEST(q.push(row_of(3), 30));
  BOOST_TEST(!q.push(row_of(1), 40));
  BOOST_TEST(q.rows() == 3u);
  BOOST_TEST(q.bytes() == 6u);
  BOOST_TEST(q.oldest_ns() == 10u);
  const std::vector<Row> b = q.take(2);
  BOOST_REQUIRE(b.size() == 2u);
  BOOST_TEST(b[0].bytes.size() == 1u);  // oldest first
  BOOST_TEST(b[1].bytes.size() == 2u);
  BOOST_TEST(q.rows() == 1u);
  BOOST_TEST(q.bytes() == 3u);
  BOOST_TEST(q.oldest_ns() == 30u);
  BOOST_TEST(q.push(row_of(1), 50));
  BOOST_TEST(q.take(10).size() == 2u);
  BOOST_TEST(q.empty());
  BOOST_TEST(q.oldest_ns() == 0u);
  BOOST_TEST(q.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(bounded_by_bytes) {
  WriteQueue q(100, 10);
  BOOST_TEST(q.push(row_of(6), 1));
  BOOST_TEST(!q.push(row_of(5), 2));  // 11 > 10
  BOOST_TEST(q.push(row_of(4), 3));   // exactly 10
  BOOST_TEST(!q.push(row_of(1), 4));
  BOOST_TEST(!WriteQueue(100, 10).push(row_of(11), 1));  // larger than the whole queue
  q.take(1);
  BOOST_TEST(q.push(row_of(6), 5));
}

BOOST_AUTO_TEST_CASE(batch_timing) {
  const uint64_t flush = 1000;
  BOOST_TEST(!batch_due(0, 10, 0, 5000, flush, true));     // nothing to send
  BOOST_TEST(!batch_due(3, 10, 100, 1099, flush, false));  // young and small
  BOOST_TEST(batch_due(3, 10, 100, 1100, flush, false));   // waited flush_ms
  BOOST_TEST(batch_due(10, 10, 100, 101, flush, false));   // full batch
  BOOST_TEST(batch_due(1, 10, 100, 101, flush, true));     // flush asks for everything
}

BOOST_AUTO_TEST_CASE(backoff_doubles_to_cap) {
  Backoff b(100, 1000);
  BOOST_TEST(b.next_ms() == 100u);
  BOOST_TEST(b.next_ms() == 200u);
  BOOST_TEST(b.next_ms() == 400u);
  BOOST_TEST(b.next_ms() == 800u);
  BOOST_TEST(b.next_ms() == 1000u);
  BOOST_TEST(b.next_ms() == 1000u);
  b.reset();
  BOOST_TEST(b.next_ms() == 100u);
  Backoff small(100, 50);
  BOOST_TEST(small.next_ms() == 50u);
  BOOST_TEST(small.next_ms() == 50u);
  BOOST_TEST(!retries_exhausted(1000, 1999, 1000));
  BOOST_TEST(retries_exhausted(1000, 2000, 1000));
  BOOST_TEST(retries_exhausted(1000, 1000, 0));
}

BOOST_AUTO_TEST_SUITE_END()
