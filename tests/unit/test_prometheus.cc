#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>

#include "control/config.h"
#include "control/metrics.h"
#include "telemetry/prometheus.h"

using namespace haystack;
using namespace haystack::prom;

namespace {

// One HTTP exchange over a real TCP connection to 127.0.0.1:port.
std::string http(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(::send(fd, request.data(), request.size(), 0) == ssize_t(request.size()));
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(renders_help_type_labels_and_escapes) {
  Family c{"haystack_x_total", "frames \\ seen\nhere", Type::kCounter, {}};
  c.samples.push_back({{{"port", "in\"0"}, {"queue", "1"}}, 42});
  c.samples.push_back({{{"port", "a\\b\nc"}, {"queue", "0"}}, 18446744073709551615.0});
  Family g{"haystack_gen", "generation", Type::kGauge, {{{}, 3}, {{{"k", "v"}}, 0.5}}};
  BOOST_TEST(render({c, g}) ==
             "# HELP haystack_x_total frames \\\\ seen\\nhere\n"
             "# TYPE haystack_x_total counter\n"
             "haystack_x_total{port=\"in\\\"0\",queue=\"1\"} 42\n"
             "haystack_x_total{port=\"a\\\\b\\nc\",queue=\"0\"} 1.8446744073709552e+19\n"
             "# HELP haystack_gen generation\n"
             "# TYPE haystack_gen gauge\n"
             "haystack_gen 3\n"
             "haystack_gen{k=\"v\"} 0.5\n");
}

BOOST_AUTO_TEST_CASE(rejects_bad_names) {
  BOOST_TEST(valid_metric_name("haystack:rx_total"));
  BOOST_TEST(!valid_metric_name("9lives"));
  BOOST_TEST(!valid_metric_name("a-b"));
  BOOST_TEST(!valid_label_name("__reserved"));
  BOOST_TEST(!valid_label_name("a:b"));
  BOOST_CHECK_THROW(render({Family{"x_packets", "", Type::kCounter, {}}}), std::invalid_argument);
  BOOST_CHECK_THROW(render({Family{"x_total", "", Type::kGauge, {}}}), std::invalid_argument);
  BOOST_CHECK_THROW(render({Family{"x_total", "", Type::kCounter, {}},
                            Family{"x_total", "", Type::kCounter, {}}}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(render({Family{"x_total", "", Type::kCounter, {{{{"bad-label", "v"}}, 1}}}}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(http_exporter_serves_metrics_and_answers_errors) {
  HttpExporter e("127.0.0.1", 0);
  BOOST_TEST(e.port() != 0);
  e.publish("a_total 1\n");
  std::string ok = http(e.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(ok == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   "Content-Length: 10\r\nConnection: close\r\n\r\na_total 1\n");
  BOOST_TEST(http(e.port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  BOOST_TEST(http(e.port(), "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405 ", 0) == 0);
  BOOST_TEST(http(e.port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  BOOST_TEST(http(e.port(), std::string(9000, 'A')).rfind("HTTP/1.1 400 ", 0) == 0);
  ExporterCounters c = e.counters();
  BOOST_TEST(c.scrapes == 1u);
  BOOST_TEST(c.bad_requests == 4u);
  BOOST_TEST(c.connections == 5u);
  BOOST_CHECK_THROW(HttpExporter("127.0.0.1", e.port()), std::runtime_error);  // in use
  BOOST_CHECK_THROW(HttpExporter("localhost", 0), std::runtime_error);        // not an address
}

BOOST_AUTO_TEST_CASE(daemon_metrics_have_labels_and_valid_names) {
  Config cfg;
  cfg.site_id = "fra1";
  WorkerCounters a, b;
  a.rx_packets.add(10);
  b.rx_packets.add(5);
  b.parse_error[size_t(ParseError::kTruncatedTcp)].add(2);
  StatsSnapshot s;
  s.version = "9.9.9";
  s.config = &cfg;
  s.workers.push_back(WorkerSnapshot::from(0, 1, a));
  s.workers.push_back(WorkerSnapshot::from(1, 2, b));
  s.workers[1].queues.emplace_back("in0", 3);
  PortSnapshot p;
  p.info.name = "in0";
  p.stats.imissed = 7;
  p.stats.q_ipackets = {11, 4};
  p.stats.q_ibytes = {1100, 400};
  s.ports.push_back(p);
  s.control.bins_received = 6;
  std::string text = render(metrics_from(s, ExporterCounters{2, 1, 3}));
  auto has = [&](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
  BOOST_TEST(has("haystack_build_info{version=\"9.9.9\",site=\"fra1\",mode=\"isp\"} 1"));
  BOOST_TEST(has("# TYPE haystack_worker_rx_packets_total counter"));
  BOOST_TEST(has("haystack_worker_rx_packets_total{worker=\"0\",lcore=\"1\"} 10"));
  BOOST_TEST(has("haystack_worker_rx_packets_total{worker=\"1\",lcore=\"2\"} 5"));
  BOOST_TEST(has("haystack_worker_parse_errors_by_reason_total{worker=\"1\",reason=\"truncated_tcp\"} 2"));
  BOOST_TEST(has("haystack_worker_queue_info{worker=\"1\",port=\"in0\",queue=\"3\"} 1"));
  BOOST_TEST(has("haystack_port_rx_missed_total{port=\"in0\"} 7"));
  BOOST_TEST(has("haystack_port_queue_rx_packets_total{port=\"in0\",queue=\"1\"} 4"));
  BOOST_TEST(has("haystack_bins_received_total 6"));
  BOOST_TEST(has("haystack_metrics_scrapes_total 2"));
  BOOST_TEST(text.find("haystack_hitlist_generation") == std::string::npos);  // IoT off
}

BOOST_AUTO_TEST_SUITE_END()
