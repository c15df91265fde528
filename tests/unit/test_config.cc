#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "control/config.h"

using namespace haystack;

namespace {

IpAddr v4(const char* s) {
  uint8_t b[4];
  BOOST_REQUIRE(inet_pton(AF_INET, s, b) == 1);
  return IpAddr::from_v4(b);
}

IpAddr v6(const char* s) {
  uint8_t b[16];
  BOOST_REQUIRE(inet_pton(AF_INET6, s, b) == 1);
  return IpAddr::from_v6(b);
}

Prefix prefix(const std::string& s) {
  Prefix p;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_prefix(s, p, why), s << ": " << why);
  return p;
}

std::string prefix_error(const std::string& s) {
  Prefix p;
  std::string why;
  BOOST_REQUIRE_MESSAGE(!parse_prefix(s, p, why), s << " parsed unexpectedly");
  return why;
}

// A minimal valid configuration (4 lines); `extra` starts on line 5.
std::string base(const std::string& extra = "") {
  return "mode: ixp\n"
         "ports:\n"
         "  - name: p0\n"
         "    device: net_ring0\n" +
         extra;
}

// Parses `text` as "test.yaml" and checks the error's line, key and message.
void expect_error(const std::string& text, int line, const std::string& key,
                  const std::string& what_part) {
  try {
    parse_config(text, "test.yaml");
    BOOST_ERROR("no ConfigError for:\n" << text);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(e.file() == "test.yaml");
      BOOST_TEST(e.line() == line);
      BOOST_TEST(e.key() == key);
      BOOST_TEST(what.find(what_part) != std::string::npos, "'" << what_part << "' not in message");
    }
  }
}

const char* kFull =
    "site_id: fra-ix.edge_01\n"                              // 1
    "mode: isp\n"                                            // 2
    "subscriber_prefixes:\n"                                 // 3
    "  - 100.64.0.0/10\n"                                    // 4
    "  - 2001:db8:1000::/36\n"                               // 5
    "  - 192.0.2.7\n"                                        // 6
    "subscriber_prefix_length:\n"                            // 7
    "  ipv4: 30\n"                                           // 8
    "  ipv6: 64\n"                                           // 9
    "ports:\n"                                               // 10
    "  - name: uplink0\n"                                    // 11
    "    device: 0000:3b:00.0\n"                             // 12
    "    rx_queues: 4\n"                                     // 13
    "    rx_descriptors: 2048\n"                             // 14
    "    promiscuous: false\n"                               // 15
    "  - name: replay\n"                                     // 16
    "    device: net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap\n"  // 17
    "    rx_queues: 2\n"                                     // 18
    "workers: [1, 2, 3, 5]\n"                                // 19
    "mempool:\n"                                             // 20
    "  mbufs: 65535\n"                                       // 21
    "  cache: 512\n"                                         // 22
    "  data_room: 9216\n"                                    // 23
    "burst_size: 64\n"                                       // 24
    "rings:\n"                                               // 25
    "  bin_ring_size: 128\n"                                 // 26
    "  bin_records: 16\n"                                    // 27
    "sampling:\n"                                            // 28
    "  method: hash\n"                                       // 29
    "  flow_rate: 1000\n"                                    // 30
    "  iot_rate: 16777216\n"                                 // 31
    "  hash_seed: 0xDEADBEEFcafe0001\n"                      // 32
    "bins:\n"                                                // 33
    "  seconds: 300\n"                                       // 34
    "clock: packet\n"                                        // 35
    "state_dir: /srv/haystack/\n"                            // 36
    "alert_file: /var/log/haystack/alerts.jsonl\n"           // 37
    "log:\n"                                                 // 38
    "  level: debug\n"                                       // 39
    "  format: json\n"                                       // 40
    "  file: /var/log/haystack/haystackd.log\n"              // 41
    "  max_file_mb: 4096\n"                                  // 42
    "  max_files: 100\n";                                    // 43

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("haystack_test_config_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

// ---------------------------------------------------------------------------------------
// Whole configurations

BOOST_AUTO_TEST_CASE(full_config_every_key) {
  const Config c = parse_config(kFull, "full.yaml");
  BOOST_TEST(c.source_file == "full.yaml");
  BOOST_TEST(c.site_id == "fra-ix.edge_01");
  BOOST_TEST((c.mode == Mode::kIsp));
  BOOST_REQUIRE_EQUAL(c.subscriber_prefixes.size(), 3u);
  BOOST_TEST(c.subscriber_prefixes[0].str() == "100.64.0.0/10");
  BOOST_TEST(c.subscriber_prefixes[0].addr.v4);
  BOOST_TEST(c.subscriber_prefixes[1].str() == "2001:db8:1000::/36");
  BOOST_TEST(!c.subscriber_prefixes[1].addr.v4);
  BOOST_TEST(c.subscriber_prefixes[2].str() == "192.0.2.7/32");
  BOOST_TEST(c.subscriber_ipv4_len == 30);
  BOOST_TEST(c.subscriber_ipv6_len == 64);

  BOOST_REQUIRE_EQUAL(c.ports.size(), 2u);
  BOOST_TEST(c.ports[0].name == "uplink0");
  BOOST_TEST(c.ports[0].device == "0000:3b:00.0");
  BOOST_TEST(c.ports[0].dpdk_name() == "0000:3b:00.0");
  BOOST_TEST(!c.ports[0].is_vdev());
  BOOST_TEST(c.ports[0].rx_queues == 4);
  BOOST_TEST(c.ports[0].rx_descriptors == 2048);
  BOOST_TEST(c.ports[0].promiscuous == false);
  BOOST_TEST(c.ports[0].line == 11);
  BOOST_TEST(c.ports[1].name == "replay");
  BOOST_TEST(c.ports[1].device == "net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap");
  BOOST_TEST(c.ports[1].dpdk_name() == "net_pcap0");
  BOOST_TEST(c.ports[1].is_vdev());
  BOOST_TEST(c.ports[1].rx_queues == 2);
  BOOST_TEST(c.ports[1].rx_descriptors == 1024);
  BOOST_TEST(c.ports[1].promiscuous == true);
  BOOST_TEST(c.ports[1].line == 16);

  BOOST_TEST(c.workers == (std::vector<uint32_t>{1, 2, 3, 5}), boost::test_tools::per_element());
  BOOST_TEST(c.workers_line == 19);
  BOOST_TEST(c.mempool_mbufs == 65535u);
  BOOST_TEST(c.mempool_cache == 512u);
  BOOST_TEST(c.mbuf_data_room == 9216u);
  BOOST_TEST(c.burst_size == 64u);
  BOOST_TEST(c.bin_ring_size == 128u);
  BOOST_TEST(c.bin_records == 16u);
  BOOST_TEST((c.sampling.method == SampleMethod::kHash));
  BOOST_TEST(c.sampling.flow_rate == 1000u);
  BOOST_TEST(c.sampling.iot_rate == 16777216u);
  BOOST_TEST(c.sampling.hash_seed == 0xdeadbeefcafe0001ULL);
  BOOST_TEST(c.bin_seconds == 300u);
  BOOST_TEST((c.clock == ClockSource::kPacket));
  BOOST_TEST(c.state_dir == "/srv/haystack/");
  BOOST_TEST(c.alert_file == "/var/log/haystack/alerts.jsonl");
  BOOST_TEST(c.log.level == "debug");
  BOOST_TEST((c.log.format == LogFormat::kJson));
  BOOST_TEST(c.log.file == "/var/log/haystack/haystackd.log");
  BOOST_TEST(c.log.max_file_mb == 4096u);
  BOOST_TEST(c.log.max_files == 100u);
}

BOOST_AUTO_TEST_CASE(defaults) {
  const Config c = parse_config(base(), "min.yaml");
  BOOST_TEST(c.source_file == "min.yaml");
  BOOST_TEST(c.site_id == "site1");
  BOOST_TEST((c.mode == Mode::kIxp));
  BOOST_TEST(c.subscriber_prefixes.empty());
  BOOST_TEST(c.subscriber_ipv4_len == 32);
  BOOST_TEST(c.subscriber_ipv6_len == 56);
  BOOST_REQUIRE_EQUAL(c.ports.size(), 1u);
  BOOST_TEST(c.ports[0].name == "p0");
  BOOST_TEST(c.ports[0].device == "net_ring0");
  BOOST_TEST(c.ports[0].rx_queues == 1);
  BOOST_TEST(c.ports[0].rx_descriptors == 1024);
  BOOST_TEST(c.ports[0].promiscuous == true);
  BOOST_TEST(c.ports[0].line == 3);
  BOOST_TEST(c.workers.empty());
  BOOST_TEST(c.workers_line == 0);
  BOOST_TEST(c.mempool_mbufs == 16383u);
  BOOST_TEST(c.mempool_cache == 256u);
  BOOST_TEST(c.mbuf_data_room == 2176u);
  BOOST_TEST(c.burst_size == 32u);
  BOOST_TEST(c.bin_ring_size == 64u);
  BOOST_TEST(c.bin_records == 4u);
  BOOST_TEST((c.sampling.method == SampleMethod::kCount));
  BOOST_TEST(c.sampling.flow_rate == 1u);
  BOOST_TEST(c.sampling.iot_rate == 1u);
  BOOST_TEST(c.sampling.hash_seed == 0u);
  BOOST_TEST(c.bin_seconds == 60u);
  BOOST_TEST((c.clock == ClockSource::kAuto));
  BOOST_TEST(c.state_dir == "/var/lib/haystack");
  BOOST_TEST(c.alert_file == "/var/lib/haystack/alerts.jsonl");
  BOOST_TEST(c.log.level == "info");
  BOOST_TEST((c.log.format == LogFormat::kText));
  BOOST_TEST(c.log.file == "");
  BOOST_TEST(c.log.max_file_mb == 64u);
  BOOST_TEST(c.log.max_files == 5u);
}

BOOST_AUTO_TEST_CASE(alert_file_follows_state_dir) {
  BOOST_TEST(parse_config(base("state_dir: /srv/h\n"), "t").alert_file == "/srv/h/alerts.jsonl");
  BOOST_TEST(parse_config(base("state_dir: /srv/h/\n"), "t").alert_file == "/srv/h/alerts.jsonl");
  BOOST_TEST(parse_config(base("state_dir: rel\n"), "t").alert_file == "rel/alerts.jsonl");
}

BOOST_AUTO_TEST_CASE(control_socket_keys) {
  const Config d = parse_config(base(), "t");
  BOOST_TEST(d.control.socket == "/var/lib/haystack/haystackd.sock");
  BOOST_TEST(d.control.max_clients == 16u);
  BOOST_TEST(parse_config(base("state_dir: /srv/h/\n"), "t").control.socket ==
             "/srv/h/haystackd.sock");
  const Config c =
      parse_config(base("control:\n  socket: /run/hs.sock\n  max_clients: 3\n"), "t");
  BOOST_TEST(c.control.socket == "/run/hs.sock");
  BOOST_TEST(c.control.max_clients == 3u);
  expect_error(base("control:\n  socket: /" + std::string(107, 'a') + "\n"), 6,
               "control.socket", "a Unix socket path has at most 107 bytes");
  expect_error(base("control:\n  max_clients: 0\n"), 6, "control.max_clients",
               "expected an integer in 1..1024");
  expect_error(base("control:\n  sokcet: x\n"), 6, "control.sokcet", "did you mean 'socket'?");
}

BOOST_AUTO_TEST_CASE(store_clickhouse_keys) {
  const Config d = parse_config(base(), "t");
  BOOST_TEST(d.store.clickhouse.url == "http://127.0.0.1:8123");
  BOOST_TEST(d.store.clickhouse.database == "haystack");
  BOOST_TEST(d.store.clickhouse.batch_rows == 1000u);
  BOOST_TEST(d.store.clickhouse.create_tables);
  const Config c = parse_config(base("store:\n"
                                     "  backend: clickhouse\n"
                                     "  clickhouse:\n"
                                     "    url: http://10.0.0.5:18123/\n"
                                     "    database: net_wide\n"
                                     "    user: writer\n"
                                     "    password_file: /etc/haystack/ch.pw\n"
                                     "    batch_rows: 50\n"
                                     "    flush_ms: 250\n"
                                     "    queue_rows: 5000\n"
                                     "    queue_bytes: 1048576\n"
                                     "    retry_max_seconds: 60\n"
                                     "    retry_backoff_max_ms: 2000\n"
                                     "    timeout_ms: 3000\n"
                                     "    flush_timeout_ms: 4000\n"
                                     "    create_tables: false\n"),
                                "t");
  const ClickHouseStoreConfig& ch = c.store.clickhouse;
  BOOST_TEST((c.store.backend == StoreBackend::kClickHouse));
  BOOST_TEST(ch.url == "http://10.0.0.5:18123/");
  BOOST_TEST(ch.database == "net_wide");
  BOOST_TEST(ch.user == "writer");
  BOOST_TEST(ch.password_file == "/etc/haystack/ch.pw");
  BOOST_TEST(ch.batch_rows == 50u);
  BOOST_TEST(ch.flush_ms == 250u);
  BOOST_TEST(ch.queue_rows == 5000u);
  BOOST_TEST(ch.queue_bytes == 1048576u);
  BOOST_TEST(ch.retry_max_seconds == 60u);
  BOOST_TEST(ch.retry_backoff_max_ms == 2000u);
  BOOST_TEST(ch.timeout_ms == 3000u);
  BOOST_TEST(ch.flush_timeout_ms == 4000u);
  BOOST_TEST(!ch.create_tables);
  BOOST_TEST((parse_config(base("store:\n  backend: none\n"), "t").store.backend ==
              StoreBackend::kNone));

  expect_error(base("store:\n  backend: clickhose\n"), 6, "store.backend",
               "did you mean 'clickhouse'?");
  expect_error(base("store:\n  clickhouse:\n    url: 127.0.0.1:8123\n"), 7,
               "store.clickhouse.url", "expected an http:// or https:// URL");
  expect_error(base("store:\n  clickhouse:\n    url: http://h:1/?user=x\n"), 7,
               "store.clickhouse.url", "without query");
  expect_error(base("store:\n  clickhouse:\n    database: my-db\n"), 7,
               "store.clickhouse.database", "[A-Za-z0-9_]");
  expect_error(base("store:\n  clickhouse:\n    database: 1db\n"), 7,
               "store.clickhouse.database", "not starting with a digit");
  expect_error(base("store:\n  clickhouse:\n    batch_rows: 0\n"), 7,
               "store.clickhouse.batch_rows", "expected an integer in");
  expect_error(base("store:\n  clickhouse:\n    queue_rows: 10\n    batch_rows: 20\n"), 8,
               "store.clickhouse.batch_rows", "batch_rows (20) exceeds queue_rows (10)");
  expect_error(base("store:\n  clickhouse:\n    queue_bytes: 100\n"), 7,
               "store.clickhouse.queue_bytes", "expected an integer in");
  expect_error(base("store:\n  clickhouse:\n    flush_msec: 10\n"), 7,
               "store.clickhouse.flush_msec", "did you mean 'flush_ms'?");
  expect_error(base("store:\n  clickhouse:\n    create_tables: maybe\n"), 7,
               "store.clickhouse.create_tables", "");
}

BOOST_AUTO_TEST_CASE(empty_sections_take_defaults) {
  const Config c = parse_config(base("sampling:\nlog:\nworkers: []\n"), "t");
  BOOST_TEST(c.sampling.flow_rate == 1u);
  BOOST_TEST(c.log.level == "info");
  BOOST_TEST(c.workers.empty());
  BOOST_TEST(c.workers_line == 7);
  // A block list: the key's line, not the first item's.
  BOOST_TEST(parse_config(base("workers:\n  - 2\n  - 3\n"), "t").workers_line == 5);
}

BOOST_AUTO_TEST_CASE(value_forms) {
  // Boundary values, decimal and hex seeds, a tagged integer, every enum word.
  Config c = parse_config(base("sampling:\n"
                               "  method: count\n"
                               "  hash_seed: 18446744073709551615\n"
                               "  flow_rate: !!int 7\n"
                               "bins:\n"
                               "  seconds: 86400\n"
                               "clock: wall\n"
                               "workers: [0, 1023]\n"
                               "log:\n"
                               "  level: 'off'\n"
                               "  format: text\n"),
                          "t");
  BOOST_TEST((c.sampling.method == SampleMethod::kCount));
  BOOST_TEST(c.sampling.hash_seed == 18446744073709551615ULL);
  BOOST_TEST(c.sampling.flow_rate == 7u);
  BOOST_TEST(c.bin_seconds == 86400u);
  BOOST_TEST((c.clock == ClockSource::kWall));
  BOOST_TEST(c.workers == (std::vector<uint32_t>{0, 1023}), boost::test_tools::per_element());
  BOOST_TEST(c.log.level == "off");
  BOOST_TEST((c.log.format == LogFormat::kText));

  c = parse_config(base("sampling:\n  hash_seed: 0xFFFFFFFFFFFFFFFF\nbins:\n  seconds: 1\n"
                        "clock: auto\nrings:\n  bin_ring_size: 2048\n  bin_records: 1024\n"),
                   "t");
  BOOST_TEST(c.sampling.hash_seed == ~uint64_t{0});
  BOOST_TEST(c.bin_seconds == 1u);
  BOOST_TEST((c.clock == ClockSource::kAuto));
  BOOST_TEST(c.bin_ring_size == 2048u);
  BOOST_TEST(c.bin_records == 1024u);

  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical"}) {
    BOOST_TEST(parse_config(base(std::string("log:\n  level: ") + level + "\n"), "t").log.level ==
               level);
  }
  // A short or upper-case PCI address is stored as DPDK names the device; device
  // arguments are kept. Capitalised booleans are accepted.
  c = parse_config(
      "mode: ixp\nports:\n  - name: a\n    device: 3B:00.1\n    promiscuous: False\n"
      "  - name: b\n    device: 0000:AF:00.0,rxq_cqe_comp_en=1\n",
      "t");
  BOOST_TEST(c.ports[0].device == "0000:3b:00.1");
  BOOST_TEST(c.ports[0].dpdk_name() == "0000:3b:00.1");
  BOOST_TEST(c.ports[1].device == "0000:af:00.0,rxq_cqe_comp_en=1");
  BOOST_TEST(c.ports[1].dpdk_name() == "0000:af:00.0");
  BOOST_TEST(c.ports[0].promiscuous == false);
}

BOOST_AUTO_TEST_CASE(vdev_kinds) {
  const Config c = parse_config(
      "mode: ixp\n"
      "ports:\n"
      "  - name: a\n"
      "    device: net_af_packet0,iface=eth1,qpairs=2\n"
      "    rx_queues: 2\n"
      "  - name: b\n"
      "    device: net_af_xdp0,iface=eth2,start_queue=0,queue_count=1\n"
      "  - name: c\n"
      "    device: net_pcap1,iface=veth0\n"
      "  - name: d\n"
      "    device: net_pcap2,rx_iface=veth1,rx_iface_in=veth2,tx_iface=veth3\n"
      "    rx_queues: 2\n",
      "t");
  BOOST_REQUIRE_EQUAL(c.ports.size(), 4u);
  BOOST_TEST(c.ports[0].dpdk_name() == "net_af_packet0");
  BOOST_TEST(c.ports[1].dpdk_name() == "net_af_xdp0");
  BOOST_TEST(c.ports[2].dpdk_name() == "net_pcap1");
  BOOST_TEST(c.ports[3].rx_queues == 2);
}

BOOST_AUTO_TEST_CASE(load_from_file) {
  TempDir d;
  const std::string path = (d.path / "haystack.yaml").string();
  {
    std::ofstream f(path);
    f << kFull;
  }
  const Config c = load_config(path);
  BOOST_TEST(c.source_file == path);
  BOOST_TEST(c.site_id == "fra-ix.edge_01");
  BOOST_TEST(c.ports.size() == 2u);

  {
    std::ofstream f(path);
    f << base("sampling:\n  flow_rate: abc\n");
  }
  try {
    load_config(path);
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.file() == path);
    BOOST_TEST(e.line() == 6);
    BOOST_TEST(std::string(e.what()) ==
               path + ":6: sampling.flow_rate: expected an integer in 1..16777216, got \"abc\"");
  }
}

#ifdef HAYSTACK_TEST_DATA
// docs/operations.md promises a complete, valid example; keep the two in step.
BOOST_AUTO_TEST_CASE(documented_example_is_valid) {
  const std::filesystem::path doc =
      std::filesystem::path(HAYSTACK_TEST_DATA) / ".." / ".." / "docs" / "operations.md";
  std::ifstream f(doc);
  BOOST_REQUIRE_MESSAGE(f, "cannot read " << doc);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  const size_t section = text.find("\n## Complete example");
  BOOST_REQUIRE(section != std::string::npos);
  const size_t begin = text.find("```yaml\n", section);
  BOOST_REQUIRE(begin != std::string::npos);
  const size_t end = text.find("\n```", begin + 8);
  BOOST_REQUIRE(end != std::string::npos);
  const Config c = parse_config(text.substr(begin + 8, end - begin - 7), "operations.md");
  BOOST_TEST(c.site_id == "fra-edge-01");
  BOOST_TEST(c.ports.size() == 2u);
  BOOST_TEST(c.workers.size() == 4u);
  BOOST_TEST((c.sampling.method == SampleMethod::kHash));
  BOOST_TEST(c.sampling.hash_seed == 0x5eed00c0ffeeULL);
  BOOST_TEST(c.control.socket == "/var/lib/haystack/haystackd.sock");
}
#endif

BOOST_AUTO_TEST_CASE(missing_file) {
  const std::string path = "/nonexistent-haystack-dir/haystack.yaml";
  try {
    load_config(path);
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.file() == path);
    BOOST_TEST(e.line() == 0);
    BOOST_TEST(e.key() == "");
    BOOST_TEST(std::string(e.what()) == path +
                                            ": cannot open configuration file: No such file or "
                                            "directory");
  }
  TempDir d;
  try {
    load_config(d.path.string());  // a directory
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.line() == 0);
    BOOST_TEST(std::string(e.what()).find(d.path.string() + ": cannot read") == 0);
  }
}

// ---------------------------------------------------------------------------------------
// Errors: exact file, line and key

BOOST_AUTO_TEST_CASE(error_message_format) {
  try {
    parse_config(base("sampling:\n  flow_rate: abc\n"), "haystack.yaml");
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(std::string(e.what()) ==
               "haystack.yaml:6: sampling.flow_rate: expected an integer in 1..16777216, got "
               "\"abc\"");
  }
}

BOOST_AUTO_TEST_CASE(yaml_syntax_errors) {
  expect_error(base("sampling: [1, 2\nbins: 3\n"), 6, "", "test.yaml:6: invalid YAML: ");
  expect_error("mode: ixp\n  ports: 1\n", 2, "", "invalid YAML: illegal map value");
  expect_error(base("---\nsite_id: x\n"), 6, "", "expected one YAML document, found 2");
  expect_error("- a\n- b\n", 1, "", "expected a map of settings at the top level, got a list");
  expect_error("just text\n", 1, "",
               "expected a map of settings at the top level, got \"just text\"");
}

BOOST_AUTO_TEST_CASE(unknown_keys) {
  expect_error(base("burst_sise: 32\n"), 5, "burst_sise",
               "unknown key; did you mean 'burst_size'?");
  expect_error(base("sampling:\n  flow_rat: 5\n"), 6, "sampling.flow_rat",
               "unknown key; did you mean 'flow_rate'?");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: net_ring0\n    rx_queue: 2\n", 5,
               "ports[0].rx_queue", "did you mean 'rx_queues'?");
  expect_error(base("log:\n  levle: info\n"), 6, "log.levle", "did you mean 'level'?");
  expect_error(base("subscriber_prefix_length:\n  ipv7: 3\n"), 6, "subscriber_prefix_length.ipv7",
               "did you mean 'ipv4'?");
  expect_error(base("colour: blue\n"), 5, "colour",
               "unknown key; allowed keys are site_id, mode, subscriber_prefixes");
  expect_error(base("foo: 1\n"), 5, "foo", "unknown key; allowed keys are");  // not 'log'
  expect_error(base("sampling:\n  mehtod: hash\n"), 6, "sampling.mehtod", "did you mean 'method'?");
  expect_error(base("Burst_Size: 32\n"), 5, "Burst_Size", "did you mean 'burst_size'?");
  expect_error(base("rings:\n  size: 8\n"), 6, "rings.size",
               "unknown key; allowed keys are bin_ring_size, bin_records");
}

BOOST_AUTO_TEST_CASE(duplicate_keys) {
  expect_error(base("burst_size: 32\nburst_size: 64\n"), 6, "burst_size",
               "duplicate key (first given on line 5)");
  expect_error("mode: ixp\nports:\n  - name: a\n    name: b\n    device: net_ring0\n", 4,
               "ports[0].name", "duplicate key (first given on line 3)");
}

BOOST_AUTO_TEST_CASE(wrong_types) {
  expect_error(base("sampling: [1, 2]\n"), 5, "sampling",
               "expected a map with keys method, flow_rate, iot_rate, hash_seed, got a list");
  expect_error(base("sampling: 5\n"), 5, "sampling", "got \"5\"");
  expect_error(base("burst_size: {a: 1}\n"), 5, "burst_size",
               "expected an integer in 1..512, got a map");
  expect_error(base("burst_size: [1]\n"), 5, "burst_size", "got a list");
  expect_error(base("burst_size: {}\n"), 5, "burst_size", "got an empty map");
  expect_error(base("burst_size:\n"), 5, "burst_size", "got nothing (null)");
  expect_error(base("burst_size: \"32\"\n"), 5, "burst_size",
               "expected an integer in 1..512, got \"32\" (remove the quotes)");
  expect_error(base("burst_size: 3.5\n"), 5, "burst_size", "got \"3.5\"");
  expect_error(base("burst_size: 1e2\n"), 5, "burst_size", "got \"1e2\"");
  expect_error(base("burst_size: 0x20\n"), 5, "burst_size", "got \"0x20\"");
  expect_error(base("burst_size: -1\n"), 5, "burst_size",
               "expected an integer in 1..512, got \"-1\"");
  expect_error(base("burst_size: +5\n"), 5, "burst_size", "got \"+5\"");
  expect_error(base("burst_size: 99999999999999999999999\n"), 5, "burst_size",
               "got \"99999999999999999999999\"");
  expect_error(base("burst_size: 18446744073709551616\n"), 5, "burst_size",
               "got \"18446744073709551616\"");
  expect_error(base("site_id: [a]\n"), 5, "site_id", "expected a string, got a list");
  expect_error(base("site_id:\n"), 5, "site_id", "expected a string, got nothing (null)");
  expect_error(base("ports_extra: 1\n"), 5, "ports_extra", "unknown key");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: net_ring0\n    promiscuous: yes\n", 5,
               "ports[0].promiscuous", "expected true or false, got \"yes\"");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: net_ring0\n    promiscuous: \"true\"\n",
               5, "ports[0].promiscuous", "expected true or false");
  expect_error(base("{a: 1}: 2\n"), 5, "", "expected a plain key, got a map");
}

BOOST_AUTO_TEST_CASE(site_and_mode) {
  expect_error(base("site_id: bad id!\n"), 5, "site_id",
               "expected 1..64 characters from [A-Za-z0-9_.-], got \"bad id!\"");
  expect_error(base("site_id: " + std::string(65, 'a') + "\n"), 5, "site_id", "expected 1..64");
  expect_error(base("site_id: ''\n"), 5, "site_id", "expected 1..64");
  BOOST_TEST(parse_config(base("site_id: " + std::string(64, 'a') + "\n"), "t").site_id.size() ==
             64u);
  expect_error("mode: isx\n", 1, "mode",
               "expected one of isp, ixp, got \"isx\"; did you mean 'isp'?");
  expect_error("mode: router\n", 1, "mode", "expected one of isp, ixp, got \"router\"");
  expect_error("mode: ISP\n", 1, "mode", "got \"ISP\"; did you mean 'isp'?");
}

BOOST_AUTO_TEST_CASE(isp_needs_subscriber_prefixes) {
  const std::string ports = "ports:\n  - name: a\n    device: net_ring0\n";
  expect_error("mode: isp\n" + ports, 1, "subscriber_prefixes",
               "test.yaml:1: subscriber_prefixes: mode isp needs subscriber_prefixes");
  expect_error(ports, 0, "subscriber_prefixes", "test.yaml: subscriber_prefixes: mode isp needs");
  expect_error("mode: isp\n" + ports + "subscriber_prefixes: []\n", 5, "subscriber_prefixes",
               "mode isp needs subscriber_prefixes");
  const Config c = parse_config(ports + "subscriber_prefixes: [10.0.0.0/8]\n", "t");
  BOOST_TEST((c.mode == Mode::kIsp));
  BOOST_TEST(c.subscriber_prefixes.size() == 1u);
}

BOOST_AUTO_TEST_CASE(subscriber_prefix_errors) {
  const std::string head = "ports:\n  - name: a\n    device: net_ring0\nsubscriber_prefixes:\n";
  expect_error(head + "  - 10.0.0.0/8\n  - 10.0.0.1/8\n", 6, "subscriber_prefixes[1]",
               "host bits set in \"10.0.0.1/8\" (did you mean 10.0.0.0/8?)");
  expect_error(head + "  - 2001:db8::1/48\n", 5, "subscriber_prefixes[0]",
               "host bits set in \"2001:db8::1/48\" (did you mean 2001:db8::/48?)");
  expect_error(head + "  - 10.0.0.0/33\n", 5, "subscriber_prefixes[0]",
               "invalid prefix length \"33\" (expected 0..32)");
  expect_error(head + "  - customers\n", 5, "subscriber_prefixes[0]",
               "invalid IPv4 address \"customers\"");
  expect_error(head + "  - [10.0.0.0/8]\n", 5, "subscriber_prefixes[0]",
               "expected a prefix such as 192.0.2.0/24, got a list");
  expect_error(head + "  - 10.0.0.0/8\n  - 10.0.0.0/8\n", 6, "subscriber_prefixes[1]",
               "duplicate prefix 10.0.0.0/8 (also subscriber_prefixes[0])");
  expect_error("ports:\n  - name: a\n    device: net_ring0\nsubscriber_prefixes: 10.0.0.0/8\n", 4,
               "subscriber_prefixes", "expected a list of prefixes such as 192.0.2.0/24");
  expect_error(base("subscriber_prefix_length:\n  ipv4: 33\n"), 6, "subscriber_prefix_length.ipv4",
               "expected an integer in 1..32, got \"33\"");
  expect_error(base("subscriber_prefix_length:\n  ipv6: 0\n"), 6, "subscriber_prefix_length.ipv6",
               "expected an integer in 1..128, got \"0\"");
}

BOOST_AUTO_TEST_CASE(port_errors) {
  expect_error("mode: ixp\n", 0, "ports", "test.yaml: ports: required key is missing");
  expect_error("", 0, "ports", "required key is missing");
  expect_error("# only a comment\n", 0, "ports", "required key is missing");
  expect_error("mode: ixp\nports: []\n", 2, "ports",
               "expected a non-empty list of ports, got an empty list");
  expect_error("mode: ixp\nports:\n", 2, "ports",
               "expected a non-empty list of ports, got nothing");
  expect_error("mode: ixp\nports:\n  name: a\n", 3, "ports", "expected a list of ports, got a map");
  expect_error("mode: ixp\nports:\n  - net_ring0\n", 3, "ports[0]",
               "expected a map with keys name, device, rx_queues, rx_descriptors, promiscuous, "
               "xdp_sample_rate, xdp_unsampled, got \"net_ring0\"");
  expect_error("mode: ixp\nports:\n  - device: net_ring0\n", 3, "ports[0].name",
               "required key is missing");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: net_ring0\n  - name: b\n", 5,
               "ports[1].device", "required key is missing");
  expect_error("mode: ixp\nports:\n  - name: a b\n    device: net_ring0\n", 3, "ports[0].name",
               "expected 1..64 characters from [A-Za-z0-9_.-], got \"a b\"");

  const std::string two = "mode: ixp\nports:\n  - name: a\n    device: net_ring0\n";  // 4 lines
  expect_error(two + "  - name: b\n    device: net_ring1\n    rx_queues: 0\n", 7,
               "ports[1].rx_queues", "expected an integer in 1..128, got \"0\"");
  expect_error(two + "  - name: b\n    device: net_ring1\n    rx_queues: 129\n", 7,
               "ports[1].rx_queues", "expected an integer in 1..128, got \"129\"");
  expect_error(two + "  - name: b\n    device: net_ring1\n    rx_descriptors: 1000\n", 7,
               "ports[1].rx_descriptors", "expected a power of two in 64..16384, got \"1000\"");
  expect_error(two + "  - name: b\n    device: net_ring1\n    rx_descriptors: 32\n", 7,
               "ports[1].rx_descriptors", "expected a power of two in 64..16384, got \"32\"");
  expect_error(two + "  - name: b\n    device: net_ring1\n    rx_descriptors: 32768\n", 7,
               "ports[1].rx_descriptors", "got \"32768\"");
  expect_error(two + "  - name: a\n    device: net_ring1\n", 5, "ports[1].name",
               "duplicate port name \"a\" (port defined on line 3)");
  expect_error(two + "  - name: b\n    device: net_ring0\n", 6, "ports[1].device",
               "device \"net_ring0\" is already used by port \"a\" (line 3)");
  expect_error(two + "  - name: b\n    device: net_ring0,size=8\n", 6, "ports[1].device",
               "device \"net_ring0\" is already used by port \"a\"");
  expect_error(
      "mode: ixp\nports:\n  - name: a\n    device: 0000:3b:00.0\n"
      "  - name: b\n    device: 3B:00.0\n",
      6, "ports[1].device", "device \"0000:3b:00.0\" is already used by port \"a\"");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: eth0\n", 4, "ports[0].device",
               "expected a PCI address such as \"0000:3b:00.0\" or a DPDK vdev spec starting with "
               "\"net_\", got \"eth0\"");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: 0000:3b:00.8\n", 4, "ports[0].device",
               "expected a PCI address");
  expect_error("mode: ixp\nports:\n  - name: a\n    device: net_\n", 4, "ports[0].device",
               "expected a DPDK vdev spec such as");
  expect_error(
      "mode: ixp\nports:\n  - name: a\n    device: net_pcap0,rx_pcap=a.pcap\n"
      "    rx_queues: 2\n",
      5, "ports[0].rx_queues",
      "net_pcap device \"net_pcap0\" has 1 rx_pcap/rx_iface arguments (one per RX queue) "
      "but rx_queues is 2");
  expect_error(
      "mode: ixp\nports:\n  - name: a\n    device: net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap\n", 3,
      "ports[0].rx_queues", "has 2 rx_pcap/rx_iface arguments");
}

BOOST_AUTO_TEST_CASE(worker_errors) {
  expect_error(base("workers: [1, 2, 1]\n"), 5, "workers[2]",
               "lcore 1 is listed twice (also workers[0])");
  expect_error(base("workers: [1024]\n"), 5, "workers[0]",
               "expected an integer in 0..1023, got \"1024\"");
  expect_error(base("workers:\n  - 1\n  - -2\n"), 7, "workers[1]", "got \"-2\"");
  expect_error(base("workers: 3\n"), 5, "workers", "expected a list of lcore ids, got \"3\"");
}

BOOST_AUTO_TEST_CASE(mempool_errors) {
  expect_error(base("mempool:\n  mbufs: 1022\n"), 6, "mempool.mbufs",
               "expected an integer in 1023..16777215, got \"1022\"");
  expect_error(base("mempool:\n  mbufs: 16777216\n"), 6, "mempool.mbufs", "got \"16777216\"");
  expect_error(base("mempool:\n  cache: 513\n"), 6, "mempool.cache",
               "expected an integer in 0..512, got \"513\"");
  expect_error(base("mempool:\n  data_room: 65536\n"), 6, "mempool.data_room",
               "expected an integer in 1024..65535, got \"65536\"");
  expect_error(base("mempool:\n  data_room: 1023\n"), 6, "mempool.data_room", "got \"1023\"");
  BOOST_TEST(parse_config(base("mempool:\n  cache: 0\n"), "t").mempool_cache == 0u);

  // The pool must be able to fill every RX ring of a port.
  const std::string big =
      "mode: ixp\nports:\n  - name: a\n    device: 0000:01:00.0\n"
      "    rx_queues: 16\n";  // 16 x 1024 = 16384 descriptors
  expect_error(big, 3, "ports[0]",
               "16383 mbufs (the default) cannot fill the RX rings of port \"a\" (rx_queues 16 x "
               "rx_descriptors 1024 = 16384); set mempool.mbufs above 16384");
  expect_error(big + "mempool:\n  mbufs: 16384\n", 7, "mempool.mbufs",
               "16384 mbufs cannot fill the RX rings of port \"a\"");
  BOOST_TEST(parse_config(big + "mempool:\n  mbufs: 32767\n", "t").mempool_mbufs == 32767u);
}

BOOST_AUTO_TEST_CASE(burst_ring_errors) {
  expect_error(base("burst_size: 0\n"), 5, "burst_size",
               "expected an integer in 1..512, got \"0\"");
  expect_error(base("burst_size: 513\n"), 5, "burst_size", "got \"513\"");
  expect_error(base("rings:\n  bin_ring_size: 100\n"), 6, "rings.bin_ring_size",
               "expected a power of two in 2..65536, got \"100\"");
  expect_error(base("rings:\n  bin_ring_size: 131072\n"), 6, "rings.bin_ring_size",
               "got \"131072\"");
  expect_error(base("rings:\n  bin_records: 1\n"), 6, "rings.bin_records",
               "expected an integer in 2..1024, got \"1\"");
  expect_error(base("rings:\n  bin_records: 1025\n"), 6, "rings.bin_records", "got \"1025\"");
  expect_error(base("rings:\n  bin_ring_size: 8\n  bin_records: 8\n"), 7, "rings.bin_records",
               "bin_records (8) must be less than bin_ring_size (8)");
  expect_error(base("rings:\n  bin_ring_size: 2\n"), 6, "rings.bin_records",
               "bin_records (4) must be less than bin_ring_size (2)");
}

BOOST_AUTO_TEST_CASE(sampling_errors) {
  expect_error(base("sampling:\n  method: random\n"), 6, "sampling.method",
               "expected one of count, hash, got \"random\"");
  expect_error(base("sampling:\n  method: hsah\n"), 6, "sampling.method", "did you mean 'hash'?");
  expect_error(base("sampling:\n  flow_rate: 0\n"), 6, "sampling.flow_rate",
               "expected an integer in 1..16777216, got \"0\"");
  expect_error(base("sampling:\n  iot_rate: 16777217\n"), 6, "sampling.iot_rate",
               "expected an integer in 1..16777216, got \"16777217\"");
  expect_error(
      base("sampling:\n  hash_seed: 18446744073709551616\n"), 6, "sampling.hash_seed",
      "expected an unsigned 64-bit integer (decimal or 0x hex), got \"18446744073709551616\"");
  expect_error(base("sampling:\n  hash_seed: 0x10000000000000000\n"), 6, "sampling.hash_seed",
               "got \"0x10000000000000000\"");
  expect_error(base("sampling:\n  hash_seed: 0xg\n"), 6, "sampling.hash_seed", "got \"0xg\"");
  expect_error(base("sampling:\n  hash_seed: -1\n"), 6, "sampling.hash_seed", "got \"-1\"");
  expect_error(base("sampling:\n  hash_seed: 0x\n"), 6, "sampling.hash_seed", "got \"0x\"");
}

BOOST_AUTO_TEST_CASE(bins_clock_paths_log_errors) {
  expect_error(base("bins:\n  seconds: 7\n"), 6, "bins.seconds",
               "expected an integer in 1..86400 that divides 86400 (bins must tile a day), got "
               "\"7\"");
  expect_error(base("bins:\n  seconds: 0\n"), 6, "bins.seconds", "got \"0\"");
  expect_error(base("bins:\n  seconds: 172800\n"), 6, "bins.seconds", "got \"172800\"");
  expect_error(base("bins:\n  secs: 60\n"), 6, "bins.secs", "unknown key");
  expect_error(base("clock: ntp\n"), 5, "clock", "expected one of auto, packet, wall, got \"ntp\"");
  expect_error(base("state_dir: ''\n"), 5, "state_dir", "expected a non-empty path");
  expect_error(base("state_dir: [a]\n"), 5, "state_dir",
               "expected a file or directory path, got a list");
  expect_error(base("alert_file:\n"), 5, "alert_file", "got nothing (null)");
  expect_error(base("log:\n  level: verbose\n"), 6, "log.level",
               "expected one of trace, debug, info, warn, error, critical, off, got \"verbose\"");
  expect_error(base("log:\n  level: warning\n"), 6, "log.level", "did you mean 'warn'?");
  expect_error(base("log:\n  format: xml\n"), 6, "log.format", "expected one of text, json");
  expect_error(base("log:\n  file: ''\n"), 6, "log.file", "expected a non-empty path");
  expect_error(base("log:\n  max_file_mb: 0\n"), 6, "log.max_file_mb",
               "expected an integer in 1..4096, got \"0\"");
  expect_error(base("log:\n  max_file_mb: 4097\n"), 6, "log.max_file_mb", "got \"4097\"");
  expect_error(base("log:\n  max_files: 101\n"), 6, "log.max_files",
               "expected an integer in 1..100, got \"101\"");
  expect_error(base("log: debug\n"), 5, "log", "expected a map with keys level, format");
}

// ---------------------------------------------------------------------------------------
// Prefixes

BOOST_AUTO_TEST_CASE(prefix_parse_and_str) {
  BOOST_TEST(prefix("100.64.0.0/10").str() == "100.64.0.0/10");
  BOOST_TEST(prefix("0.0.0.0/0").str() == "0.0.0.0/0");
  BOOST_TEST(prefix("::/0").str() == "::/0");
  BOOST_TEST(prefix("192.0.2.1").str() == "192.0.2.1/32");
  BOOST_TEST(prefix("192.0.2.1").len == 32);
  BOOST_TEST(prefix("2001:DB8::1").str() == "2001:db8::1/128");
  BOOST_TEST(prefix("2001:db8::/32").len == 32);
  BOOST_TEST(prefix("2001:db8::/032").len == 32);

  const Prefix p = prefix("198.51.100.0/24");
  BOOST_TEST(p.addr.v4);
  BOOST_TEST((p.addr == v4("198.51.100.0")));
  BOOST_TEST(p.addr.b[10] == 0xff);
  BOOST_TEST(p.addr.b[11] == 0xff);

  const Prefix q = prefix("::ffff:10.0.0.0/104");  // written as IPv6: an IPv6 prefix
  BOOST_TEST(!q.addr.v4);
  BOOST_TEST(q.str() == "::ffff:10.0.0.0/104");
}

BOOST_AUTO_TEST_CASE(prefix_errors) {
  BOOST_TEST(prefix_error("10.0.0.1/8") ==
             "host bits set in \"10.0.0.1/8\" (did you mean 10.0.0.0/8?)");
  BOOST_TEST(prefix_error("10.0.0.1/0") ==
             "host bits set in \"10.0.0.1/0\" (did you mean 0.0.0.0/0?)");
  BOOST_TEST(prefix_error("2001:db8::1/127") ==
             "host bits set in \"2001:db8::1/127\" (did you mean 2001:db8::/127?)");
  BOOST_TEST(prefix_error("::1/0") == "host bits set in \"::1/0\" (did you mean ::/0?)");
  BOOST_TEST(prefix_error("10.0.0.0/33") == "invalid prefix length \"33\" (expected 0..32)");
  BOOST_TEST(prefix_error("::/129") == "invalid prefix length \"129\" (expected 0..128)");
  BOOST_TEST(prefix_error("10.0.0.0/") == "invalid prefix length \"\" (expected 0..32)");
  BOOST_TEST(prefix_error("10.0.0.0/8x") == "invalid prefix length \"8x\" (expected 0..32)");
  BOOST_TEST(prefix_error("10.0.0.0/-1") == "invalid prefix length \"-1\" (expected 0..32)");
  BOOST_TEST(prefix_error("10.0.0.0/0008") == "invalid prefix length \"0008\" (expected 0..32)");
  BOOST_TEST(prefix_error("10.0.0/8") == "invalid IPv4 address \"10.0.0\"");
  BOOST_TEST(prefix_error("256.0.0.0/8") == "invalid IPv4 address \"256.0.0.0\"");
  BOOST_TEST(prefix_error("") == "invalid IPv4 address \"\"");
  BOOST_TEST(prefix_error("/8") == "invalid IPv4 address \"\"");
  BOOST_TEST(prefix_error(" 10.0.0.0/8") == "invalid IPv4 address \" 10.0.0.0\"");
  BOOST_TEST(prefix_error("2001:db8:::/48") == "invalid IPv6 address \"2001:db8:::\"");
  BOOST_TEST(prefix_error("fe80::1%eth0/64") == "invalid IPv6 address \"fe80::1%eth0\"");
}

BOOST_AUTO_TEST_CASE(prefix_contains) {
  const Prefix all4 = prefix("0.0.0.0/0");
  BOOST_TEST(all4.contains(v4("0.0.0.0")));
  BOOST_TEST(all4.contains(v4("255.255.255.255")));
  BOOST_TEST(!all4.contains(v6("::")));
  BOOST_TEST(!all4.contains(v6("::ffff:1.2.3.4")));  // IPv6-family address, even if mapped

  const Prefix all6 = prefix("::/0");
  BOOST_TEST(all6.contains(v6("::")));
  BOOST_TEST(all6.contains(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  BOOST_TEST(!all6.contains(v4("0.0.0.0")));
  BOOST_TEST(!all6.contains(v4("10.1.2.3")));

  const Prefix host4 = prefix("192.0.2.7/32");
  BOOST_TEST(host4.contains(v4("192.0.2.7")));
  BOOST_TEST(!host4.contains(v4("192.0.2.6")));
  BOOST_TEST(!host4.contains(v4("192.0.2.8")));

  const Prefix host6 = prefix("2001:db8::7/128");
  BOOST_TEST(host6.contains(v6("2001:db8::7")));
  BOOST_TEST(!host6.contains(v6("2001:db8::6")));
  BOOST_TEST(!host6.contains(v6("2001:db8::8")));

  const Prefix cgn = prefix("100.64.0.0/10");
  BOOST_TEST(cgn.contains(v4("100.64.0.0")));
  BOOST_TEST(cgn.contains(v4("100.127.255.255")));
  BOOST_TEST(!cgn.contains(v4("100.128.0.0")));
  BOOST_TEST(!cgn.contains(v4("100.63.255.255")));

  const Prefix odd6 = prefix("2001:db8:1000::/36");
  BOOST_TEST(odd6.contains(v6("2001:db8:1fff:ffff::1")));
  BOOST_TEST(!odd6.contains(v6("2001:db8:2000::")));
  BOOST_TEST(!odd6.contains(v6("2001:db8:fff::")));

  const Prefix mapped6 = prefix("::ffff:10.0.0.0/104");
  BOOST_TEST(mapped6.contains(v6("::ffff:10.9.9.9")));
  BOOST_TEST(!mapped6.contains(v4("10.9.9.9")));  // IPv4 never matches an IPv6 prefix

  const Prefix ten = prefix("10.0.0.0/8");
  BOOST_TEST(!ten.contains(v6("::ffff:10.0.0.1")));  // and IPv6 never matches IPv4
  BOOST_TEST(!ten.contains(v6("a00::")));
}

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(mode_name(Mode::kIsp) == "isp");
  BOOST_TEST(mode_name(Mode::kIxp) == "ixp");
  BOOST_TEST(clock_name(ClockSource::kAuto) == "auto");
  BOOST_TEST(clock_name(ClockSource::kPacket) == "packet");
  BOOST_TEST(clock_name(ClockSource::kWall) == "wall");
}

BOOST_AUTO_TEST_CASE(config_error_accessors) {
  const ConfigError e("a.yaml", 3, "x.y", "bad");
  BOOST_TEST(std::string(e.what()) == "a.yaml:3: x.y: bad");
  BOOST_TEST(e.file() == "a.yaml");
  BOOST_TEST(e.line() == 3);
  BOOST_TEST(e.key() == "x.y");
  BOOST_TEST(std::string(ConfigError("a.yaml", 0, "", "gone").what()) == "a.yaml: gone");
  BOOST_TEST(std::string(ConfigError("a.yaml", 0, "k", "m").what()) == "a.yaml: k: m");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(store_section) {
  const Config d = parse_config(base("state_dir: /srv/h\n"), "t");
  BOOST_TEST((d.store.backend == StoreBackend::kSqlite));
  BOOST_TEST(d.store.sqlite.path == "/srv/h/haystack.sqlite");
  BOOST_TEST(d.store.sqlite.synchronous_full == false);
  BOOST_TEST(d.flowtree.rollup_seconds == (std::vector<uint32_t>{900, 3600, 86400, 604800}));
  // Every stored granularity gets a retention: 1m 7 d, 15m 30 d, 1h 180 d, 1d/1w 5 years.
  const std::map<uint32_t, uint32_t> want{
      {60, 7}, {900, 30}, {3600, 180}, {86400, 1826}, {604800, 1826}};
  BOOST_TEST((d.store.sqlite.retention_days == want));
  BOOST_TEST(d.store.sqlite.event_retention_days == 365u);
  BOOST_TEST(d.store.sqlite.max_bytes == 0u);
  BOOST_TEST(d.store.sqlite.retention_interval_seconds == 600u);

  const Config c = parse_config(base("store:\n"
                                     "  backend: sqlite\n"
                                     "  sqlite:\n"
                                     "    path: /data/h.sqlite\n"
                                     "    synchronous: full\n"
                                     "    retention:\n"
                                     "      1m: 2\n"
                                     "      1w: 0\n"
                                     "    event_retention_days: 90\n"
                                     "    max_bytes: 1000000000\n"
                                     "    retention_interval: 60\n"),
                                "t");
  BOOST_TEST(c.store.sqlite.path == "/data/h.sqlite");
  BOOST_TEST(c.store.sqlite.synchronous_full == true);
  BOOST_TEST(c.store.sqlite.retention_days.at(60) == 2u);
  BOOST_TEST(c.store.sqlite.retention_days.at(604800) == 0u);
  BOOST_TEST(c.store.sqlite.retention_days.at(900) == 30u);
  BOOST_TEST(c.store.sqlite.event_retention_days == 90u);
  BOOST_TEST(c.store.sqlite.max_bytes == 1000000000u);
  BOOST_TEST(c.store.sqlite.retention_interval_seconds == 60u);
  BOOST_TEST((parse_config(base("store:\n  backend: none\n"), "t").store.backend ==
              StoreBackend::kNone));

  BOOST_TEST((parse_config(base("store:\n  backend: clickhouse\n"), "t").store.backend ==
              StoreBackend::kClickHouse));
  expect_error(base("store:\n  backend: mysql\n"), 6, "store.backend", "sqlite, clickhouse");
  expect_error(base("store:\n  sqlite:\n    synchronous: off\n"), 7, "store.sqlite.synchronous",
               "normal, full");
  expect_error(base("store:\n  sqlite:\n    retention:\n      5m: 3\n"), 8,
               "store.sqlite.retention.5m",
               "\"5m\" is neither the bin length nor a roll-up (have 1m, 15m, 1h, 1d, 1w)");
  expect_error(base("store:\n  sqlite:\n    retention:\n      1h: -1\n"), 8,
               "store.sqlite.retention.1h", "expected an integer in 0..36600");
  expect_error(base("store:\n  sqlite:\n    retention: 7\n"), 7, "store.sqlite.retention",
               "expected a map of granularity");
  expect_error(base("store:\n  sqlite:\n    max_bytes: 10G\n"), 7, "store.sqlite.max_bytes",
               "expected an integer");
  expect_error(base("store:\n  sqlite:\n    pth: x\n"), 7, "store.sqlite.pth", "did you mean 'path'?");
  expect_error(base("store:\n  sqlite:\n    retention_interval: 0\n"), 7,
               "store.sqlite.retention_interval", "expected an integer in 1..86400");
  // Roll-ups of the store follow flowtree.rollups; week roll-ups are 1w.
  const Config r = parse_config(base("flowtree:\n  rollups: [3600, 604800]\n"), "t");
  BOOST_TEST(r.store.sqlite.retention_days.size() == 3u);
  BOOST_TEST(r.store.sqlite.retention_days.at(604800) == 1826u);
}

BOOST_AUTO_TEST_SUITE_END()
