// The pure parts of the XDP sampler adapter and its port configuration keys. The kernel
// side is exercised by the integration test test_xdp.py (veth + tcpreplay).
#include <boost/test/unit_test.hpp>

#include "control/config.h"
#include "control/metrics.h"
#include "control/stats_json.h"
#include "dataplane/xdp/xdp_sampler.h"
#include "telemetry/prometheus.h"

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

// The kernel counts reach the stats document and /metrics; ports without a sampler show
// no XDP figures.
BOOST_AUTO_TEST_CASE(counts_in_stats_and_metrics) {
  const Config cfg =
      parse_config("mode: ixp\nports:\n  - name: m0\n    device: net_ring0\n", "test.yaml");
  StatsSnapshot s;
  s.version = "1";
  s.config = &cfg;
  PortSnapshot with, without;
  with.info.name = "mirror";
  with.stats.xdp = true;
  with.stats.xdp_counts = sum_xdp_counts({{3, 17, 0}, {2, 5, 1}});
  without.info.name = "plain";
  s.ports = {with, without};

  const auto doc = stats_to_json(s);
  const auto& x = doc["ports"][0]["xdp"];
  BOOST_TEST(x["sampled"].get<uint64_t>() == 5u);
  BOOST_TEST(x["unsampled"].get<uint64_t>() == 22u);
  BOOST_TEST(x["no_socket"].get<uint64_t>() == 1u);
  BOOST_TEST(x["total"].get<uint64_t>() == 28u);
  BOOST_TEST(x["per_cpu"].size() == 2u);
  BOOST_TEST(x["per_cpu"][1]["unsampled"].get<uint64_t>() == 5u);
  BOOST_TEST(!doc["ports"][1].contains("xdp"));

  const std::string text = prom::render(metrics_from(s, prom::ExporterCounters{}));
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  BOOST_TEST(has("haystack_port_xdp_sampled_total{port=\"mirror\"} 5"));
  BOOST_TEST(has("haystack_port_xdp_unsampled_total{port=\"mirror\"} 22"));
  BOOST_TEST(has("haystack_port_xdp_no_socket_total{port=\"mirror\"} 1"));
  BOOST_TEST(text.find("haystack_port_xdp_sampled_total{port=\"plain\"}") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(xdp_config)

namespace {

std::string port(const std::string& device, const std::string& extra) {
  return "mode: ixp\n"
         "ports:\n"
         "  - name: p0\n"
         "    device: \"" +
         device + "\"\n" + extra;  // extra starts on line 5
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
  Config c =
      parse_config(port(kDev, "    xdp_sample_rate: 16\n    xdp_unsampled: pass\n"), "test.yaml");
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
