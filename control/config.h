// Config: the haystackd YAML configuration, validated. Every error names the file, line
// and key (ConfigError). docs/operations.md documents each key; keep the two in step.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/detection.h"
#include "control/service_outage.h"
#include "dataplane/flowtree/feature_set.h"
#include "dataplane/packet.h"
#include "dataplane/prefix.h"
#include "dataplane/worker_core.h"

namespace haystack {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, std::string key, const std::string& msg);
  const std::string& file() const { return file_; }
  int line() const { return line_; }  // 1-based; 0 when not tied to a line
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
};

enum class Mode : uint8_t { kIsp, kIxp };
enum class ClockSource : uint8_t { kAuto, kPacket, kWall };
enum class LogFormat : uint8_t { kText, kJson };


struct PortConfig {
  std::string name;     // operator's label, e.g. "uplink0"; unique
  std::string device;   // DPDK device: PCI address ("0000:3b:00.0") or vdev spec ("net_pcap0,rx_pcap=x.pcap")
  uint16_t rx_queues = 1;
  uint16_t rx_descriptors = 1024;
  bool promiscuous = true;
  uint32_t xdp_sample_rate = 0;    // XDP sampler 1-in-N (net_af_xdp + xdp_prog=); 0: none
  bool xdp_drop_unsampled = true;  // xdp_unsampled: drop | pass
  int line = 0;  // where it was defined, for later error messages

  bool is_vdev() const { return device.rfind("net_", 0) == 0; }
  // ethdev name: the vdev name before the first comma, or the PCI address.
  std::string dpdk_name() const { return device.substr(0, device.find(',')); }
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | critical | off
  LogFormat format = LogFormat::kText;
  std::string file;            // empty: stderr
  uint32_t max_file_mb = 64;   // rotating file size
  uint32_t max_files = 5;
  uint32_t repeat_limit = 10;  // log lines per alert type and subject per minute; 0: all
};

// Per-core Flowtrees and the site trees control builds from them (METHODS §1).
struct FlowtreeSettings {
  std::vector<flowtree::FeatureSet> feature_sets{
      flowtree::FeatureSet::SI,   flowtree::FeatureSet::DI,   flowtree::FeatureSet::SP,
      flowtree::FeatureSet::DP,   flowtree::FeatureSet::SIDI, flowtree::FeatureSet::SPDP,
      flowtree::FeatureSet::SISP, flowtree::FeatureSet::SIDP, flowtree::FeatureSet::DISP,
      flowtree::FeatureSet::DIDP, flowtree::FeatureSet::FULL};
  uint32_t node_budget = 40000;       // per tree, IP feature sets
  uint32_t port_node_budget = 10000;  // SP and DP
  double insert_probability = 0.3;    // p for intermediate nodes
  bool protocol_key = false;
  uint32_t flow_table_size = 1u << 20;  // distinct 5-tuples per worker per bin; 0 = off
  // Roll-up granularities (15 min, 1 h, 1 d, 1 w; weeks start Monday 00:00 UTC).
  std::vector<uint32_t> rollup_seconds{900, 3600, 86400, 604800};
  bool persist = true;                // write trees under <state_dir>/flowtrees

  uint32_t budget_for(flowtree::FeatureSet fs) const {
    return fs == flowtree::FeatureSet::SP || fs == flowtree::FeatureSet::DP ? port_node_budget
                                                                            : node_budget;
  }
};

// Amplification DDoS alert (Flowyager §4.7): heavy changers on the SP/DP trees.
struct DdosSettings {
  bool enabled = true;
  std::vector<uint16_t> ports{0, 53, 123, 1900, 11211};
  uint64_t threshold_packets = 100000;  // increase per bin, rescaled by the flow sampling rate
};

// IoT detection from a hitlist (METHODS §3). Off unless `hitlist` is set.
struct IotConfig {
  std::string hitlist;              // bundle file (docs/hitlist-format.md)
  uint32_t lines_per_worker = 16384;  // evidence table: subscriber lines per worker per bin
  detection::DetectionConfig detection;
  detection::OutageConfig outage;   // service line-count drop alert (METHODS §6)
  bool pseudonymize = true;         // keyed hash of line ids in every output
};

// IPv6 EUI-64 exposure (METHODS §5), on the IoT-sampled packets.
struct Eui64Config {
  bool enabled = true;
  uint32_t entries_per_worker = 65536;  // (/56, MAC) pairs per worker per bin
  std::vector<std::string> oui_files;   // empty: Debian ieee-data files that exist
  // Organisation-name substrings (case-insensitive) of manufacturers that make only IoT
  // devices; their MACs are flagged iot_only.
  std::vector<std::string> iot_manufacturers{
      "Espressif", "Tuya", "Nest Labs", "Ring LLC", "Wyze", "Signify", "Philips Lighting",
      "iRobot", "ecobee", "Sonos", "Shelly", "Allterco", "Xiaomi Communications", "Roku"};
  int line = 0;  // of the eui64 section, for errors
};

// Operator-facing telemetry: Prometheus /metrics and DPDK telemetry commands.
struct TelemetryConfig {
  bool prometheus = true;
  std::string prometheus_host = "127.0.0.1";
  uint16_t prometheus_port = 9109;  // 0: any free port (logged)
  bool dpdk_commands = true;        // /haystack/* on the DPDK telemetry socket
};

// IPFIX export to a collector (docs/ipfix.md). Off unless enabled.
struct IpfixConfig {
  bool enabled = false;
  std::string host = "127.0.0.1";  // collector
  uint16_t port = 4739;
  bool tcp = false;                 // transport: udp | tcp
  uint32_t mtu = 1500;              // UDP path MTU: no datagram exceeds it
  uint32_t observation_domain = 0;  // resolved: configured, or derived from site_id
  std::vector<flowtree::FeatureSet> feature_sets;  // default flowtree.feature_sets; [] = none
  std::vector<uint32_t> granularities;  // seconds; default the bin length
  bool detections = true;               // IoT detection summaries (when IoT is on)
  bool eui64 = true;                    // EUI-64 exposure windows (when eui64 is on)
  uint32_t template_refresh_seconds = 600;  // UDP (RFC 6728 default)
  uint32_t options_refresh_seconds = 600;   // UDP
  uint32_t queue_records = 1u << 18;        // bounded queue to the exporter thread
  uint32_t reconnect_max_seconds = 30;      // TCP backoff cap (starts at 0.5 s, doubles)
};

// The default observation domain: FNV-1a 32 of the site id (never 0, reserved by RFC 7011).
uint32_t observation_domain_for(const std::string& site_id);

// Where control keeps trees, detections and alerts (docs/storage.md).
enum class StoreBackend : uint8_t { kNone, kSqlite, kClickHouse };
std::string_view store_backend_name(StoreBackend b);

struct SqliteStoreConfig {
  std::string path;                 // default: <state_dir>/haystack.sqlite
  bool synchronous_full = false;    // synchronous: normal (default) | full
  // Age retention in days per granularity in seconds (the bin length and every roll-up,
  // resolved with default_retention_days); 0 keeps forever.
  std::map<uint32_t, uint32_t> retention_days;
  uint32_t event_retention_days = 365;  // detections, service counts, EUI-64, alerts
  uint64_t max_bytes = 0;               // 0: no size limit
  uint32_t retention_interval_seconds = 600;
};

// Default age retention of a granularity: bins up to 1 min 7 days, up to 15 min 30 days,
// up to 1 h 180 days, longer 5 years (1826 days).
uint32_t default_retention_days(uint32_t seconds);

// On-the-wire learning from DNS responses and TLS SNI (METHODS §4, docs/learning.md).
// Active only with iot.hitlist: the name database belongs to the hitlist generation.
struct LearningConfig {
  bool enabled = true;
  bool every_packet = true;      // false: only packets kept by the IoT sampler
  bool dns = true;               // parse DNS responses (UDP/TCP source port 53)
  bool sni = true;               // parse TLS ClientHello server names (TCP, any port)
  std::string backend_patterns;  // provider-pattern CSV (IMC 2022 format); empty: none
  bool digit_wildcards = true;   // digits in catalog subdomains match any digits
  std::string psl = "/usr/share/publicsuffix/public_suffix_list.dat";
  uint32_t ring_size = 4096;       // learned bindings per worker ring
  uint32_t max_bindings = 1000000; // distinct bindings control keeps
  bool add_to_hitlist = false;     // publish confirmed endpoints as a new generation
  int line = 0;                    // of the learning section, for errors
};

// The control socket haystackctl talks to (docs/control-protocol.md).
struct ControlSettings {
  std::string socket;         // default: <state_dir>/haystackd.sock
  uint32_t max_clients = 16;  // connected at once
};

// store.clickhouse: network-wide rows over ClickHouse's HTTP interface (docs/clickhouse.md).
struct ClickHouseStoreConfig {
  std::string url = "http://127.0.0.1:8123";
  std::string database = "haystack";
  std::string user = "default";       // empty: no credentials sent
  std::string password_file;          // first line is the password; empty: no password
  uint32_t batch_rows = 1000;         // rows per INSERT at most; a full batch goes at once
  uint32_t flush_ms = 1000;           // a row waits at most this long for its batch
  uint32_t queue_rows = 100000;       // bounded queue; rows beyond are dropped (counted)
  uint64_t queue_bytes = 256ULL << 20;
  uint32_t retry_max_seconds = 300;   // a failing batch is dropped (counted) after this
  uint32_t retry_backoff_max_ms = 5000;  // backoff starts at 100 ms, doubles up to this
  uint32_t timeout_ms = 10000;        // per HTTP request
  uint32_t flush_timeout_ms = 10000;  // flush()/shutdown waits at most this long
  bool create_tables = true;          // CREATE DATABASE/TABLE IF NOT EXISTS at start
};

struct StoreConfig {
  StoreBackend backend = StoreBackend::kSqlite;
  int line = 0;  // of the store section, for errors
  SqliteStoreConfig sqlite;
  ClickHouseStoreConfig clickhouse;
};

struct Config {
  std::string source_file;
  std::string site_id = "site1";
  Mode mode = Mode::kIsp;
  std::vector<Prefix> subscriber_prefixes;
  uint8_t subscriber_ipv4_len = 32;  // a subscriber line is this prefix of the local address
  uint8_t subscriber_ipv6_len = 56;
  std::vector<PortConfig> ports;
  std::vector<uint32_t> workers;  // worker lcore ids; empty: every EAL worker lcore
  int workers_line = 0;           // line of the `workers` key (0 if absent), for errors
  uint32_t mempool_mbufs = 16383;  // per port
  uint32_t mempool_cache = 256;
  uint32_t mbuf_data_room = 2176;  // bytes incl. 128 headroom
  uint32_t burst_size = 32;
  uint32_t bin_ring_size = 64;     // closed-bin ring per worker (power of two)
  uint32_t bin_records = 4;        // preallocated bin records per worker (each holds its trees)
  SamplingConfig sampling;
  uint32_t bin_seconds = 60;
  ClockSource clock = ClockSource::kAuto;
  std::string state_dir = "/var/lib/haystack";
  std::string alert_file;          // default: <state_dir>/alerts.jsonl
  LogConfig log;
  FlowtreeSettings flowtree;
  DdosSettings ddos;
  IotConfig iot;
  TelemetryConfig telemetry;
  Eui64Config eui64;
  IpfixConfig ipfix;
  ControlSettings control;
  StoreConfig store;
  LearningConfig learning;
};

// Loads and validates a YAML file. Throws ConfigError.
Config load_config(const std::string& path);
// Same, from text (tests, `config check`); `name` is used in error messages.
Config parse_config(const std::string& yaml_text, const std::string& name);

std::string_view mode_name(Mode m);
std::string_view clock_name(ClockSource c);

}  // namespace haystack
