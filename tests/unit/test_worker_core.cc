#include <boost/test/unit_test.hpp>

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "dataplane/worker_core.h"
#include "dataplane/prefix.h"
#include "signatures/hitlist_loader.h"
#include "tests/unit/frame_builder.h"

using namespace haystack;
using haystack::test::FrameBuilder;

namespace {
constexpr uint64_t kSec = 1'000'000'000ULL;

// A BinExchange over plain containers, with a bounded "ring".
struct VectorExchange : BinExchange {
  std::vector<BinRecord> storage;
  std::vector<BinRecord*> free_list;
  std::deque<BinRecord*> ring;
  size_t ring_cap;
  VectorExchange(size_t records, size_t cap) : storage(records), ring_cap(cap) {
    for (auto& r : storage) free_list.push_back(&r);
  }
  BinRecord* acquire() override {
    if (free_list.empty()) return nullptr;
    BinRecord* r = free_list.back();
    free_list.pop_back();
    return r;
  }
  bool publish(BinRecord* r) override {
    if (ring.size() >= ring_cap) return false;
    ring.push_back(r);
    return true;
  }
  void release(BinRecord* r) override { free_list.push_back(r); }
  // Control side: take everything published and give it back.
  std::vector<BinRecord> drain() {
    std::vector<BinRecord> out;
    while (!ring.empty()) {
      out.push_back(*ring.front());
      free_list.push_back(ring.front());
      ring.pop_front();
    }
    return out;
  }
};

struct Rig {
  VectorExchange ex;
  WorkerCounters c;
  WorkerCore core;
  ParsedPacket pkt;
  Rig(SamplingConfig s, uint32_t queues = 1, size_t records = 4, size_t ring = 8)
      : ex(records, ring), core(3, queues, s, 60 * kSec, ex, c) {}
  PacketVerdict feed(const std::vector<uint8_t>& f, uint64_t ts, uint32_t q = 0) {
    return core.on_packet(q, f.data(), uint32_t(f.size()), uint32_t(f.size()), ts, pkt);
  }
};

const auto kTcp = FrameBuilder::tcp4({10, 0, 0, 1}, {192, 0, 2, 7}, 1234, 443);
}  // namespace

BOOST_AUTO_TEST_SUITE(worker_core)

BOOST_AUTO_TEST_CASE(bins_follow_packet_time_aligned_to_epoch) {
  Rig r(SamplingConfig{});
  const uint64_t t0 = 1'700'000'000ULL * kSec;  // 2023-11-14T22:13:20Z, 20 s into a minute
  r.feed(kTcp, t0);
  r.feed(kTcp, t0 + 39 * kSec);  // still in [22:13:00, 22:14:00)
  BOOST_TEST(r.ex.drain().empty());
  r.feed(kTcp, t0 + 40 * kSec);  // 22:14:00 opens the next bin and closes the first
  auto bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 1u);
  BOOST_TEST(bins[0].worker == 3u);
  BOOST_TEST(bins[0].start_ns == 1'699'999'980ULL * kSec);
  BOOST_TEST(bins[0].end_ns == 1'700'000'040ULL * kSec);
  BOOST_TEST(bins[0].packets == 2u);
  BOOST_TEST(bins[0].bytes == 2 * kTcp.size());
  r.feed(kTcp, t0 + 200 * kSec);  // skips empty bins: no empty records are produced
  r.core.flush();
  bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 2u);
  BOOST_TEST(bins[0].start_ns == 1'700'000'040ULL * kSec);
  BOOST_TEST(bins[0].packets == 1u);
  BOOST_TEST(bins[1].start_ns == 1'700'000'160ULL * kSec);
  BOOST_TEST(r.c.bins_closed.get() == 3u);
  BOOST_TEST(r.c.rx_packets.get() == 4u);
}

BOOST_AUTO_TEST_CASE(late_packets_count_in_open_bin) {
  Rig r(SamplingConfig{});
  r.feed(kTcp, 120 * kSec);
  r.feed(kTcp, 59 * kSec);  // belongs to an earlier, already closed bin
  r.core.flush();
  auto bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 1u);
  BOOST_TEST(bins[0].packets == 2u);
  BOOST_TEST(r.c.late_packets.get() == 1u);
}

BOOST_AUTO_TEST_CASE(wall_clock_advance_closes_idle_bins) {
  Rig r(SamplingConfig{});
  r.feed(kTcp, 10 * kSec);
  r.core.advance(59 * kSec);
  BOOST_TEST(r.ex.drain().empty());
  r.core.advance(60 * kSec);
  auto bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 1u);
  BOOST_TEST(bins[0].packets == 1u);
  r.core.advance(200 * kSec);  // the empty bin [60,120) is closed with zero packets
  bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 1u);
  BOOST_TEST(bins[0].start_ns == 60 * kSec);
  BOOST_TEST(bins[0].packets == 0u);
}

BOOST_AUTO_TEST_CASE(full_ring_keeps_data_in_a_wider_bin) {
  Rig r(SamplingConfig{}, 1, 4, /*ring=*/1);
  r.feed(kTcp, 0);
  r.feed(kTcp, 60 * kSec);   // closes bin 0 -> ring holds 1
  r.feed(kTcp, 120 * kSec);  // ring full: bin [60,120) keeps accumulating into [60,180)
  r.feed(kTcp, 130 * kSec);
  BOOST_TEST(r.c.bin_ring_full.get() == 1u);
  auto first = r.ex.drain();
  BOOST_REQUIRE(first.size() == 1u);
  r.core.flush();
  auto rest = r.ex.drain();
  BOOST_REQUIRE(rest.size() == 1u);
  BOOST_TEST(rest[0].start_ns == 60 * kSec);
  BOOST_TEST(rest[0].end_ns == 180 * kSec);
  BOOST_TEST(rest[0].packets == 3u);
  BOOST_TEST(first[0].packets + rest[0].packets == r.c.rx_packets.get());
}

BOOST_AUTO_TEST_CASE(empty_pool_is_counted_and_loses_nothing) {
  Rig r(SamplingConfig{}, 1, /*records=*/1, 8);
  r.feed(kTcp, 0);          // takes the only record
  r.feed(kTcp, 60 * kSec);  // no fresh record: keep accumulating
  BOOST_TEST(r.c.bin_pool_empty.get() == 1u);
  BOOST_TEST(r.ex.drain().empty());
  r.core.flush();  // still no record to switch to: the data stays with the worker, counted
  BOOST_TEST(r.c.bin_pool_empty.get() == 2u);
  BOOST_TEST(r.ex.storage[0].packets == 2u);
  BOOST_TEST(r.ex.storage[0].start_ns == 0u);
  BOOST_TEST(r.ex.storage[0].end_ns == 120 * kSec);
}

BOOST_AUTO_TEST_CASE(per_queue_count_sampling_and_counters) {
  SamplingConfig s;
  s.flow_rate = 10;
  s.iot_rate = 3;
  Rig r(s, /*queues=*/2);
  FrameBuilder arp;
  arp.eth(0x0806).zeros(28);
  for (int i = 0; i < 25; ++i) r.feed(kTcp, kSec, 0);
  for (int i = 0; i < 7; ++i) r.feed(kTcp, kSec, 1);
  for (int i = 0; i < 4; ++i) r.feed(arp.b, kSec, 1);  // non-IP: never sampled
  std::vector<uint8_t> runt(10, 0);
  auto v = r.feed(runt, kSec, 0);
  BOOST_TEST((v.error == ParseError::kTruncatedEthernet));
  BOOST_TEST(r.c.rx_packets.get() == 37u);
  BOOST_TEST(r.c.ipv4_packets.get() == 32u);
  BOOST_TEST(r.c.tcp_packets.get() == 32u);
  BOOST_TEST(r.c.non_ip_packets.get() == 4u);
  BOOST_TEST(r.c.parse_errors.get() == 1u);
  BOOST_TEST(r.c.parse_error[size_t(ParseError::kTruncatedEthernet)].get() == 1u);
  BOOST_TEST(r.c.sampled_flow.get() == 3u + 1u);   // ceil(25/10) + ceil(7/10)
  BOOST_TEST(r.c.sampled_iot.get() == 9u + 3u);    // ceil(25/3) + ceil(7/3)
  r.core.flush();
  auto bins = r.ex.drain();
  BOOST_REQUIRE(bins.size() == 1u);
  BOOST_TEST(bins[0].sampled_flow == 4u);
  BOOST_TEST(bins[0].ip_packets == 32u);
  BOOST_TEST(bins[0].parse_errors == 1u);
}

BOOST_AUTO_TEST_CASE(counter_names_are_exported_once) {
  WorkerCounters c;
  c.rx_packets.add(5);
  std::vector<std::string> names;
  uint64_t rx = 0;
  c.for_each([&](std::string_view n, std::string_view help, uint64_t v) {
    BOOST_TEST(!help.empty());
    names.emplace_back(n);
    if (n == "rx_packets") rx = v;
  });
  BOOST_TEST(rx == 5u);
  std::set<std::string> uniq(names.begin(), names.end());
  BOOST_TEST(uniq.size() == names.size());
  BOOST_TEST(alignof(WorkerCounters) == 64u);
}

// A HitlistSource whose current generation the test switches; counts the calls.
struct SwitchableSource : HitlistSource {
  std::vector<HitlistView> gens;
  size_t current = 0;
  int adopts = 0, releases = 0;
  HitlistView adopt() override {
    ++adopts;
    return gens[current];
  }
  void release() override { ++releases; }
};

BOOST_AUTO_TEST_CASE(hitlist_generation_changes_only_at_bin_boundaries) {
  auto bundle = [](const char* server) {
    return hitlist::parse_bundle(std::string("hitlist 1\nvalid_from 2026-11-01\n"
                                             "valid_until 2026-11-01\nprovenance test\n"
                                             "service cam manufacturer - Cam\n"
                                             "domain api.cam.example cam:primary\nendpoint ") +
                                     server + " tcp 443 api.cam.example\n",
                                 "t.hitlist");
  };
  auto t1 = hitlist::HitlistTable::compile(bundle("192.0.2.10"));
  auto t2 = hitlist::HitlistTable::compile(bundle("192.0.2.20"));
  SwitchableSource src;
  src.gens = {{t1.get(), 1}, {t2.get(), 2}};
  IotSettings iot;
  iot.source = &src;
  Prefix p;
  std::string why;
  BOOST_REQUIRE(parse_prefix("100.64.0.0/16", p, why));
  iot.subscriber_prefixes.push_back(p);
  VectorExchange ex(4, 8);
  for (auto& r : ex.storage) r.iot = IotEvidenceTable(64);
  WorkerCounters c;
  WorkerCore core(0, 1, SamplingConfig{}, 60 * kSec, ex, c, 0, iot);
  ParsedPacket pkt;
  auto send = [&](uint8_t server, uint64_t ts) {
    FrameBuilder f;
    f.eth(0x0800).ipv4({100, 64, 0, 1}, {192, 0, 2, server}, 6, 20).tcp(40000, 443, tcpflag::kAck);
    core.on_packet(0, f.b.data(), uint32_t(f.b.size()), uint32_t(f.b.size()), ts, pkt);
  };
  send(10, 1 * kSec);  // bin [0, 60 s) adopts generation 1
  src.current = 1;     // generation 2 published mid-bin
  send(10, 2 * kSec);  // still generation 1 until the bin closes: a match
  send(20, 3 * kSec);  // generation 2's server is not matched yet
  BOOST_TEST(c.iot_matches.get() == 2u);
  send(20, 61 * kSec);  // bin [60 s, 120 s) adopts generation 2
  send(10, 62 * kSec);
  BOOST_TEST(c.iot_matches.get() == 3u);
  BOOST_TEST(src.adopts == 2);
  BOOST_TEST(src.releases == 0);
  core.flush();  // no open bin: the worker holds no generation
  BOOST_TEST(src.releases == 1);
  auto recs = ex.drain();
  BOOST_REQUIRE_EQUAL(recs.size(), 2u);
  BOOST_TEST(recs[0].hitlist_generation == 1u);
  BOOST_TEST(recs[1].hitlist_generation == 2u);
  BOOST_TEST(recs[0].iot.size() == 1u);
  BOOST_TEST(recs[1].iot.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
