#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "dataplane/dpdk/eal_args.h"

using namespace haystack;
using V = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(eal_args)

BOOST_AUTO_TEST_CASE(devices_and_default_lcores) {
  auto p = build_eal_args("haystackd", {"--no-huge", "-m", "512"},
                          {{"net_pcap0,rx_pcap=a.pcap", true}, {"0000:3b:00.0", false}}, {2, 3});
  V want{"haystackd", "--no-huge", "-m", "512", "--vdev", "net_pcap0,rx_pcap=a.pcap",
         "-a", "0000:3b:00.0", "-l", "0,2,3"};
  BOOST_TEST(p.args == want, boost::test_tools::per_element());
  BOOST_TEST(!p.lcores_from_user);
}

BOOST_AUTO_TEST_CASE(no_workers_means_one_worker_on_lcore_1) {
  auto p = build_eal_args("h", {}, {}, {});
  V want{"h", "-l", "0,1"};
  BOOST_TEST(p.args == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(user_lcore_flags_win) {
  for (V user : {V{"--lcores", "0@0,1@0"}, V{"-l", "0-3"}, V{"-l0-3"}, V{"--lcores=0@0,1@1"},
                 V{"-c", "0x3"}}) {
    auto p = build_eal_args("h", user, {}, {1});
    BOOST_TEST(p.lcores_from_user);
    BOOST_TEST(p.args.size() == user.size() + 1);  // nothing appended
  }
  auto p = build_eal_args("h", {"--log-level=*:warning"}, {}, {1});
  BOOST_TEST(!p.lcores_from_user);
}

BOOST_AUTO_TEST_SUITE_END()
