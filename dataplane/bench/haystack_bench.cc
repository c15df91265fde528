// haystack-bench: what the worker loop costs on one core (docs/benchmarks.md).
//  worker         pre-built mbufs held in memory, fed through a net_ring ethdev; the loop
//                 is timed stage by stage (rx+free, +parse, +sampling) with the TSC.
//  testpmd-floor  haystack's real Worker::run and `dpdk-testpmd --forward-mode=rxonly` on
//                 the same net_pcap infinite_rx source for the same time; Mpps and ratio.
// A benchmark, not a test: it reports numbers and asserts nothing about them.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/config.h"
#include "dataplane/bench/flowtree_bench.h"
#include "dataplane/bench/hitlist_bench.h"
#include "dataplane/bench/learn_frames.h"
#include "dataplane/dpdk/learn_ring.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/dpdk/worker.h"
#include "dataplane/iot_evidence.h"
#include "dataplane/pcap_file.h"
#include "dataplane/prefix.h"
#include "dataplane/worker_core.h"
#include "signatures/hitlist_synth.h"
#include "signatures/hitlist_table.h"
#include "signatures/name_matcher.h"
#include "signatures/psl.h"

extern char** environ;

namespace haystack {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
namespace hl = hitlist;

constexpr const char* kUsage = R"(usage:
  haystack-bench worker [options] [-- EAL args]
      Cycles/packet and Mpps of the worker loop on one core, fed from pre-built mbufs
      held in memory through a net_ring ethdev, stage by stage. Each stage is a pass of
      the same loop with one more part of the real WorkerCore switched on, so a stage's
      own cost is the difference to the stage above it:
        rx+free     rte_eth_rx_burst + rte_pktmbuf_free_bulk
        +parse      ... + parse_packet per packet
        +sampling   ... + WorkerCore::on_packet (bin clock, parse, counters, sampling)
        +flowtrees  ... + 11 Flowtrees (default feature sets and budgets) at --flow-rate
        +hitlist    ... + hitlist lookup and IoT evidence at --iot-rate (isp mode)
        +eui64      ... + IPv6 EUI-64 exposure
        +learning   ... + DNS/SNI learning on every packet (default learning config:
                    Hyperscan name database of the hitlist's domains, digit wildcards,
                    default PSL), records to a real LearnRing drained between passes:
                    the full default pipeline
      The last four run once per --hitlist-entries size.
      --mix pcap|64|imix|all   packet set(s) (default all)
                                 pcap: the --pcap capture, cycled to --packets frames
                                 64:   64-byte IPv4 TCP/UDP frames
                                 imix: 7:4:1 of 64/576/1500 bytes, 1 in 4 flows IPv6
                               synthetic frames run between 8192 subscriber lines
                               (100.64.0.0/10, 2a01:db8:1::/48, 1 in 4 IPv6 lines
                               with an EUI-64 address) and remote hosts; 1 flow in
                               --hit-every goes to a hitlist endpoint, one of 4 that
                               its line uses; --dns-permille of the frames are DNS
                               responses and --hello-permille TLS ClientHellos (their
                               names: a hitlist domain for 1 flow in --hit-every)
      --hitlist-entries N[,N]  synthetic hitlist sizes (default 100000,1000000; 0: none)
      --hit-every N            1 in N flows to a hitlist endpoint (default 8)
      --dns-permille N         DNS responses per 1000 synthetic frames (default 15)
      --hello-permille N       TLS ClientHellos per 1000 synthetic frames (default 10)
      --flows N                flows the synthetic frames belong to, skewed (frame i ->
                               flow N*u^4, u uniform): default 65536; 0: one per frame
      --evidence-lines N       lines of the IoT evidence table whose resident size is
                               reported with the filled trees' (default 1000000)
      --packets N              mbufs per set (default: pcap max(capture, 4096),
                               64 1048576, imix 262144); synthetic sets use a distinct
                               flow per frame; N sets the working set (cache vs DRAM)
      --iterations K           timed passes over the set per stage (default: ~16M
                               packets per stage); stages are interleaved per pass
      --with-testpmd           also run the testpmd-floor comparison afterwards
      --no-prefetch-next       leave out WorkerCore::prefetch_next (hitlist slots of the
                               next frame), to measure what it saves
      --parallel               after each set, run it again on every EAL lcore at once
                               (one copy each; EAL -l/--lcores picks them) and report
                               each worker's figures: per-worker cost should not grow
  haystack-bench testpmd-floor [options] [-- EAL args]
      Mpps of haystack's Worker::run and of dpdk-testpmd rxonly, one after the other on
      the same lcore, both reading --pcap through net_pcap with infinite_rx=1.
      --seconds T              measured seconds for each, after 1 s warm-up (default 5)
      --testpmd PATH           testpmd binary (default dpdk-testpmd)
  haystack-bench flowtree-accuracy|flowtree-speed [options]
      Flowtree accuracy vs exact counting, and update speed, without EAL (--help on each)
  haystack-bench hitlist-lookup [options]
      HitlistTable lookups/s and cycles/lookup (hits, misses, 1 % hits), without EAL (--help)
common options:
  --pcap FILE                  capture (default <source>/tests/data/pcaps/sample-iot.pcap)
  --burst N                    rx burst size (default 32)
  --flow-rate N --iot-rate N   sampling 1-in-N (defaults 100 and 1)
  --method count|hash          sampling method (default count)
  --json                       print one JSON object instead of tables
  -h, --help
EAL args default to: --no-huge --no-pci -m 1024 --file-prefix haystack-bench-<pid>
)";

struct Options {
  std::string cmd;
  std::string pcap = HAYSTACK_SOURCE_DIR "/tests/data/pcaps/sample-iot.pcap";
  std::string mix = "all";
  uint32_t packets = 0;     // 0: per-set default
  uint32_t iterations = 0;  // 0: about kPacketsPerStage packets per stage
  uint16_t burst = 32;
  SamplingConfig sampling{SampleMethod::kCount, 100, 1, 0};
  bool json = false;
  bool with_testpmd = false;
  uint32_t seconds = 5;
  std::vector<uint32_t> hitlist_entries{100000, 1000000};
  uint32_t hit_every = 8;
  uint32_t dns_permille = 15;
  uint32_t hello_permille = 10;
  uint32_t evidence_lines = 1000000;
  uint32_t flows = 65536;
  bool parallel = false;
  std::string testpmd = "dpdk-testpmd";
  std::vector<std::string> eal;
};

constexpr uint16_t kMaxBurst = 512;
constexpr uint64_t kPacketsPerStage = 8u << 20;
constexpr uint64_t kBinNs = 60'000'000'000ULL;
// The worker bench keeps one bin open for its whole run (no roll-over inside a pass).
constexpr uint64_t kBenchBinNs = 24 * 3600 * 1'000'000'000ULL;
constexpr const char* kPcapVdev = "net_pcap_bench";
bool g_prefetch_next = true;  // --no-prefetch-next: WorkerCore::prefetch_next off (A/B)

uint32_t to_u32(const std::string& opt, const std::string& v, uint32_t lo, uint32_t hi) {
  size_t pos = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size() || n < lo || n > hi) {
    throw std::invalid_argument(
        fmt::format("{}: expected an integer in [{}, {}], got '{}'", opt, lo, hi, v));
  }
  return uint32_t(n);
}

Options parse_args(int argc, char** argv) {
  Options o;
  auto u32 = [](uint32_t& dst, uint32_t lo, uint32_t hi) {
    return [&dst, lo, hi](const std::string& opt, const std::string& v) {
      dst = to_u32(opt, v, lo, hi);
    };
  };
  uint32_t burst = o.burst;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  const std::map<std::string, Setter> valued{
      {"--pcap", [&](const auto&, const auto& v) { o.pcap = v; }},
      {"--mix", [&](const auto&, const auto& v) { o.mix = v; }},
      {"--testpmd", [&](const auto&, const auto& v) { o.testpmd = v; }},
      {"--packets", u32(o.packets, 1, 1u << 24)},
      {"--iterations", u32(o.iterations, 1, 1u << 20)},
      {"--burst", u32(burst, 1, kMaxBurst)},
      {"--flow-rate", u32(o.sampling.flow_rate, 1, ~0u)},
      {"--iot-rate", u32(o.sampling.iot_rate, 1, ~0u)},
      {"--seconds", u32(o.seconds, 1, 3600)},
      {"--hit-every", u32(o.hit_every, 1, 1u << 20)},
      {"--dns-permille", u32(o.dns_permille, 0, 1000)},
      {"--hello-permille", u32(o.hello_permille, 0, 1000)},
      {"--evidence-lines", u32(o.evidence_lines, 1, 1u << 24)},
      {"--flows", u32(o.flows, 0, 1u << 24)},
      {"--hitlist-entries",
       [&](const auto& k, const auto& v) {
         o.hitlist_entries.clear();
         for (size_t at = 0; at <= v.size();) {
           size_t comma = std::min(v.find(',', at), v.size());
           uint32_t n = to_u32(k, v.substr(at, comma - at), 0, 1u << 24);
           if (n != 0) o.hitlist_entries.push_back(n);
           at = comma + 1;
         }
       }},
      {"--method", [&](const auto&, const auto& v) {
         if (v != "count" && v != "hash") throw std::invalid_argument("--method: count or hash");
         o.sampling.method = v == "hash" ? SampleMethod::kHash : SampleMethod::kCount;
       }}};
  std::vector<std::string> a(argv + 1, argv + argc);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& s = a[i];
    if (s == "--") {
      o.eal.assign(a.begin() + long(i) + 1, a.end());
      break;
    }
    if (s == "-h" || s == "--help") {
      o.cmd = "help";
      return o;
    }
    if (auto it = valued.find(s); it != valued.end()) {
      if (++i >= a.size()) throw std::invalid_argument(s + ": missing value");
      it->second(s, a[i]);
    } else if (o.cmd.empty() && (s == "worker" || s == "testpmd-floor")) {
      o.cmd = s;
    } else if (s == "--json") {
      o.json = true;
    } else if (s == "--no-prefetch-next") {
      g_prefetch_next = false;
    } else if (s == "--parallel") {
      o.parallel = true;
    } else if (s == "--with-testpmd") {
      o.with_testpmd = true;
    } else {
      throw std::invalid_argument(fmt::format("unknown argument '{}' (see --help)", s));
    }
  }
  o.burst = uint16_t(burst);
  if (o.cmd.empty()) throw std::invalid_argument("missing subcommand: worker or testpmd-floor");
  if (o.dns_permille + o.hello_permille > 1000) {
    throw std::invalid_argument("--dns-permille + --hello-permille: at most 1000");
  }
  if (o.mix != "pcap" && o.mix != "64" && o.mix != "imix" && o.mix != "all") {
    throw std::invalid_argument("--mix: pcap, 64, imix or all");
  }
  return o;
}

std::vector<std::string> default_eal() {
  std::vector<std::string> a{"--no-huge", "--no-pci", "-m", "1024", "--file-prefix"};
  a.push_back(fmt::format("haystack-bench-{}", getpid()));
  return a;
}

std::string pcap_vdev(const Options& o) {
  return fmt::format("{},rx_pcap={},infinite_rx=1", kPcapVdev, o.pcap);
}

void init_eal(const Options& o, bool with_pcap_vdev) {
  static std::vector<std::string> args;  // EAL keeps pointers into argv
  args = {"haystack-bench"};
  for (const auto& s : o.eal.empty() ? default_eal() : o.eal) args.push_back(s);
  if (with_pcap_vdev) args.insert(args.end(), {"--vdev", pcap_vdev(o)});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  rte_openlog_stream(stderr);  // keep stdout for results (--json)
  if (rte_eal_init(int(argv.size() - 1), argv.data()) < 0) {
    throw std::runtime_error(fmt::format("rte_eal_init failed: {}", rte_strerror(rte_errno)));
  }
  wall_clock_init();
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// ---- packet sets -----------------------------------------------------------------------

struct PacketSet {
  std::string name;
  uint32_t count = 0;
  uint32_t max_len = 0;
  std::function<uint32_t(uint32_t, uint8_t*)> frame;  // writes frame i, returns its length
};

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void put16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

PacketSet pcap_set(const PcapContents& cap, const std::string& path, uint32_t n) {
  if (cap.link != LinkType::kEthernet || cap.packets.empty()) {
    throw std::runtime_error(path + ": need a non-empty Ethernet capture");
  }
  const uint32_t def = std::max<uint32_t>(4096, uint32_t(cap.packets.size()));
  PacketSet s{"pcap", n ? n : def, 0, nullptr};
  for (const auto& p : cap.packets) s.max_len = std::max(s.max_len, uint32_t(p.data.size()));
  s.frame = [&cap](uint32_t i, uint8_t* out) {
    const auto& d = cap.packets[i % cap.packets.size()].data;
    std::memcpy(out, d.data(), d.size());
    return uint32_t(d.size());
  };
  return s;
}

// Traffic between subscriber lines and remote hosts, 1 flow in `hit_every` to an endpoint
// of `b` (when given), so the IoT stages see hits, misses and both directions.
struct Traffic {
  const hl::Bundle* bundle = nullptr;
  uint32_t hit_every = 8;
  uint32_t flows = 0;  // 0: one flow per frame; else frames spread over this many, skewed
  uint32_t dns_permille = 0;    // DNS responses per 1000 frames
  uint32_t hello_permille = 0;  // TLS ClientHellos per 1000 frames

  // The flow of frame i: u^4 skew (u uniform from the frame index), so with 65536 flows
  // the top 1 % carry about a third of the frames.
  uint32_t flow_of(uint32_t i) const {
    if (flows == 0) return i & 0xffffff;
    const double u = double(mix64(i ^ 0x5bd1e995) >> 11) / double(1ULL << 53);
    return std::min(flows - 1, uint32_t(double(flows) * u * u * u * u));
  }
};

constexpr uint32_t kLines = 8192;  // subscriber lines per worker per bin

// The subscriber prefixes the synthetic frames use, as the bench configures isp mode.
std::vector<Prefix> bench_subscribers() {
  std::vector<Prefix> v;
  for (const char* t : {"100.64.0.0/10", "2a01:db8:1::/48"}) {
    Prefix p;
    std::string why;
    if (!parse_prefix(t, p, why)) throw std::logic_error(why);
    v.push_back(p);
  }
  return v;
}

// One frame of flow `flow`, at least `len` bytes, `v6` unless the flow goes to a hitlist
// endpoint (whose family wins).
uint32_t traffic_frame(const Traffic& t, uint32_t flow, uint32_t len, bool v6, uint8_t* f) {
  static constexpr uint16_t kPorts[] = {80, 443, 53, 123, 1883, 8883, 5683, 3478};
  const uint64_t h = mix64(flow);
  const uint32_t line = uint32_t(h % kLines);
  bool tcp = h & 1;
  uint16_t remote_port = kPorts[(h >> 8) % std::size(kPorts)];
  uint8_t remote[16] = {};
  const hl::Endpoint* e = nullptr;
  if (t.bundle != nullptr && (h >> 13) % t.hit_every == 0) {
    // An IoT device talks to a few backends: each line uses 4 endpoints of its own.
    const size_t n = t.bundle->endpoints.size();
    e = &t.bundle->endpoints[(size_t(line) * 7919 + (h >> 24) % 4) % n];
    v6 = !e->addr.v4;
    if (e->proto != 0) tcp = e->proto == ipproto::kTcp;
    if (!e->any_port) remote_port = e->port;
  }
  if (e != nullptr) {
    std::memcpy(remote, e->addr.b.data() + (v6 ? 0 : 12), v6 ? 16 : 4);
  } else if (v6) {
    put32(remote, 0x2a02ffff);  // 2a02:ffff::/32, outside the hitlist's 2001:db8::/32
    put32(remote + 12, uint32_t(h >> 32));
  } else {
    put32(remote, 0xc6120000u | uint32_t(h >> 47));  // 198.18.0.0/15
  }
  uint8_t sub[16] = {};
  if (v6) {  // 2a01:db8:1:<line>00::/56 (outside the hitlist's /32); 1 line in 4 EUI-64
    put32(sub, 0x2a010db8);
    put16(sub + 4, 1);
    put16(sub + 6, uint16_t(line << 8));
    if (line % 4 == 0) {
      const uint8_t iid[8] = {0x02, 0x12, 0x4b, 0xff, 0xfe, uint8_t(line >> 8), uint8_t(line), 1};
      std::memcpy(sub + 8, iid, 8);
    } else {
      put32(sub + 8, uint32_t(h >> 16));
      put32(sub + 12, flow);
    }
  } else {
    put32(sub, 0x64400000u | line);  // 100.64.0.0/10
  }
  const bool up = (h >> 40) & 1;  // subscriber -> remote, or back
  const uint16_t sub_port = uint16_t(1024 + (h >> 16) % 64512);

  const uint32_t l3 = v6 ? 40 : 20, l4 = tcp ? 20 : 8;
  len = std::max(len, 14 + l3 + l4);
  std::memset(f, 0, len);
  static constexpr uint8_t kMacs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  std::memcpy(f, kMacs, sizeof kMacs);
  put16(f + 12, v6 ? 0x86dd : 0x0800);
  uint8_t* ip = f + 14;
  const uint8_t* src = up ? sub : remote;
  const uint8_t* dst = up ? remote : sub;
  if (v6) {
    put32(ip, 0x60000000u | (flow & 0xfffff));
    put16(ip + 4, len - 14 - l3);
    ip[6] = tcp ? ipproto::kTcp : ipproto::kUdp;
    ip[7] = 64;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
  } else {
    ip[0] = 0x45;
    put16(ip + 2, len - 14);
    put16(ip + 4, flow & 0xffff);
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = tcp ? ipproto::kTcp : ipproto::kUdp;
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
  }
  uint8_t* p = ip + l3;
  put16(p, up ? sub_port : remote_port);
  put16(p + 2, up ? remote_port : sub_port);
  if (tcp) {
    put32(p + 4, uint32_t(h));
    p[12] = 0x50;  // data offset 5
    p[13] = tcpflag::kAck;
    put16(p + 14, 65535);
  } else {
    put16(p + 4, len - 14 - l3);
  }
  return len;
}

// A DNS response (resolver -> line) or a TLS ClientHello (line -> server) of flow `flow`.
// Its name is a hitlist domain (one of 4 per line) for 1 flow in hit_every, otherwise a
// name outside the hitlist, so most messages are parsed and matched without a hit.
uint32_t learn_frame(const Traffic& t, uint32_t flow, bool dns, bool v6, uint8_t* f) {
  const uint64_t h = mix64(flow ^ 0xd45);
  const uint32_t line = uint32_t(mix64(flow) % kLines);
  uint8_t sub[16] = {}, remote[16] = {}, addr[16] = {};
  if (v6) {
    put32(sub, 0x2a010db8);
    put16(sub + 4, 1);
    put16(sub + 6, uint16_t(line << 8));
    put32(sub + 12, flow);
    put32(remote, 0x2a02ffff);
    put32(remote + 12, uint32_t(h >> 32));
    put32(addr, 0x2a02ffff);
    put32(addr + 12, uint32_t(h));
  } else {
    put32(sub, 0x64400000u | line);
    put32(remote, 0xc6120000u | uint32_t(h >> 47));
    put32(addr, 0xc6120000u | uint32_t(h & 0x1ffff));
  }
  std::string name;
  if (t.bundle != nullptr && !t.bundle->domains.empty() && (h >> 13) % t.hit_every == 0) {
    const size_t n = t.bundle->domains.size();
    name = t.bundle->domains[(size_t(line) * 7919 + (h >> 24) % 4) % n].fqdn;
  } else {
    name = fmt::format("www{}.shop{}.example.org", h % 97, (h >> 8) % 50000);
  }
  const std::string target =
      fmt::format("e{}.cdn{}.edge-net.net", (h >> 20) % 9973, (h >> 40) % 64);
  if (name.size() > bench::kMaxLearnName)
    throw std::logic_error("learn frame name too long: " + name);
  const bench::FrameEnds e{v6, sub, remote, uint16_t(1024 + (h >> 16) % 64512), uint16_t(flow)};
  return dns ? bench::dns_response_frame(e, name, target, addr, f)
             : bench::client_hello_frame(e, name, f);
}

// Frame i of a synthetic set: a DNS response or ClientHello for the configured shares of
// the frames (chosen per frame index), otherwise a plain frame of at least `len` bytes.
uint32_t bench_frame(const Traffic& t, uint32_t i, uint32_t len, bool v6, uint8_t* f) {
  const uint32_t flow = t.flow_of(i);
  const uint32_t k = uint32_t(mix64(uint64_t(i) ^ 0x1ea4'0000'0000ULL) % 1000);
  if (k < t.dns_permille + t.hello_permille) return learn_frame(t, flow, k < t.dns_permille, v6, f);
  return traffic_frame(t, flow, len, v6, f);
}

uint32_t learn_room(const Traffic& t, uint32_t room) {
  return t.dns_permille + t.hello_permille ? std::max(room, bench::kMaxLearnFrame) : room;
}

PacketSet mix64_set(uint32_t n, Traffic t) {
  // Room for 74 bytes: IPv6/TCP to an IPv6 hitlist endpoint does not fit in 64; more
  // when DNS responses and ClientHellos are mixed in (they keep their natural sizes).
  return {"64", n ? n : 1u << 20, learn_room(t, 74),
          [t](uint32_t i, uint8_t* out) { return bench_frame(t, i, 64, false, out); }};
}

PacketSet imix_set(uint32_t n, Traffic t) {
  static constexpr uint16_t kSizes[12] = {64, 64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576};
  return {"imix", n ? n : 1u << 18, 1500, [t](uint32_t i, uint8_t* out) {
            return bench_frame(t, i, kSizes[i % 12], (mix64(t.flow_of(i)) >> 62) == 0, out);
          }};
}

// ---- pre-built mbufs behind a net_ring ethdev --------------------------------------------

// Holds every frame of a set in its own mbuf from a pool of exactly that many. Between
// passes all mbufs sit in the pool: rte_pktmbuf_free leaves data, data_len and pkt_len
// alone, so refill() takes them all back with rte_mempool_get_bulk (not pktmbuf_alloc,
// which would reset them) and queues them, in their original order, on the ring the
// ethdev receives from. The timed pass then frees them for real (refcnt 1), exactly as
// the worker does.
class RingSource {
 public:
  RingSource(const PacketSet& set, unsigned copy) : n_(set.count), mbufs_(n_), scratch_(n_) {
    // Unique per source: a closed net_ring port keeps its device name registered.
    static unsigned serial = 0;
    const std::string tag = fmt::format("hsb_{}{}_{}", set.name, copy, serial++);
    const uint32_t room = RTE_PKTMBUF_HEADROOM + set.max_len;
    const unsigned cache = std::min(256u, n_ / 2);
    pool_ = rte_pktmbuf_pool_create((tag + "_pool").c_str(), n_, cache, 0, uint16_t(room),
                                    int(rte_socket_id()));
    ring_ = rte_ring_create((tag + "_ring").c_str(), n_, int(rte_socket_id()),
                            RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (pool_ == nullptr || ring_ == nullptr || room > UINT16_MAX) {
      throw std::runtime_error(
          fmt::format("set {}: cannot allocate {} mbufs of {} bytes: {} "
                      "(raise EAL -m or lower --packets)",
                      set.name, n_, room, rte_strerror(rte_errno)));
    }
    std::vector<uint8_t> frame(65536);  // any pcap record fits
    for (uint32_t i = 0; i < n_; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) throw std::runtime_error("mbuf pool exhausted while building");
      const uint32_t len = set.frame(i, frame.data());
      if (len > set.max_len || rte_pktmbuf_append(m, uint16_t(len)) == nullptr) {
        throw std::logic_error(
            fmt::format("set {}: frame {} of {} bytes exceeds the mbuf room", set.name, i, len));
      }
      std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame.data(), len);
      mbufs_[i] = m;
    }
    rte_pktmbuf_free_bulk(mbufs_.data(), n_);
    // Empty this lcore's cache into the pool: --parallel refills from another lcore.
    if (rte_mempool_cache* c = rte_mempool_default_cache(pool_, rte_lcore_id()))
      rte_mempool_cache_flush(c, pool_);

    int port = rte_eth_from_ring(ring_);
    if (port < 0)
      throw std::runtime_error("rte_eth_from_ring: " + std::string(rte_strerror(rte_errno)));
    port_ = uint16_t(port);
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port_, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port_, 0, 0, rte_socket_id(), nullptr, pool_) != 0 ||
        rte_eth_tx_queue_setup(port_, 0, 0, rte_socket_id(), nullptr) != 0 ||
        rte_eth_dev_start(port_) != 0) {
      throw std::runtime_error("cannot start the net_ring port for set " + set.name);
    }
  }
  ~RingSource() {
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    rte_ring_free(ring_);
    rte_mempool_free(pool_);
  }
  RingSource(const RingSource&) = delete;
  RingSource& operator=(const RingSource&) = delete;

  void refill() {
    for (uint32_t got = 0; got < n_;) {
      uint32_t k = std::min(n_ - got, 256u);
      if (rte_mempool_get_bulk(pool_, reinterpret_cast<void**>(&scratch_[got]), k) != 0) {
        throw std::runtime_error("refill: an mbuf did not come back to the pool");
      }
      got += k;
    }
    rte_ring_enqueue_bulk(ring_, reinterpret_cast<void* const*>(mbufs_.data()), n_, nullptr);
  }
  uint16_t port() const { return port_; }
  uint32_t size() const { return n_; }

 private:
  uint32_t n_;
  std::vector<rte_mbuf*> mbufs_, scratch_;
  rte_mempool* pool_ = nullptr;
  rte_ring* ring_ = nullptr;
  uint16_t port_ = 0;
};

// Control merges instantly: a published bin goes straight back to the free list. The
// records carry the trees and tables of the stage being measured, sized as haystackd
// sizes them.
class LoopbackExchange final : public BinExchange {
 public:
  LoopbackExchange(const std::vector<flowtree::FlowtreeConfig>& trees, uint32_t iot_lines,
                   uint32_t eui_entries) {
    for (auto& r : records_) {
      r.iot = IotEvidenceTable(iot_lines);
      r.eui = EuiTable(eui_entries);
      for (const auto& c : trees) r.trees.emplace_back(c);
      free_.push_back(&r);
    }
  }
  BinRecord* acquire() override {
    if (free_.empty()) return nullptr;
    BinRecord* r = free_.back();
    free_.pop_back();
    return r;
  }
  bool publish(BinRecord* rec) override {
    for (auto& t : rec->trees) t.clear();
    rec->iot.clear();
    rec->eui.clear();
    free_.push_back(rec);
    return true;
  }
  void release(BinRecord* rec) override { free_.push_back(rec); }

 private:
  std::array<BinRecord, 2> records_;
  std::vector<BinRecord*> free_;  // never holds more than records_.size()
};

// ---- the timed loop ----------------------------------------------------------------------

// Stages in pipeline order; each adds one part of the worker to the one before.
enum class Stage { kRxFree, kParse, kSampling, kFlowtrees, kHitlist, kEui64, kLearning };
constexpr std::array kStages{Stage::kRxFree,  Stage::kParse, Stage::kSampling, Stage::kFlowtrees,
                             Stage::kHitlist, Stage::kEui64, Stage::kLearning};

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kRxFree: return "rx+free";
    case Stage::kParse: return "+parse";
    case Stage::kSampling: return "+sampling";
    case Stage::kFlowtrees: return "+flowtrees";
    case Stage::kHitlist: return "+hitlist";
    case Stage::kEui64: return "+eui64";
    case Stage::kLearning:
      return "+learning";
  }
  return "?";
}

volatile uint64_t g_sink;  // keeps the per-packet work observable

enum class Work { kNone, kParse, kCore };

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec);
}

// What one pass cost: TSC cycles (wall time: includes any time the thread was not
// running) and this thread's CPU time (excludes it; what a dedicated core would pay).
struct PassCost {
  uint64_t tsc = 0;
  uint64_t cpu_ns = 0;
};

// One pass over everything queued on the ring, shaped like Worker::run: burst receive,
// prefetch the next frame, per-packet work, bulk free.
template <Work W>
PassCost timed_pass(uint16_t port, uint16_t burst, WorkerCore* core) {
  rte_mbuf* bufs[kMaxBurst];
  ParsedPacket pkt;
  uint64_t sink = 0;
  const uint64_t c0 = thread_cpu_ns();
  const uint64_t t0 = rte_rdtsc_precise();
  while (uint16_t n = rte_eth_rx_burst(port, 0, bufs, burst)) {
    if constexpr (W != Work::kNone) {
      const uint64_t now = W == Work::kCore ? wall_clock_ns() : 0;
      rte_prefetch0(rte_pktmbuf_mtod(bufs[0], void*));
      if (n > 1) rte_prefetch0(rte_pktmbuf_mtod(bufs[1], void*));
      for (uint16_t i = 0; i < n; ++i) {
        if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(bufs[i + 2], void*));
        if (W == Work::kCore && i + 1 < n && g_prefetch_next) {
          core->prefetch_next(rte_pktmbuf_mtod(bufs[i + 1], const uint8_t*), bufs[i + 1]->data_len);
        }
        const rte_mbuf* m = bufs[i];
        const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
        if constexpr (W == Work::kParse) {
          sink += uint64_t(parse_packet(data, m->data_len, pkt)) + pkt.proto;
        } else {
          sink += core->on_packet(0, data, m->data_len, m->pkt_len, now, pkt).flow_sampled;
        }
      }
    }
    rte_pktmbuf_free_bulk(bufs, n);
  }
  const uint64_t cycles = rte_rdtsc_precise() - t0;
  const uint64_t cpu = thread_cpu_ns() - c0;
  g_sink = g_sink + sink;
  return {cycles, cpu};
}

double median(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? double(v[m]) : (double(v[m - 1]) + double(v[m])) / 2;
}

// Resident set size in bytes (/proc/self/statm), for the memory figures.
uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * uint64_t(sysconf(_SC_PAGESIZE));
}

// The default haystackd tree set (config.h FlowtreeSettings), seeded as worker 0.
std::vector<flowtree::FlowtreeConfig> default_trees() {
  const FlowtreeSettings fs;
  std::vector<flowtree::FlowtreeConfig> out;
  for (flowtree::FeatureSet f : fs.feature_sets) {
    flowtree::FlowtreeConfig c;
    c.feature_set = f;
    c.budget = fs.budget_for(f);
    c.p = fs.insert_probability;
    c.seed = uint64_t(f) * 0x9e3779b97f4a7c15ULL + 1;
    out.push_back(c);
  }
  return out;
}

// Resident memory of one worker's per-bin structures at their default sizes: the 11
// default trees filled to their node budgets, and an evidence table of `lines` lines.
json memory_figures(uint32_t lines) {
  json m = json::object();
  uint64_t before = rss_bytes();
  {
    std::vector<flowtree::Flowtree> trees;
    for (const auto& c : default_trees()) trees.emplace_back(c);
    const Traffic t;
    uint8_t frame[256];
    ParsedPacket pkt;
    for (uint32_t i = 0; i < (1u << 18); ++i) {  // distinct flows: every tree reaches its budget
      const uint32_t len = traffic_frame(t, i, 64, (i & 3) == 0, frame);
      if (parse_packet(frame, len, pkt) != ParseError::kOk) continue;
      for (auto& tr : trees) tr.add(pkt, len, 1);
    }
    size_t nodes = 0;
    for (const auto& tr : trees) nodes += tr.size();
    m["trees_11_filled_nodes"] = nodes;
    m["trees_11_rss_mib"] = double(rss_bytes() - before) / (1 << 20);
  }
  before = rss_bytes();
  {
    IotEvidenceTable iot(lines);
    m["evidence_lines"] = lines;
    m["evidence_line_bytes"] = sizeof(IotLine);
    m["evidence_slots"] = iot.capacity();
    m["evidence_rss_mib"] = double(rss_bytes() - before) / (1 << 20);
  }
  return m;
}

// What the IoT and learning stages run against; null members leave those stages out.
struct HitlistRefs {
  const hl::HitlistTable* table = nullptr;
  const hl::NameMatcher* names = nullptr;
};

// One WorkerCore with the parts of `stage` switched on, and what it owns. `worker` is
// the WorkerCore id, also its NameMatcher scratch slot (one per concurrent SetBench).
struct Rig {
  WorkerCounters counters;
  std::unique_ptr<LoopbackExchange> exchange;
  std::unique_ptr<LearnRing> learn_ring;
  std::unique_ptr<WorkerCore> core;
  uint64_t learned = 0;  // records drained from learn_ring

  Rig(const Options& o, Stage stage, HitlistRefs refs, uint32_t worker, uint32_t ring_size) {
    const hl::HitlistTable* table = refs.table;
    const FlowtreeSettings fts;
    const IotConfig iotc;
    const Eui64Config euic;
    const bool trees = stage >= Stage::kFlowtrees, iot = stage >= Stage::kHitlist && table,
               eui = stage >= Stage::kEui64 && table;
    exchange = std::make_unique<LoopbackExchange>(
        trees ? default_trees() : std::vector<flowtree::FlowtreeConfig>{},
        iot ? iotc.lines_per_worker : 0, eui ? euic.entries_per_worker : 0);
    IotSettings s;
    if (iot) {
      s.table = table;
      s.mode = IotMode::kIsp;
      s.subscriber_prefixes = bench_subscribers();
      s.eui64 = eui;
    }
    LearningSettings ls;  // learning config defaults: every packet, DNS and SNI
    if (stage >= Stage::kLearning && refs.names != nullptr) {
      // Ring names must be unique per process; the id only names the ring.
      static uint32_t serial = 0;
      learn_ring = std::make_unique<LearnRing>(1000 + serial++, ring_size);
      ls.enabled = true;
      ls.sink = learn_ring.get();
      ls.names = refs.names;
    }
    core = std::make_unique<WorkerCore>(worker, 1, o.sampling, kBenchBinNs, *exchange, counters,
                                        trees ? fts.flow_table_size : 0, s, ls);
  }
  // Control's side of the learn ring, between passes (untimed): empty it.
  void drain() {
    if (!learn_ring) return;
    thread_local LearnRecord buf[64];
    while (unsigned n = learn_ring->drain(buf, 64)) learned += n;
  }
  PassCost pass(Stage s, uint16_t port, uint16_t burst) {
    switch (s) {
      case Stage::kRxFree: return timed_pass<Work::kNone>(port, burst, nullptr);
      case Stage::kParse: return timed_pass<Work::kParse>(port, burst, nullptr);
      default: return timed_pass<Work::kCore>(port, burst, core.get());
    }
  }
};

// Every stage over one set, for one worker: its own mbufs, ring port and WorkerCores
// (the hitlist table is shared read-only, as in haystackd). Built on the main lcore, run
// on any.
struct SetBench {
  const Options& o;
  RingSource src;
  std::vector<Stage> stages;
  std::vector<std::unique_ptr<Rig>> rigs;
  std::vector<std::vector<uint64_t>> tsc, cpu;

  SetBench(const Options& opt, const PacketSet& set, HitlistRefs refs, unsigned copy)
      : o(opt), src(set, copy), stages(kStages.begin(), kStages.end()) {
    if (refs.table == nullptr) stages.resize(4);  // no IoT stages without a hitlist
    // Room for every record of one pass: at most 2 per DNS response (CNAME + address),
    // 1 per ClientHello; the ring is drained after each pass.
    const uint64_t most = uint64_t(src.size()) * (2 * o.dns_permille + o.hello_permille) / 1000;
    const uint32_t ring_size = uint32_t(std::min<uint64_t>(most + 64, 1u << 24));
    for (Stage st : stages) rigs.push_back(std::make_unique<Rig>(o, st, refs, copy, ring_size));
    tsc.resize(stages.size());
    cpu.resize(stages.size());
  }
  uint32_t iterations() const {
    return o.iterations ? o.iterations
                        : uint32_t(std::max<uint64_t>(5, kPacketsPerStage / src.size()));
  }
  // One untimed warm-up pass, then `iterations` rounds in which the stages take turns,
  // so drift on a shared machine hits them alike.
  void run() {
    for (uint32_t it = 0; it <= iterations(); ++it) {
      for (size_t s = 0; s < stages.size(); ++s) {
        src.refill();
        const PassCost c = rigs[s]->pass(stages[s], src.port(), o.burst);
        rigs[s]->drain();
        if (it > 0) {
          tsc[s].push_back(c.tsc);
          cpu[s].push_back(c.cpu_ns);
        }
      }
    }
  }
  json report(const std::string& name, uint32_t hitlist_entries) const;
};

json bench_set(const Options& o, const PacketSet& set, HitlistRefs table,
               uint32_t hitlist_entries) {
  SetBench b(o, set, table, 0);
  b.run();
  json r = b.report(set.name, hitlist_entries);
  if (o.parallel) {
    // The same set on every EAL lcore at once (each with its own copy), to show whether
    // the per-worker cost grows when workers run side by side.
    std::vector<std::unique_ptr<SetBench>> all;
    unsigned copy = 1;
    std::vector<unsigned> lcores;
    unsigned l = 0;
    RTE_LCORE_FOREACH_WORKER(l) {
      all.push_back(std::make_unique<SetBench>(o, set, table, copy++));
      lcores.push_back(l);
    }
    all.push_back(std::make_unique<SetBench>(o, set, table, copy++));  // the main lcore's
    for (size_t i = 0; i < lcores.size(); ++i) {
      rte_eal_remote_launch([](void* p) { static_cast<SetBench*>(p)->run(); return 0; },
                            all[i].get(), lcores[i]);
    }
    all.back()->run();
    rte_eal_mp_wait_lcore();
    json workers = json::array();
    for (size_t i = 0; i < all.size(); ++i) {
      json w = all[i]->report(set.name, hitlist_entries);
      w["lcore"] = i < lcores.size() ? lcores[i] : rte_get_main_lcore();
      workers.push_back(std::move(w));
    }
    r["parallel"] = std::move(workers);
  }
  return r;
}

json SetBench::report(const std::string& name, uint32_t hitlist_entries) const {
  const uint32_t iters = iterations();
  const double hz = double(rte_get_tsc_hz());
  json out = json::array();
  double prev = 0;
  for (size_t s = 0; s < stages.size(); ++s) {
    // Primary figure: thread CPU time in TSC cycles, so time the shared VM gave to other
    // processes does not count. The wall-time TSC median is kept for comparison.
    const double cpp = median(cpu[s]) * hz / 1e9 / src.size();
    const double wall_cpp = median(tsc[s]) / src.size();
    const WorkerCounters& c = rigs[s]->counters;
    json st = {{"stage", stage_name(stages[s])},
               {"cycles_per_packet", cpp},
               {"stage_cycles_per_packet", s == 0 ? cpp : cpp - prev},
               {"mpps", hz / cpp / 1e6},
               {"wall_tsc_cycles_per_packet", wall_cpp}};
    if (stages[s] >= Stage::kSampling) {
      // What the stage saw, to show the frames take the intended path.
      st["worker_counters"] = {{"rx_packets", c.rx_packets.get()},
                               {"ipv6_packets", c.ipv6_packets.get()},
                               {"parse_errors", c.parse_errors.get()},
                               {"sampled_flow", c.sampled_flow.get()},
                               {"sampled_iot", c.sampled_iot.get()},
                               {"iot_matches", c.iot_matches.get()},
                               {"iot_lines_full", c.iot_lines_full.get()},
                               {"eui64_packets", c.eui64_packets.get()}};
    }
    if (stages[s] >= Stage::kLearning) {
      st["learning_counters"] = {{"learning_dns_responses", c.learning_dns_responses.get()},
                                 {"learning_dns_skipped", c.learning_dns_skipped.get()},
                                 {"learning_dns_malformed", c.learning_dns_malformed.get()},
                                 {"learning_sni_hellos", c.learning_sni_hellos.get()},
                                 {"learning_sni_skipped", c.learning_sni_skipped.get()},
                                 {"learning_sni_malformed", c.learning_sni_malformed.get()},
                                 {"learning_names_matched", c.learning_names_matched.get()},
                                 {"learning_records", c.learning_records.get()},
                                 {"learning_ring_full", c.learning_ring_full.get()},
                                 {"records_drained", rigs[s]->learned}};
    }
    out.push_back(std::move(st));
    prev = cpp;
  }
  return {{"set", name},
          {"hitlist_entries", hitlist_entries},
          {"packets", src.size()},
          {"iterations", iters},
          {"stages", out}};
}

// ---- testpmd floor -----------------------------------------------------------------------

// CPU seconds (utime + stime) of the thread of process `pid` whose name is `comm`
// (DPDK 22.11 names its lcore threads "rte-worker-<id>"); -1 when there is none.
double thread_cpu_seconds(pid_t pid, const std::string& comm) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream cf(t.path() / "comm");
    std::string name;
    std::getline(cf, name);
    if (name != comm) continue;
    std::ifstream sf(t.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(sf)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based)
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
  }
  return -1;
}

// A loop's rate two ways: per wall second, and per second of CPU its lcore thread got
// (what a dedicated core would do; the VM is shared).
struct LoopRate {
  double mpps = 0;
  double cpu_share = -1;  // CPU seconds / wall seconds of the polling thread; -1 unknown
  double mpps_per_cpu() const { return cpu_share > 0 ? mpps / cpu_share : mpps; }
};

unsigned cpu_of(unsigned lcore) {
  rte_cpuset_t set = rte_lcore_cpuset(lcore);
  for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) return c;
  }
  return lcore;
}

// Measured rx rate of haystack's real worker loop on `lcore`: Port + Worker::run, as
// haystackd runs them (wall clock), counted by the worker's rx_packets counter.
LoopRate haystack_loop_mpps(const Options& o, unsigned lcore, uint32_t room) {
  PortSetup ps;
  ps.name = "bench";
  ps.dpdk_name = kPcapVdev;
  ps.mbufs = 8192;  // as testpmd --total-num-mbufs below
  ps.data_room = room;
  Port port(ps);
  port.start();
  WorkerSpec spec;
  spec.lcore = lcore;
  spec.queues = {WorkerQueue{port.id(), 0, ps.name, 1}};
  spec.burst = o.burst;
  spec.sampling = o.sampling;
  spec.bin_ns = kBinNs;
  RingBinExchange exchange(0, 64, 64);
  Worker worker(spec, exchange);
  std::atomic<bool> stop{false};
  struct Arg {
    Worker* w;
    std::atomic<bool>* stop;
  } arg{&worker, &stop};
  auto body = [](void* p) -> int {
    auto* a = static_cast<Arg*>(p);
    return a->w->run(*a->stop);
  };
  if (rte_eal_remote_launch(body, &arg, lcore) != 0)
    throw std::runtime_error("cannot launch worker");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up
  const std::string comm = fmt::format("rte-worker-{}", lcore);
  const uint64_t c0 = worker.counters().rx_packets.get();
  const double cpu0 = thread_cpu_seconds(getpid(), comm);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  const uint64_t c1 = worker.counters().rx_packets.get();
  const double cpu1 = thread_cpu_seconds(getpid(), comm);
  const auto t1 = Clock::now();
  stop.store(true);
  rte_eal_wait_lcore(lcore);
  while (BinRecord* r = exchange.poll()) exchange.give_back(r);
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  return {double(c1 - c0) / wall / 1e6, cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / wall : -1};
}

std::vector<std::string> testpmd_args(const Options& o, unsigned lcore, uint32_t room) {
  std::vector<std::string> a{o.testpmd};
  bool lcores_given = false;
  const auto eal = o.eal.empty() ? default_eal() : o.eal;
  for (size_t i = 0; i < eal.size(); ++i) {
    const std::string& s = eal[i];
    if (s == "--file-prefix" || s == "--vdev") {
      ++i;
      continue;
    }
    if (s.starts_with("--file-prefix=") || s.starts_with("--vdev=")) continue;
    lcores_given |= s.starts_with("-l") || s.starts_with("--lcores") || s.starts_with("-c");
    a.push_back(s);
  }
  a.insert(a.end(), {"--file-prefix", fmt::format("haystack-bench-testpmd-{}", getpid())});
  if (!lcores_given) {
    a.insert(a.end(), {"-l", fmt::format("{},{}", cpu_of(rte_get_main_lcore()), cpu_of(lcore))});
  }
  a.insert(a.end(), {"--vdev", pcap_vdev(o), "--", "--forward-mode=rxonly", "--auto-start",
                     "--stats-period=1", "--nb-cores=1", fmt::format("--burst={}", o.burst),
                     fmt::format("--mbuf-size={}", room), "--total-num-mbufs=8192"});
  return a;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// Runs testpmd until it has printed stats for `seconds` after its first (zero) sample,
// stops it with SIGINT like an operator would, and averages its "Rx-pps:" samples.
LoopRate testpmd_mpps(const Options& o, const std::vector<std::string>& args, unsigned lcore) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  std::vector<char*> argv;
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error(fmt::format("cannot run {}: {}", args[0], std::strerror(rc)));
  }

  std::string out;
  size_t scanned = 0;  // output before this offset is parsed, line by line
  std::vector<double> pps;
  const std::string comm = fmt::format("rte-worker-{}", lcore);
  double cpu0 = -1, cpu1 = -1;
  Clock::time_point w0, w1;
  auto deadline = Clock::now() + std::chrono::seconds(60);  // startup limit until the first sample
  bool interrupted = false, killed = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() > 0 && poll(&p, 1, int(left.count())) > 0) {
      char buf[4096];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, size_t(n));
      for (size_t nl; (nl = out.find('\n', scanned)) != std::string::npos; scanned = nl + 1) {
        size_t at = out.find("Rx-pps:", scanned);
        if (at >= nl) continue;
        pps.push_back(std::strtod(out.c_str() + at + 7, nullptr));
        if (pps.size() == 1) {
          deadline = Clock::now() + std::chrono::milliseconds(o.seconds * 1000 + 500);
          cpu0 = thread_cpu_seconds(pid, comm);
          w0 = Clock::now();
        }
      }
      continue;
    }
    if (Clock::now() < deadline) continue;
    if (!interrupted) {
      cpu1 = thread_cpu_seconds(pid, comm);
      w1 = Clock::now();
      kill(pid, SIGINT);
      interrupted = true;
      deadline = Clock::now() + std::chrono::seconds(20);
    } else if (!killed) {
      kill(pid, SIGKILL);
      killed = true;
      deadline = Clock::now() + std::chrono::seconds(5);
    } else {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (pps.size() < 2) {
    size_t tail = out.size() > 3000 ? out.size() - 3000 : 0;
    throw std::runtime_error(
        fmt::format("testpmd printed no throughput samples; its output "
                    "ends with:\n{}",
                    out.substr(tail)));
  }
  double sum = 0;
  for (size_t i = 1; i < pps.size(); ++i) sum += pps[i];  // the first sample is always 0
  const double wall = std::chrono::duration<double>(w1 - w0).count();
  return {sum / double(pps.size() - 1) / 1e6,
          cpu0 >= 0 && cpu1 >= 0 && wall > 0 ? (cpu1 - cpu0) / wall : -1};
}

json floor_compare(const Options& o, const PcapContents& cap) {
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  if (lcore >= RTE_MAX_LCORE) {
    throw std::runtime_error("testpmd-floor needs a worker lcore (EAL -l with two cores)");
  }
  uint32_t max_len = 0;
  for (const auto& p : cap.packets) max_len = std::max(max_len, uint32_t(p.data.size()));
  // net_pcap infinite_rx needs every frame in one mbuf.
  const uint32_t room = std::max(2176u, (RTE_PKTMBUF_HEADROOM + max_len + 63) / 64 * 64);
  const LoopRate hs = haystack_loop_mpps(o, lcore, room);
  const auto args = testpmd_args(o, lcore, room);
  // testpmd runs with -l <main cpu>,<worker cpu>: its forwarding lcore id is that CPU.
  const LoopRate tp = testpmd_mpps(o, args, cpu_of(lcore));
  const double hz = double(rte_get_tsc_hz());
  return {{"source", pcap_vdev(o)},
          {"seconds", o.seconds},
          {"haystack_worker_mpps", hs.mpps},
          {"haystack_cycles_per_packet", hz / (hs.mpps * 1e6)},
          {"haystack_cpu_share", hs.cpu_share},
          {"haystack_mpps_per_cpu_second", hs.mpps_per_cpu()},
          {"testpmd_rxonly_mpps", tp.mpps},
          {"testpmd_cycles_per_packet", hz / (tp.mpps * 1e6)},
          {"testpmd_cpu_share", tp.cpu_share},
          {"testpmd_mpps_per_cpu_second", tp.mpps_per_cpu()},
          {"ratio_haystack_to_testpmd", hs.mpps / tp.mpps},
          {"ratio_per_cpu_second", hs.mpps_per_cpu() / tp.mpps_per_cpu()},
          {"testpmd_command", join(args)}};
}

// ---- output ------------------------------------------------------------------------------

void print_text(const json& r) {
  fmt::print("{} | TSC {:.3f} GHz | burst {} | sampling {} flow 1/{} iot 1/{}\n",
             r["cpu"].get<std::string>(), r["tsc_hz"].get<double>() / 1e9, r["burst"].get<int>(),
             r["sampling"]["method"].get<std::string>(), r["sampling"]["flow_rate"].get<int>(),
             r["sampling"]["iot_rate"].get<int>());
  if (r.contains("sets")) {
    fmt::print("\n{:<6} {:>8} {:>9} {:>6}  {:<10} {:>11} {:>8} {:>9} {:>10}\n", "set", "hitlist",
               "packets", "iters", "stage", "cycles/pkt", "(stage)", "Mpps", "wall cyc");
    std::vector<std::pair<std::string, json>> rows;
    for (const auto& s : r["sets"]) {
      rows.emplace_back(s["set"].get<std::string>(), s);
      if (s.contains("parallel")) {
        for (const auto& w : s["parallel"])
          rows.emplace_back(fmt::format("{}@{}", s["set"].get<std::string>(), w["lcore"].get<int>()), w);
      }
    }
    for (const auto& [label, s] : rows) {
      for (const auto& st : s["stages"]) {
        fmt::print("{:<6} {:>8} {:>9} {:>6}  {:<10} {:>11.1f} {:>8.1f} {:>9.2f} {:>10.1f}\n",
                   label, s["hitlist_entries"].get<uint64_t>(),
                   s["packets"].get<uint64_t>(), s["iterations"].get<uint64_t>(),
                   st["stage"].get<std::string>(), st["cycles_per_packet"].get<double>(),
                   st["stage_cycles_per_packet"].get<double>(), st["mpps"].get<double>(),
                   st["wall_tsc_cycles_per_packet"].get<double>());
      }
    }
    for (const auto& [k, v] : r["memory"].items()) fmt::print("memory {} {:.1f}\n", k, v.get<double>());
  }
  if (r.contains("floor")) {
    const auto& f = r["floor"];
    fmt::print("\nfloor on {} ({} s each, after 1 s warm-up)\n", f["source"].get<std::string>(),
               f["seconds"].get<int>());
    fmt::print("  {:<26} {:>8.2f} Mpps {:>8.1f} cycles/pkt\n", "haystack Worker::run",
               f["haystack_worker_mpps"].get<double>(),
               f["haystack_cycles_per_packet"].get<double>());
    fmt::print("  {:<26} {:>8.2f} Mpps {:>8.1f} cycles/pkt\n", "dpdk-testpmd rxonly",
               f["testpmd_rxonly_mpps"].get<double>(),
               f["testpmd_cycles_per_packet"].get<double>());
    fmt::print("  {:<26} {:>8.2f}\n", "ratio haystack/testpmd",
               f["ratio_haystack_to_testpmd"].get<double>());
    fmt::print("  per CPU-second of the polling thread (CPU share haystack {:.2f}, testpmd {:.2f}):\n"
               "  haystack {:.2f} Mpps, testpmd {:.2f} Mpps, ratio {:.2f}\n",
               f["haystack_cpu_share"].get<double>(), f["testpmd_cpu_share"].get<double>(),
               f["haystack_mpps_per_cpu_second"].get<double>(),
               f["testpmd_mpps_per_cpu_second"].get<double>(),
               f["ratio_per_cpu_second"].get<double>());
    fmt::print("  testpmd: {}\n", f["testpmd_command"].get<std::string>());
  }
}

int run(const Options& o) {
  const bool floor = o.cmd == "testpmd-floor" || o.with_testpmd;
  const PcapContents cap = read_pcap(o.pcap);
  spdlog::set_default_logger(spdlog::stderr_color_mt("haystack-bench"));
  init_eal(o, floor);

  json r = {{"cpu", cpu_model()},
            {"tsc_hz", rte_get_tsc_hz()},
            {"burst", o.burst},
            {"sampling",
             {{"method", std::string(sample_method_name(o.sampling.method))},
              {"flow_rate", o.sampling.flow_rate},
              {"iot_rate", o.sampling.iot_rate}}}};
  if (o.cmd == "worker") {
    json sets = json::array();
    if (o.mix == "pcap" || o.mix == "all")
      sets.push_back(bench_set(o, pcap_set(cap, o.pcap, o.packets), {}, 0));
    json memory = memory_figures(o.evidence_lines);
    std::vector<uint32_t> sizes = o.hitlist_entries;
    if (sizes.empty()) sizes.push_back(0);
    // As haystackd's learning defaults: catalog domains with digit wildcards, the default
    // PSL, no backend patterns; one scratch slot per possible concurrent SetBench.
    const hl::PublicSuffixList psl = hl::PublicSuffixList::load(hl::kDefaultPslPath);
    hl::NameMatcherOptions nmo;
    nmo.psl = &psl;
    nmo.scratch_slots = rte_lcore_count() + 1;
    for (uint32_t n : sizes) {
      std::unique_ptr<hl::Bundle> bundle;
      std::shared_ptr<const hl::HitlistTable> table;
      std::shared_ptr<const hl::NameMatcher> names;
      if (n != 0) {
        hl::SynthSpec spec;
        spec.endpoints = n;
        bundle = std::make_unique<hl::Bundle>(hl::synthetic_bundle(spec));
        const uint64_t before = rss_bytes();
        table = hl::HitlistTable::compile(*bundle);
        memory[fmt::format("hitlist_{}_rss_mib", n)] = double(rss_bytes() - before) / (1 << 20);
        names = hl::NameMatcher::build(*bundle, {}, "", nmo);
        memory[fmt::format("names_{}_patterns", n)] = names->size();
        memory[fmt::format("names_{}_database_kib", n)] = double(names->database_bytes()) / 1024;
      }
      const Traffic t{bundle.get(), o.hit_every, o.flows, o.dns_permille, o.hello_permille};
      const HitlistRefs refs{table.get(), names.get()};
      if (o.mix == "64" || o.mix == "all")
        sets.push_back(bench_set(o, mix64_set(o.packets, t), refs, n));
      if (o.mix == "imix" || o.mix == "all")
        sets.push_back(bench_set(o, imix_set(o.packets, t), refs, n));
    }
    r["pcap"] = o.pcap;
    r["sets"] = sets;
    r["memory"] = memory;
  }
  if (floor) r["floor"] = floor_compare(o, cap);
  if (o.json) {
    fmt::print("{}\n", r.dump(2));
  } else {
    print_text(r);
  }
  g_sink = 0;
  rte_eal_cleanup();
  return 0;
}

}  // namespace
}  // namespace haystack

int main(int argc, char** argv) {
  // Flowtree benchmarks run without EAL (dataplane/bench/flowtree_bench.cc).
  if (argc > 1 && haystack::bench::is_flowtree_subcommand(argv[1])) {
    return haystack::bench::flowtree_main(argc, argv);
  }
  // Hitlist lookup benchmark, also without EAL (dataplane/bench/hitlist_bench.cc).
  if (argc > 1 && haystack::bench::is_hitlist_subcommand(argv[1])) {
    return haystack::bench::hitlist_main(argc, argv, haystack::cpu_model());
  }
  haystack::Options o;
  try {
    o = haystack::parse_args(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "haystack-bench: %s\n\n%s", e.what(), haystack::kUsage);
    return 2;
  }
  if (o.cmd == "help") {
    std::fputs(haystack::kUsage, stdout);
    return 0;
  }
  try {
    return haystack::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "haystack-bench: %s\n", e.what());
    return 1;
  }
}
