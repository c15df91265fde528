// The pure parts of the XDP sampler adapter and its port configuration keys. The kernel
// side is exercised by the integration test test_xdp.py (veth + tcpreplay).
#include <boost/test/unit_test.hpp>

#include "control/config.h"
#include "dataplane/xdp/xdp_sampler.h"

using namespace haystack;

BOOST_AUTO_TEST_SUITE(xdp_sampler)

BOOST_AUTO_TEST_CASE(device_arg_finds_keys) {
  const std::string d = "net_af_xdp0,iface=veth1,xdp_prog=/usr/share/haystack/xdp_sampler.bpf.o";
  BOOST_TEST(device_arg(d, "iface") == "veth1");
  BOOST_TEST(device_arg(d, "xdp_prog") == "/usr/share/haystack/xdp_sampler.bpf.o");
  BOOST_TEST(device_arg(d, "if") == "");  // a prefix of a key is not the key
  BOOST_TEST(device_arg(d, "queue_count") == "");
  BOOST_TEST(device_arg("net_af_xdp0", "iface") == "");
  BOOST_TEST(device_arg("net_af_xdp0,iface=", "iface") == "");
  BOOST_TEST(device_arg("iface=x,net_af_xdp0", "iface") == "");  // the name is not an argument
}

BOOST_AUTO_TEST_CASE(counts_sum_over_cpus) {
  XdpCounts c = sum_xdp_counts({{3, 14, 0}, {0, 0, 0}, {2, 9, 1}});
  BOOST_TEST(c.sampled == 5u);
  BOOST_TEST(c.unsampled == 23u);
  BOOST_TEST(c.no_socket == 1u);
  BOOST_TEST(c.seen() == 29u);
  BOOST_TEST(c.per_cpu.size() == 3u);
  BOOST_TEST(c.per_cpu[2].unsampled == 9u);
  BOOST_TEST(sum_xdp_counts({}).seen() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(xdp_config)

namespace {

std::string port(const std::string& device, const std::string& extra) {
  return "mode: ixp\n"
         "ports:\n"
         "  - name: p0\n"
         "    device: \"" + device + "\"\n" + extra;  // extra starts on line 5
}

void expect_error(const std::string& text, int line, const std::string& key,
                  const std::string& what_part) {
  try {
    parse_config(text, "test.yaml");
    BOOST_ERROR("no ConfigError for:\n" << text);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(e.line() == line);
      BOOST_TEST(e.key() == key);
      BOOST_TEST(what.find(what_part) != std::string::npos);
    }
  }
}

const std::string kDev = "net_af_xdp0,iface=eth1,xdp_prog=/x/xdp_sampler.bpf.o";

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_without_sampler) {
  Config c = parse_config(port(kDev, ""), "test.yaml");
  BOOST_TEST(c.ports[0].xdp_sample_rate == 0u);
  BOOST_TEST(c.ports[0].xdp_drop_unsampled);
}

BOOST_AUTO_TEST_CASE(rate_and_action) {
  Config c = parse_config(port(kDev, "    xdp_sample_rate: 16\n    xdp_unsampled: pass\n"),
                          "test.yaml");
  BOOST_TEST(c.ports[0].xdp_sample_rate == 16u);
  BOOST_TEST(!c.ports[0].xdp_drop_unsampled);
  c = parse_config(port(kDev, "    xdp_sample_rate: 1\n"), "test.yaml");
  BOOST_TEST(c.ports[0].xdp_sample_rate == 1u);
  BOOST_TEST(c.ports[0].xdp_drop_unsampled);
}

BOOST_AUTO_TEST_CASE(errors_name_line_and_key) {
  expect_error(port(kDev, "    xdp_sample_rate: 0\n"), 5, "ports[0].xdp_sample_rate", "");
  expect_error(port("net_af_packet0,iface=eth1", "    xdp_sample_rate: 4\n"), 5,
               "ports[0].xdp_sample_rate", "needs a net_af_xdp device");
  expect_error(port("net_af_xdp0,iface=eth1", "    xdp_sample_rate: 4\n"), 5,
               "ports[0].xdp_sample_rate", "xdp_prog=");
  expect_error(port(kDev, "    xdp_sample_rate: 4\n    xdp_unsampled: keep\n"), 6,
               "ports[0].xdp_unsampled", "drop or pass");
  expect_error(port(kDev, "    xdp_unsampled: pass\n"), 5, "ports[0].xdp_unsampled",
               "needs xdp_sample_rate");
}

BOOST_AUTO_TEST_SUITE_END()
