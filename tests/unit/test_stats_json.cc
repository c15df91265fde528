#include <boost/test/unit_test.hpp>

#include "control/config.h"
#include "control/stats_json.h"

using namespace haystack;

BOOST_AUTO_TEST_SUITE(stats_json)

BOOST_AUTO_TEST_CASE(document_sums_workers_and_lists_bins) {
  Config cfg;
  cfg.site_id = "fra1";
  cfg.sampling.method = SampleMethod::kHash;
  cfg.sampling.flow_rate = 100;
  cfg.sampling.hash_seed = 77;
  WorkerCounters a, b;
  a.rx_packets.add(10);
  b.rx_packets.add(5);
  a.parse_errors.add(2);
  a.parse_error[size_t(ParseError::kTruncatedTcp)].add(2);
  b.parse_error[size_t(ParseError::kTruncatedTcp)].add(1);
  b.parse_errors.add(1);

  StatsSnapshot s;
  s.version = "9.9.9";
  s.config = &cfg;
  s.clock = ClockSource::kPacket;
  s.workers.push_back(WorkerSnapshot::from(0, 1, a));
  s.workers.push_back(WorkerSnapshot::from(1, 2, b));
  s.workers[0].queues.emplace_back("in0", 0);
  PortSnapshot p;
  p.info.name = "in0";
  p.info.driver = "net_pcap";
  p.device = "net_pcap0,rx_pcap=x.pcap";
  p.stats.ipackets = 15;
  s.ports.push_back(p);
  BinRecord r1, r2;
  r1.reset(0, 60'000'000'000ULL, 120'000'000'000ULL);
  r1.packets = 4;
  r2.reset(1, 60'000'000'000ULL, 120'000'000'000ULL);
  r2.packets = 3;
  s.bins[r1.start_ns].add(r1);
  s.bins[r2.start_ns].add(r2);

  auto j = stats_to_json(s);
  BOOST_TEST(j["site_id"] == "fra1");
  BOOST_TEST(j["clock"] == "packet");
  BOOST_TEST(j["sampling"]["method"] == "hash");
  BOOST_TEST(j["sampling"]["flow_rate"] == 100);
  BOOST_TEST(j["sampling"]["hash_seed"] == 77);
  BOOST_TEST(j["totals"]["rx_packets"] == 15);
  BOOST_TEST(j["totals"]["parse_errors"] == 3);
  BOOST_TEST(j["totals"]["parse_errors_by_reason"]["truncated_tcp"] == 3);
  BOOST_TEST(j["totals"]["parse_errors_by_reason"].size() == kParseErrorCount - 1);
  BOOST_TEST(j["workers"][1]["lcore"] == 2);
  BOOST_TEST(j["workers"][0]["queues"][0]["port"] == "in0");
  BOOST_TEST(j["ports"][0]["ipackets"] == 15);
  BOOST_REQUIRE(j["bins"].size() == 1u);
  BOOST_TEST(j["bins"][0]["packets"] == 7);
  BOOST_TEST(j["bins"][0]["worker_records"] == 2);
  BOOST_TEST(j["bins"][0]["start"] == "1970-01-01T00:01:00.000000000Z");
  // Same snapshot, same bytes.
  BOOST_TEST(stats_to_json(s).dump() == j.dump());
}

BOOST_AUTO_TEST_SUITE_END()
