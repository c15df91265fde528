#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include "dataplane/parser.h"
#include "dataplane/sampler.h"
#include "tests/unit/frame_builder.h"

using namespace haystack;
using haystack::test::FrameBuilder;

namespace {
ParsedPacket packet(uint16_t id, uint16_t sport) {
  auto f = FrameBuilder::tcp4({10, 0, 0, 1}, {192, 0, 2, 7}, sport, 443, id);
  ParsedPacket p;
  BOOST_REQUIRE(parse_packet(f.data(), f.size(), p) == ParseError::kOk);
  return p;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sampler)

BOOST_AUTO_TEST_CASE(count_keeps_first_of_every_n) {
  Sampler s(SampleMethod::kCount, 100, 0);
  ParsedPacket p = packet(1, 1000);
  std::vector<int> kept;
  for (int i = 0; i < 1000; ++i) {
    if (s.sample(p)) kept.push_back(i);
  }
  BOOST_TEST(kept.size() == 10u);
  BOOST_TEST(kept[0] == 0);
  BOOST_TEST(kept[1] == 100);
  BOOST_TEST(kept[9] == 900);
}

BOOST_AUTO_TEST_CASE(count_is_ceil_n_over_rate) {
  for (uint32_t rate : {1u, 2u, 7u, 64u, 1000u}) {
    for (uint32_t n : {0u, 1u, 6u, 7u, 8u, 999u, 1000u, 1001u, 12345u}) {
      Sampler s(SampleMethod::kCount, rate, 0);
      ParsedPacket p = packet(1, 1);
      uint32_t kept = 0;
      for (uint32_t i = 0; i < n; ++i) kept += s.sample(p);
      BOOST_TEST(kept == (n + rate - 1) / rate, "rate " << rate << " n " << n);
    }
  }
}

BOOST_AUTO_TEST_CASE(rate_one_and_zero_keep_everything) {
  Sampler one(SampleMethod::kHash, 1, 42), zero(SampleMethod::kCount, 0, 0);
  for (uint16_t i = 0; i < 500; ++i) {
    BOOST_TEST(one.sample(packet(i, 5)));
    BOOST_TEST(zero.sample(packet(i, 5)));
  }
  BOOST_TEST(zero.rate() == 1u);
}

BOOST_AUTO_TEST_CASE(hash_decision_is_a_pure_function_of_the_packet) {
  // Two samplers (think: two workers, two sites) with the same seed agree packet by packet,
  // whatever order they see the packets in.
  Sampler a(SampleMethod::kHash, 16, 0xfeedULL), b(SampleMethod::kHash, 16, 0xfeedULL);
  std::set<uint32_t> ka, kb;
  for (uint32_t i = 0; i < 20000; ++i) {
    if (a.sample(packet(uint16_t(i), uint16_t(i >> 16)))) ka.insert(i);
  }
  for (uint32_t i = 20000; i-- > 0;) {
    if (b.sample(packet(uint16_t(i), uint16_t(i >> 16)))) kb.insert(i);
  }
  BOOST_TEST(ka == kb);
  // Rate 1:16 over 20000 distinct packets: binomial sd ~ 34, so 1250 +- 200 is > 5 sd.
  BOOST_TEST(ka.size() > 1050u);
  BOOST_TEST(ka.size() < 1450u);
}

BOOST_AUTO_TEST_CASE(hash_ignores_ttl_and_encapsulation) {
  auto plain = FrameBuilder::tcp4({10, 0, 0, 1}, {192, 0, 2, 7}, 1234, 80, 77);
  FrameBuilder tagged;
  tagged.eth(0x8100).u16(100).u16(0x0800).ipv4({10, 0, 0, 1}, {192, 0, 2, 7}, 6, 20, 77).tcp(1234, 80, 0x10);
  tagged.b[14 + 4 + 8] = 3;  // different TTL at another hop
  ParsedPacket p1, p2;
  BOOST_REQUIRE(parse_packet(plain.data(), plain.size(), p1) == ParseError::kOk);
  BOOST_REQUIRE(parse_packet(tagged.b.data(), tagged.b.size(), p2) == ParseError::kOk);
  BOOST_TEST(p2.vlan_count == 1);
  BOOST_TEST(invariant_hash(p1, 9) == invariant_hash(p2, 9));
}

BOOST_AUTO_TEST_CASE(hash_depends_on_seed_and_fields) {
  ParsedPacket p = packet(5, 6);
  BOOST_TEST(invariant_hash(p, 1) != invariant_hash(p, 2));
  BOOST_TEST(invariant_hash(packet(5, 6), 1) != invariant_hash(packet(6, 6), 1));
  BOOST_TEST(invariant_hash(packet(5, 6), 1) != invariant_hash(packet(5, 7), 1));
}

BOOST_AUTO_TEST_CASE(method_names) {
  BOOST_TEST(sample_method_name(SampleMethod::kCount) == "count");
  BOOST_TEST(sample_method_name(SampleMethod::kHash) == "hash");
}

BOOST_AUTO_TEST_SUITE_END()
