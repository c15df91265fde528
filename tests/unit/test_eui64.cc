#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "dataplane/eui64.h"
#include "signatures/oui_db.h"
#include "tests/unit/ip_literal.h"

using namespace haystack;

BOOST_AUTO_TEST_SUITE(eui64)

BOOST_AUTO_TEST_CASE(mac_from_global_eui64_addresses_only) {
  // 2a00:d40:1:1:7aac:c0ff:fea7:d4c -> 78:ac:c0:a7:0d:4c (bit 0x02 of 0x7a flipped).
  BOOST_TEST(eui64_mac(test::ip("2a00:d40:1:1:7aac:c0ff:fea7:d4c")) == 0x78acc0a70d4cULL);
  BOOST_TEST(prefix56(test::ip("2a00:d40:1:1:7aac:c0ff:fea7:d4c")) == 0x2a000d40000100ULL);
  BOOST_TEST(eui64_mac(test::ip("fe80::4e5e:cff:fe9a:ec54")) == 0u);  // link-local
  BOOST_TEST(eui64_mac(test::ip("ff02::1:ff9a:ec54")) == 0u);         // multicast
  BOOST_TEST(eui64_mac(test::ip("2001:db8::1")) == 0u);               // not ff:fe
  BOOST_TEST(eui64_mac(test::ip("2001:db8::ff:fe00:1")) == 0x020000000001ULL);
  BOOST_TEST(eui64_mac(test::ip("192.0.2.1")) == 0u);
}

BOOST_AUTO_TEST_CASE(table_counts_pairs_and_refuses_when_full) {
  EuiTable t(2);
  BOOST_TEST(t.add(1, 0xa));
  BOOST_TEST(t.add(1, 0xa));
  BOOST_TEST(t.add(1, 0));
  BOOST_TEST(!t.add(2, 0xb));
  BOOST_TEST(t.size() == 2u);
  uint64_t packets = 0;
  t.for_each([&](const EuiEntry& e) { packets += e.packets; });
  BOOST_TEST(packets == 3u);
  t.clear();
  BOOST_TEST(t.size() == 0u);
  BOOST_TEST(t.add(2, 0xb));
  EuiTable off;
  BOOST_TEST(!off.add(1, 1));
}

BOOST_AUTO_TEST_CASE(registry_longest_match_quotes_and_errors) {
  auto dir = std::filesystem::temp_directory_path() / ("haystack_oui_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  std::string l = write("oui.csv", "Registry,Assignment,Organization Name,Organization Address\n"
                                   "MA-L,70B3D5,IEEE Registration Authority,\"445 Hoes Lane, NJ\"\n"
                                   "MA-L,C0A0BB,\"D-Link International\",x\n");
  std::string s = write("oui36.csv", "Registry,Assignment,Organization Name,Organization Address\n"
                                     "MA-S,70B3D5F2F,\"TELEPLATFORMS \"\"TP\"\"\",\"Moscow\"\n");
  oui::OuiDb db = oui::OuiDb::load({l, s});
  BOOST_TEST(db.size() == 3u);
  BOOST_REQUIRE(db.lookup(0x70b3d5f2f123ULL) != nullptr);
  BOOST_TEST(db.lookup(0x70b3d5f2f123ULL)->organization == "TELEPLATFORMS \"TP\"");
  BOOST_TEST(db.lookup(0x70b3d5f2f123ULL)->bits == 36);
  BOOST_TEST(db.lookup(0x70b3d5000001ULL)->organization == "IEEE Registration Authority");
  BOOST_TEST(db.lookup(0xc0a0bb73eb57ULL)->organization == "D-Link International");
  BOOST_TEST(db.lookup(0x000000000001ULL) == nullptr);
  std::string bad = write("bad.csv", "Registry,Assignment,Organization Name\nMA-L,C0A0B,Short\n");
  BOOST_CHECK_EXCEPTION(oui::OuiDb::load({bad}), oui::OuiError, [&](const oui::OuiError& e) {
    return std::string(e.what()) == bad + ":2: Assignment: expected 6 hex digits, got 'C0A0B'";
  });
  std::string reg = write("reg.csv", "h\nXX-L,C0A0BB,Org\n");
  BOOST_CHECK_EXCEPTION(oui::OuiDb::load({reg}), oui::OuiError, [&](const oui::OuiError& e) {
    return std::string(e.what()) == reg + ":2: Registry: unknown registry 'XX-L'";
  });
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(debian_ieee_data_names_real_manufacturers) {
  oui::OuiDb db = oui::OuiDb::load(oui::OuiDb::default_paths());
  BOOST_TEST(db.size() > 40000u);  // MA-L + MA-M + MA-S + IAB of ieee-data 20220827
  BOOST_TEST(db.lookup(0xc0a0bb73eb57ULL)->organization == "D-Link International");
  BOOST_TEST(db.lookup(0x78acc0a70d4cULL)->organization == "Hewlett Packard");
  BOOST_TEST(db.lookup(0x000c297ca4cbULL)->organization == "VMware, Inc.");
}

BOOST_AUTO_TEST_SUITE_END()
