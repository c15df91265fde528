#include <boost/test/unit_test.hpp>

#include "dataplane/parser.h"
#include "dataplane/toeplitz.h"
#include "tests/unit/frame_builder.h"

using namespace haystack;
using haystack::test::FrameBuilder;

BOOST_AUTO_TEST_SUITE(toeplitz)

// Verification vectors from the Microsoft RSS specification ("Verifying the RSS hash
// calculation"), using its standard 40-byte key.
BOOST_AUTO_TEST_CASE(microsoft_reference_vectors) {
  const uint8_t key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                           0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                           0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                           0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  // source 66.9.149.187:2794 -> destination 161.142.100.80:1766
  const uint8_t ip_only[8] = {66, 9, 149, 187, 161, 142, 100, 80};
  const uint8_t with_ports[12] = {66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6};
  BOOST_TEST(toeplitz_hash(key, 40, ip_only, 8) == 0x323e8fc2u);
  BOOST_TEST(toeplitz_hash(key, 40, with_ports, 12) == 0x51ccc178u);
  // 199.92.111.2:14230 -> 65.69.140.83:4739
  const uint8_t ip2[8] = {199, 92, 111, 2, 65, 69, 140, 83};
  const uint8_t ports2[12] = {199, 92, 111, 2, 65, 69, 140, 83, 0x37, 0x96, 0x12, 0x83};
  BOOST_TEST(toeplitz_hash(key, 40, ip2, 8) == 0xd718262au);
  BOOST_TEST(toeplitz_hash(key, 40, ports2, 12) == 0xc626b0eau);
}

BOOST_AUTO_TEST_CASE(symmetric_key_gives_same_hash_both_ways) {
  auto key = symmetric_rss_key();
  BOOST_TEST(key[0] == 0x6d);
  BOOST_TEST(key[1] == 0x5a);
  BOOST_TEST(key[39] == 0x5a);
  for (int i = 0; i < 200; ++i) {
    uint8_t a = uint8_t(i), c = uint8_t(i * 7 + 3);
    auto fwd = FrameBuilder::tcp4({10, a, 0, 1}, {192, 0, c, 7}, uint16_t(1000 + i), 443);
    auto rev = FrameBuilder::tcp4({192, 0, c, 7}, {10, a, 0, 1}, 443, uint16_t(1000 + i));
    ParsedPacket pf, pr;
    BOOST_REQUIRE(parse_packet(fwd.data(), fwd.size(), pf) == ParseError::kOk);
    BOOST_REQUIRE(parse_packet(rev.data(), rev.size(), pr) == ParseError::kOk);
    BOOST_TEST(rss_hash(pf, key) == rss_hash(pr, key));
    BOOST_TEST(rss_queue(rss_hash(pf, key), 128, 3) == rss_queue(rss_hash(pr, key), 128, 3));
  }
}

BOOST_AUTO_TEST_CASE(ipv6_symmetric_and_non_ip_zero) {
  auto key = symmetric_rss_key();
  uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 9};
  FrameBuilder f, r;
  f.eth(0x86dd).ipv6(s, d, 17, 8).udp(5353, 53, 0);
  r.eth(0x86dd).ipv6(d, s, 17, 8).udp(53, 5353, 0);
  ParsedPacket pf, pr;
  BOOST_REQUIRE(parse_packet(f.b.data(), f.b.size(), pf) == ParseError::kOk);
  BOOST_REQUIRE(parse_packet(r.b.data(), r.b.size(), pr) == ParseError::kOk);
  BOOST_TEST(rss_hash(pf, key) == rss_hash(pr, key));
  BOOST_TEST(rss_hash(pf, key) != 0u);
  FrameBuilder arp;
  arp.eth(0x0806).zeros(28);
  ParsedPacket pa;
  BOOST_REQUIRE(parse_packet(arp.b.data(), arp.b.size(), pa) == ParseError::kOk);
  BOOST_TEST(rss_hash(pa, key) == 0u);
}

BOOST_AUTO_TEST_CASE(queue_selection_round_robin_reta) {
  BOOST_TEST(rss_queue(0, 128, 3) == 0u);
  BOOST_TEST(rss_queue(1, 128, 3) == 1u);
  BOOST_TEST(rss_queue(130, 128, 3) == 2u);   // 130 % 128 = 2
  BOOST_TEST(rss_queue(127, 128, 3) == 1u);   // 127 % 3 = 1
}

BOOST_AUTO_TEST_SUITE_END()
