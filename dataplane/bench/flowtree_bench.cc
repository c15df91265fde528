// haystack-bench flowtree-accuracy and flowtree-speed: Flowtree accuracy against exact
// counting, and update throughput, on deterministic synthetic Zipf traffic whose addresses
// lie in real announced prefixes (python3-pyasn tables) and on real captures.
// Only the public Flowtree API is used. A benchmark: it reports numbers, asserts nothing.
#include "dataplane/bench/flowtree_bench.h"

#include "dataplane/bench/bench_args.h"

#include <fmt/format.h>
#include <x86intrin.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataplane/flowtree/feature_set.h"
#include "dataplane/flowtree/flowtree.h"
#include "dataplane/flowtree/flowtree_queries.h"
#include "dataplane/parser.h"
#include "dataplane/pcap_file.h"

namespace haystack::bench {
namespace {

namespace ft = haystack::flowtree;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage:
  haystack-bench flowtree-accuracy [options]
      Flowtree accuracy vs exact counting (hash maps over every level of the joined
      hierarchy) for each node budget: F1 of the top-1k leaves (SI: source IPs, DI:
      destination IPs), F1 of HHH at phi, relative error (median / p90 / mean) of the
      counts the tree reports, space saving. Inputs: synthetic Zipf traffic in real
      announced prefixes, then every Ethernet .pcap in tests/data/pcaps,
      ../shared/data/pcaps/ndpi and ../shared/data/pcaps/tcpdump (pcapng skipped).
      --packets N          synthetic packets (default 5000000)
      --seed S             traffic seed (default 1)
      --budgets LIST       node budgets (default 1000,5000,10000,20000,40000)
      --sets LIST          feature sets (default SI,DI,SIDI)
      --phi X              HHH threshold as a fraction of all packets (default 0.0001)
      --k K                top-k size (default 1000)
      --pcap-budgets LIST  budgets for the captures (default 64,256,1000)
      --no-pcaps           skip the captures
      --p X                FlowtreeConfig::p, intermediate-node insertion probability
                           (default 0.3, the library default)
      --compress-fraction X  FlowtreeConfig::compress_fraction (default 0.75)
      --inner-share X      FlowtreeConfig::threshold_inner_share (default 0.2)
      --compress MODE      FlowtreeConfig::compress_mode: threshold (default), aggregate,
                           parent
  haystack-bench flowtree-speed [options]
      Single-core Flowtree::add throughput per feature set (default budgets) on the same
      synthetic stream held in memory (leaf key built from the packet fields + add), and
      TSC cycles per sampled packet with all 11 trees updated per packet. Three streams:
        zipf      the Zipf stream into empty trees (inserts + compressions, as in a bin)
        warm      the same stream again into the filled trees
        existing  only packets whose leaf is already in the tree (pure fast path)
      --packets N          packets (default 4000000)
      --seed S             traffic seed (default 1)
      --rounds R           timed repetitions, best is reported (default 3)
      --sets LIST          feature sets of the per-set table (default all 11)
      --no-all11           skip the all-11-sets-per-packet measurement
      Also reports the compress stall: the longest single add() (it includes the
      compression an insertion triggers) on the zipf stream, timed in a separate pass.
common options:
  --prefixes FILE      announced prefixes, one "prefix/len" a line (default
                       <source>/build/flowtree-prefixes.txt, created on first use with
                       scripts/gen-zipf-traffic.py from python3-pyasn's tables)
  --json               print one JSON object instead of tables
  -h, --help
)";

struct Options {
  std::string cmd;
  uint64_t packets = 0;
  uint64_t seed = 1;
  std::vector<uint32_t> budgets{1000, 5000, 10000, 20000, 40000};
  std::vector<uint32_t> pcap_budgets{64, 256, 1000};
  std::vector<ft::FeatureSet> sets{ft::FeatureSet::SI, ft::FeatureSet::DI, ft::FeatureSet::SIDI};
  bool sets_given = false;
  bool all11 = true;
  ft::FlowtreeConfig::Compress compress = ft::FlowtreeConfig{}.compress_mode;
  double phi = 0.0001;
  double p = 0.3;                   // FlowtreeConfig::p
  double compress_fraction = 0.75;  // FlowtreeConfig::compress_fraction
  double inner_share = ft::FlowtreeConfig{}.threshold_inner_share;
  size_t k = 1000;
  bool pcaps = true;
  int rounds = 3;
  std::string prefixes = HAYSTACK_SOURCE_DIR "/build/flowtree-prefixes.txt";
  bool json = false;
  bool help = false;
};

using bench::to_u64;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(sep, b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  o.cmd = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string s = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(s + ": missing value");
      return argv[++i];
    };
    if (s == "-h" || s == "--help") {
      o.help = true;
    } else if (s == "--json") {
      o.json = true;
    } else if (s == "--no-all11") {
      o.all11 = false;
    } else if (s == "--no-pcaps") {
      o.pcaps = false;
    } else if (s == "--packets") {
      o.packets = to_u64(s, val(), 1000, 1ull << 30);
    } else if (s == "--seed") {
      o.seed = to_u64(s, val(), 0, ~0ull);
    } else if (s == "--rounds") {
      o.rounds = int(to_u64(s, val(), 1, 100));
    } else if (s == "--k") {
      o.k = to_u64(s, val(), 1, 1000000);
    } else if (s == "--phi") {
      const std::string v = val();
      char* end = nullptr;
      o.phi = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || !(o.phi > 0 && o.phi < 1))
        throw std::invalid_argument("--phi: in (0, 1)");
    } else if (s == "--inner-share") {
      o.inner_share = std::strtod(val().c_str(), nullptr);
    } else if (s == "--p" || s == "--compress-fraction") {
      const std::string v = val();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || !(x >= 0 && x <= 1))
        throw std::invalid_argument(s + ": in [0, 1]");
      (s == "--p" ? o.p : o.compress_fraction) = x;
    } else if (s == "--budgets" || s == "--pcap-budgets") {
      std::vector<uint32_t> b;
      for (const auto& x : split(val(), ','))
        b.push_back(uint32_t(to_u64(s, x, ft::Flowtree::kMinBudget, 1u << 26)));
      if (b.empty()) throw std::invalid_argument(s + ": empty list");
      (s == "--budgets" ? o.budgets : o.pcap_budgets) = b;
    } else if (s == "--compress") {
      const std::string v = val();
      if (v == "threshold") o.compress = ft::FlowtreeConfig::Compress::kThreshold;
      else if (v == "aggregate") o.compress = ft::FlowtreeConfig::Compress::kAggregate;
      else if (v == "parent") o.compress = ft::FlowtreeConfig::Compress::kParent;
      else throw std::invalid_argument("--compress: threshold, aggregate or parent");
    } else if (s == "--sets") {
      o.sets_given = true;
      o.sets.clear();
      for (const auto& x : split(val(), ',')) {
        auto fs = ft::parse_feature_set(x);
        if (!fs) throw std::invalid_argument("--sets: unknown feature set '" + x + "'");
        o.sets.push_back(*fs);
      }
    } else if (s == "--prefixes") {
      o.prefixes = val();
    } else {
      throw std::invalid_argument(fmt::format("unknown argument '{}' (see {} --help)", s, o.cmd));
    }
  }
  if (o.packets == 0) o.packets = o.cmd == "flowtree-speed" ? 4'000'000 : 5'000'000;
  return o;
}

// ---------------------------------------------------------------------------------------
// Deterministic synthetic traffic.

struct Rng {  // splitmix64: the same stream for a seed on every platform
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  uint64_t below(uint64_t n) { return uint64_t(uniform() * double(n)) % n; }
};

// Zipf(alpha) over ranks 0..n-1 by inverse CDF (binary search).
class Zipf {
 public:
  Zipf(size_t n, double alpha) : cdf_(n) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = s += std::pow(double(i + 1), -alpha);
  }
  size_t operator()(Rng& r) const {
    const double u = r.uniform() * cdf_.back();
    return std::min(size_t(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()),
                    cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

struct Prefix {
  IpAddr base;
  int len = 0;  // bits of the address proper (v4: 0..32)
};

struct Packet {  // what the trees need from one packet
  IpAddr src;
  IpAddr dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;
  uint16_t len = 0;
};

struct TrafficConfig {
  uint64_t packets = 5'000'000;
  uint64_t seed = 1;
  size_t prefixes_v4 = 20000;  // chosen from the table, /8../24
  size_t prefixes_v6 = 2000;   // chosen from the table, /19../48
  double v6_share = 0.1;       // share of flows that are IPv6
  size_t hosts_v4 = 400000;    // per pool (sources, destinations)
  size_t hosts_v6 = 40000;
  size_t flows = 0;           // 0: packets / 5
  double alpha_flow = 1.0;    // packets per flow
  double alpha_host = 1.0;    // flows per host
  double alpha_prefix = 1.0;  // hosts per prefix
};

std::string ensure_prefix_file(const std::string& path) {
  if (std::filesystem::exists(path)) return path;
  const std::string cmd = fmt::format("python3 '{}/scripts/gen-zipf-traffic.py' --out '{}' >&2",
                                      HAYSTACK_SOURCE_DIR, path);
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(path)) {
    throw std::runtime_error("no prefix list " + path + " (apt-get install python3-pyasn; " + cmd +
                             ")");
  }
  return path;
}

void load_prefixes(const std::string& path, std::vector<Prefix>& v4, std::vector<Prefix>& v6) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string addr = line.substr(0, slash);
    const int len = std::atoi(line.c_str() + slash + 1);
    uint8_t b[16];
    if (addr.find(':') == std::string::npos) {
      if (inet_pton(AF_INET, addr.c_str(), b) == 1 && len >= 8 && len <= 24)
        v4.push_back({IpAddr::from_v4(b), len});
    } else if (inet_pton(AF_INET6, addr.c_str(), b) == 1 && len >= 19 && len <= 48) {
      v6.push_back({IpAddr::from_v6(b), len});
    }
  }
  if (v4.empty()) throw std::runtime_error(path + ": no IPv4 prefixes");
}

// n distinct prefixes of the table in a seed-determined order (partial Fisher-Yates).
std::vector<Prefix> choose(std::vector<Prefix> all, size_t n, Rng& r) {
  n = std::min(n, all.size());
  for (size_t i = 0; i < n; ++i) std::swap(all[i], all[i + r.below(all.size() - i)]);
  all.resize(n);
  return all;
}

// A host inside a Zipf-popular prefix, host bits random.
IpAddr place_host(const Prefix& p, bool v6, Rng& r) {
  IpAddr a = p.base;
  const int first = v6 ? 0 : 12, bits = v6 ? 128 : 32;
  for (int bit = p.len; bit < bits; ++bit) {
    const int byte = first + bit / 8, sh = 7 - bit % 8;
    a.b[size_t(byte)] = uint8_t((a.b[size_t(byte)] & ~(1u << sh)) | ((r.next() & 1u) << sh));
  }
  return a;
}

struct Traffic {
  std::vector<Packet> packets;
  size_t flows = 0;
  size_t prefixes_v4 = 0, prefixes_v6 = 0, table_v4 = 0, table_v6 = 0;
  TrafficConfig cfg;
};

Traffic generate(const TrafficConfig& cfg, const std::string& prefix_file) {
  Traffic t;
  t.cfg = cfg;
  std::vector<Prefix> all4, all6;
  load_prefixes(prefix_file, all4, all6);
  t.table_v4 = all4.size();
  t.table_v6 = all6.size();
  Rng r{cfg.seed * 0x2545f4914f6cdd1dull + 7};
  const std::vector<Prefix> p4 = choose(std::move(all4), cfg.prefixes_v4, r);
  const std::vector<Prefix> p6 = choose(std::move(all6), cfg.prefixes_v6, r);
  t.prefixes_v4 = p4.size();
  t.prefixes_v6 = p6.size();
  const bool have6 = !p6.empty() && cfg.v6_share > 0;

  // Host pools: [family][0 = sources, 1 = destinations].
  std::vector<IpAddr> pool[2][2];
  for (int fam = 0; fam < (have6 ? 2 : 1); ++fam) {
    const auto& ps = fam ? p6 : p4;
    const Zipf zp(ps.size(), cfg.alpha_prefix);
    for (auto& pl : pool[fam]) {
      pl.resize(fam ? cfg.hosts_v6 : cfg.hosts_v4);
      for (auto& h : pl) h = place_host(ps[zp(r)], fam == 1, r);
    }
  }
  const Zipf zh4(cfg.hosts_v4, cfg.alpha_host),
      zh6(std::max<size_t>(cfg.hosts_v6, 1), cfg.alpha_host);

  // Service ports: a web-heavy mix; the other side is ephemeral.
  struct Svc {
    uint16_t port;
    int weight;
    uint8_t proto;  // 0: TCP, or UDP for 1 in 5 (QUIC) / all (17)
  };
  static constexpr Svc kSvc[] = {{443, 40, 0},
                                 {80, 15, 6},
                                 {53, 8, 17},
                                 {123, 2, 17},
                                 {22, 3, 6},
                                 {25, 2, 6},
                                 {993, 2, 6},
                                 {8080, 3, 6},
                                 {3478, 2, 17},
                                 {5222, 1, 6},
                                 {0, 12, 6} /* random registered port */,
                                 {1, 10, 17} /* random high, UDP/TCP */};
  int wsum = 0;
  for (const auto& s : kSvc) wsum += s.weight;

  t.flows = cfg.flows ? cfg.flows : std::max<size_t>(1000, cfg.packets / 5);
  std::vector<Packet> flow(t.flows);
  for (auto& f : flow) {
    const bool v6 = have6 && r.uniform() < cfg.v6_share;
    const auto& zh = v6 ? zh6 : zh4;
    f.src = pool[v6][0][zh(r)];
    f.dst = pool[v6][1][zh(r)];
    int w = int(r.below(uint64_t(wsum)));
    const Svc* s = kSvc;
    while (w >= s->weight) w -= (s++)->weight;
    uint16_t svc = s->port;
    f.proto = s->proto ? s->proto : (r.uniform() < 0.2 ? 17 : 6);
    if (svc == 0) svc = uint16_t(1024 + r.below(49151 - 1024));
    if (svc == 1) {
      svc = uint16_t(49152 + r.below(65536 - 49152));
      f.proto = r.uniform() < 0.5 ? 17 : 6;
    }
    const uint16_t eph = uint16_t(32768 + r.below(61000 - 32768));
    if (r.uniform() < 0.5) {  // client -> server
      f.sport = eph;
      f.dport = svc;
    } else {
      f.sport = svc;
      f.dport = eph;
    }
  }
  const Zipf zf(t.flows, cfg.alpha_flow);
  t.packets.resize(cfg.packets);
  for (auto& p : t.packets) {
    p = flow[zf(r)];
    const double u = r.uniform();
    p.len = uint16_t(u < 0.45 ? 64 + r.below(40) : u < 0.6 ? 576 : 1500);
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// Exact counting.

struct KeyHash {
  size_t operator()(const ft::FlowKey& k) const { return size_t(ft::Flowtree::hash(k)); }
};
template <class V>
using KeyMap = std::unordered_map<ft::FlowKey, V, KeyHash>;
using KeySet = std::unordered_set<ft::FlowKey, KeyHash>;

ft::FlowKey leaf_of(const ft::Hierarchy& h, const Packet& p) {
  return h.leaf(p.src, p.dst, p.sport, p.dport, p.proto);
}

struct Truth {
  int64_t total = 0;
  size_t leaves = 0;                                 // distinct leaf keys of the feature set
  size_t hierarchy_nodes = 0;                        // nodes of the exact (full) hierarchy
  std::vector<std::pair<ft::FlowKey, int64_t>> top;  // top-k leaves, count desc
  int64_t kth = 0;                                   // count of the k-th leaf
  KeyMap<int64_t> hhh;                               // exact HHH with their counts
  KeyMap<int64_t> lookup;                            // true counts of requested keys
};

// Level by level from the leaves to the root, holding two levels at a time. At each
// level: every node's count and its discounted count (leaf: its count; inner node: the
// discounted counts of its non-HHH children) — the library's hhh() definition applied to
// the complete hierarchy. `want` are keys whose true count is recorded in lookup.
Truth exact(const ft::Hierarchy& h, const KeyMap<int64_t>& leaves, int64_t total, size_t k,
            double phi, const KeySet& want) {
  Truth t;
  t.total = total;
  t.leaves = leaves.size();
  const int64_t thr = std::max<int64_t>(1, int64_t(std::ceil(phi * double(total))));
  std::vector<std::pair<ft::FlowKey, int64_t>> v(leaves.begin(), leaves.end());
  auto by_count = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second
                                : std::memcmp(&a.first, &b.first, sizeof a.first) < 0;
  };
  const size_t kk = std::min(k, v.size());
  std::partial_sort(v.begin(), v.begin() + long(kk), v.end(), by_count);
  t.top.assign(v.begin(), v.begin() + long(kk));
  t.kth = kk ? t.top.back().second : 0;
  v.clear();
  v.shrink_to_fit();

  struct CD {
    int64_t count = 0, disc = 0;
  };
  KeyMap<CD> cur;
  cur.reserve(leaves.size());
  for (const auto& [key, c] : leaves) cur[key] = {c, c};
  for (int d = 0;; ++d) {
    t.hierarchy_nodes += cur.size();
    KeyMap<CD> up;
    if (d < h.root_depth()) up.reserve(cur.size());
    for (const auto& [key, cd] : cur) {
      const bool is_hhh = cd.disc >= thr;
      if (is_hhh) t.hhh[key] = cd.count;
      if (want.count(key)) t.lookup[key] = cd.count;
      if (d < h.root_depth()) {
        CD& p = up[h.parent(key)];
        p.count += cd.count;
        p.disc += is_hhh ? 0 : cd.disc;
      }
    }
    if (d >= h.root_depth()) break;
    cur = std::move(up);
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// Metrics.

struct Dist {
  double median = 0, p90 = 0, mean = 0;
  size_t n = 0;
};
Dist dist(std::vector<double> v) {
  Dist d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  auto q = [&](double f) {
    return v[std::min(v.size() - 1, size_t(f * double(v.size() - 1) + 0.5))];
  };
  d.median = q(0.5);
  d.p90 = q(0.9);
  double s = 0;
  for (double x : v) s += x;
  d.mean = s / double(v.size());
  return d;
}
json to_json(const Dist& d) {
  return {{"median", d.median}, {"p90", d.p90}, {"mean", d.mean}, {"n", d.n}};
}

double f1(size_t tp, size_t reported, size_t truth) {
  if (reported == 0 && truth == 0) return 1.0;
  const double p = reported ? double(tp) / double(reported) : 0,
               r = truth ? double(tp) / double(truth) : 0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

struct Built {
  uint32_t budget;
  ft::Flowtree tree;
  double seconds;
  std::vector<ft::Ranked> top, hh;
};

// Accuracy of one feature set over one packet stream for every budget.
json accuracy(ft::FeatureSet fs, const std::vector<Packet>& pk,
              const std::vector<uint32_t>& budgets, size_t k, double phi, size_t five_tuples,
              const Options& o) {
  const ft::Hierarchy h(fs);
  KeyMap<int64_t> leaves;
  for (const auto& p : pk) ++leaves[leaf_of(h, p)];

  std::vector<Built> built;
  KeySet want;
  for (uint32_t b : budgets) {
    ft::FlowtreeConfig cfg;
    cfg.feature_set = fs;
    cfg.budget = b;
    cfg.p = o.p;
    cfg.compress_fraction = o.compress_fraction;
    cfg.compress_mode = o.compress;
    cfg.threshold_inner_share = o.inner_share;
    Built x{b, ft::Flowtree(cfg), 0, {}, {}};
    const auto t0 = Clock::now();
    for (const auto& p : pk) x.tree.add(leaf_of(h, p), ft::Counters{1, p.len, 0});
    x.tree.stats();
    x.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    x.top = ft::top_k(x.tree, k, ft::Metric::kPackets, 0);
    x.hh = ft::hhh(x.tree, phi, ft::Metric::kPackets);
    for (const auto& r : x.top) want.insert(r.key);
    for (const auto& r : x.hh) want.insert(r.key);
    built.push_back(std::move(x));
  }
  const Truth tr = exact(h, leaves, int64_t(pk.size()), k, phi, want);

  json rows = json::array();
  for (auto& x : built) {
    // Top-k: a reported leaf is a hit when its true count reaches the k-th largest
    // (ties at the boundary all count as top-k).
    size_t hits = 0;
    std::vector<double> re_top, re_hhh, re_truth;
    for (const auto& r : x.top) {
      const auto it = leaves.find(r.key);
      const int64_t tc = it == leaves.end() ? 0 : it->second;
      if (tc >= tr.kth && tc > 0) ++hits;
      const int64_t est = x.tree.pop(r.node).packets;
      if (tc > 0) re_top.push_back(std::abs(double(est - tc)) / double(tc));
    }
    const size_t truth_k = tr.top.size();
    const double f1_top = f1(std::min(hits, truth_k), x.top.size(), truth_k);
    // Estimates for the true top-k (query(): exact for nodes, else nearest-ancestor estimate).
    size_t present =
        0;  // the dissertation's Table 4.4 reading: true top-k leaves that are tree nodes
    for (const auto& [key, tc] : tr.top) {
      if (x.tree.find(key) != ft::Flowtree::kNone) ++present;
      const auto q = ft::query(x.tree, key);
      re_truth.push_back(std::abs(double(q.estimate.packets - tc)) / double(tc));
    }
    size_t hhh_tp = 0;
    for (const auto& r : x.hh) {
      if (tr.hhh.count(r.key)) ++hhh_tp;
      const auto it = tr.lookup.find(r.key);
      const int64_t tc = it == tr.lookup.end() ? 0 : it->second;
      if (tc > 0) re_hhh.push_back(std::abs(double(x.tree.pop(r.node).packets - tc)) / double(tc));
    }
    json row = {{"budget", x.budget},
                {"nodes", x.tree.size()},
                {"build_s", x.seconds},
                {"build_mupd_s", double(pk.size()) / x.seconds / 1e6},
                {"topk",
                 {{"reported", x.top.size()},
                  {"truth", truth_k},
                  {"hits", hits},
                  {"f1", f1_top},
                  {"present", present},
                  {"present_share", truth_k ? double(present) / double(truth_k) : 1.0}}},
                {"hhh",
                 {{"reported", x.hh.size()},
                  {"truth", tr.hhh.size()},
                  {"tp", hhh_tp},
                  {"f1", f1(hhh_tp, x.hh.size(), tr.hhh.size())}}},
                {"are_topk_reported", to_json(dist(re_top))},
                {"are_topk_truth_query", to_json(dist(re_truth))},
                {"are_hhh_reported", to_json(dist(re_hhh))},
                {"space_saving_vs_flows",
                 1.0 - double(x.tree.size()) / double(std::max<size_t>(five_tuples, 1))},
                {"space_saving_vs_hierarchy",
                 1.0 - double(x.tree.size()) / double(std::max<size_t>(tr.hierarchy_nodes, 1))}};
    rows.push_back(std::move(row));
  }
  return {{"feature_set", std::string(ft::feature_set_name(fs))},
          {"packets", pk.size()},
          {"flows", five_tuples},
          {"leaves", tr.leaves},
          {"hierarchy_nodes", tr.hierarchy_nodes},
          {"kth_count", tr.kth},
          {"hhh_threshold", std::max<int64_t>(1, int64_t(std::ceil(phi * double(pk.size()))))},
          {"hhh_truth", tr.hhh.size()},
          {"budgets", rows}};
}

size_t distinct_flows(const std::vector<Packet>& pk) {
  const ft::Hierarchy full(ft::FeatureSet::FULL, true);
  KeySet s;
  s.reserve(pk.size() / 4);
  for (const auto& p : pk) s.insert(leaf_of(full, p));
  return s.size();
}

void print_accuracy_set(const json& s) {
  fmt::print(
      "\n{}: {} packets, {} flows, {} leaves, {} nodes in the full hierarchy, k-th count {}, "
      "HHH threshold {} -> {} exact HHH\n",
      s["feature_set"].get<std::string>(), s["packets"].get<uint64_t>(), s["flows"].get<uint64_t>(),
      s["leaves"].get<uint64_t>(), s["hierarchy_nodes"].get<uint64_t>(),
      s["kth_count"].get<int64_t>(), s["hhh_threshold"].get<int64_t>(),
      s["hhh_truth"].get<uint64_t>());
  fmt::print(
      "{:>7} {:>6} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7}\n",
      "budget", "nodes", "F1 top", "in tree", "F1 HHH", "RE top50", "RE top90", "REq top50",
      "REq top90", "RE hhh50", "RE hhh90", "SS flow", "SS hier", "Mupd/s");
  for (const auto& b : s["budgets"]) {
    fmt::print(
        "{:>7} {:>6} {:>7.3f} {:>7.3f} {:>8.3f} {:>9.2e} {:>9.2e} {:>9.2e} {:>9.2e} {:>9.2e} "
        "{:>9.2e} {:>8.4f} {:>8.4f} "
        "{:>7.2f}\n",
        b["budget"].get<uint32_t>(), b["nodes"].get<uint32_t>(), b["topk"]["f1"].get<double>(),
        b["topk"]["present_share"].get<double>(), b["hhh"]["f1"].get<double>(),
        b["are_topk_reported"]["median"].get<double>(), b["are_topk_reported"]["p90"].get<double>(),
        b["are_topk_truth_query"]["median"].get<double>(),
        b["are_topk_truth_query"]["p90"].get<double>(),
        b["are_hhh_reported"]["median"].get<double>(), b["are_hhh_reported"]["p90"].get<double>(),
        b["space_saving_vs_flows"].get<double>(), b["space_saving_vs_hierarchy"].get<double>(),
        b["build_mupd_s"].get<double>());
  }
}

std::vector<std::string> capture_files() {
  std::vector<std::string> out;
  for (const std::string& dir : {std::string(HAYSTACK_SOURCE_DIR "/tests/data/pcaps"),
                                 std::string(HAYSTACK_SOURCE_DIR "/../shared/data/pcaps/ndpi"),
                                 std::string(HAYSTACK_SOURCE_DIR "/../shared/data/pcaps/tcpdump")}) {
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      const bool dup = std::any_of(out.begin(), out.end(), [&](const std::string& f) {
        return std::filesystem::path(f).filename() == name;
      });
      if (e.path().extension() == ".pcap" && !dup) v.push_back(e.path().string());
    }
    std::sort(v.begin(), v.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<Packet> read_capture(const std::string& path) {
  std::vector<Packet> out;
  const PcapContents c = read_pcap(path);
  if (c.link != LinkType::kEthernet) return out;
  for (const auto& f : c.packets) {
    ParsedPacket pp;
    if (parse_packet(f.data.data(), f.data.size(), pp, c.link) != ParseError::kOk ||
        pp.l3 == L3::kNone)
      continue;
    out.push_back({pp.src, pp.dst, pp.sport, pp.dport, pp.proto,
                   uint16_t(std::min<uint32_t>(f.wire_len, 65535))});
  }
  return out;
}

json run_accuracy(const Options& o) {
  TrafficConfig tc;
  tc.packets = o.packets;
  tc.seed = o.seed;
  const auto g0 = Clock::now();
  const Traffic tf = generate(tc, ensure_prefix_file(o.prefixes));
  const double gen_s = std::chrono::duration<double>(Clock::now() - g0).count();
  const size_t flows = distinct_flows(tf.packets);
  json r = {{"command", "flowtree-accuracy"},
            {"phi", o.phi},
            {"p", o.p},
            {"compress_fraction", o.compress_fraction},
            {"compress_mode", int(o.compress)},
            {"k", o.k},
            {"synthetic",
             {{"packets", tf.packets.size()},
              {"seed", o.seed},
              {"flow_records", tf.flows},
              {"distinct_flows", flows},
              {"prefixes_v4", tf.prefixes_v4},
              {"prefixes_v6", tf.prefixes_v6},
              {"table_v4", tf.table_v4},
              {"table_v6", tf.table_v6},
              {"generate_s", gen_s},
              {"sets", json::array()}}}};
  if (!o.json) {
    fmt::print(
        "synthetic: {} packets (seed {}), {} distinct 5-tuples, {} + {} prefixes of {} + {} "
        "announced; "
        "generated in {:.1f} s\n",
        tf.packets.size(), o.seed, flows, tf.prefixes_v4, tf.prefixes_v6, tf.table_v4, tf.table_v6,
        gen_s);
    fmt::print(
        "RE = |pop - true| / true of the reported nodes (top: top-k leaves, hhh: HHH nodes; "
        "50/90 = median/p90); REq = query() estimate of the true top-k; SS = space saving\n");
  }
  for (auto fs : o.sets) {
    json s = accuracy(fs, tf.packets, o.budgets, o.k, o.phi, flows, o);
    if (!o.json) print_accuracy_set(s);
    std::fflush(stdout);
    r["synthetic"]["sets"].push_back(std::move(s));
  }
  if (o.pcaps) {
    json caps = json::array();
    std::vector<Packet> all;
    if (!o.json) {
      fmt::print("\ncaptures (budgets {}): F1 top-{} / F1 HHH / median RE top, per budget\n",
                 fmt::join(o.pcap_budgets, ","), o.k);
    }
    auto one = [&](const std::string& name, const std::vector<Packet>& pk) {
      json c = {{"pcap", name}, {"packets", pk.size()}, {"sets", json::array()}};
      const size_t fl = distinct_flows(pk);
      for (auto fs : {ft::FeatureSet::SI, ft::FeatureSet::DI, ft::FeatureSet::SIDI}) {
        json s = accuracy(fs, pk, o.pcap_budgets, o.k, o.phi, fl, o);
        if (!o.json) {
          std::string cells;
          for (const auto& b : s["budgets"]) {
            cells += fmt::format(" {:.3f}/{:.3f}/{:.1e}", b["topk"]["f1"].get<double>(),
                                 b["hhh"]["f1"].get<double>(),
                                 b["are_topk_reported"]["median"].get<double>());
          }
          fmt::print("  {:<34} {:>6} pkts {:>5} leaves {:<4}{}\n", name, pk.size(),
                     s["leaves"].get<uint64_t>(), s["feature_set"].get<std::string>(), cells);
        }
        c["sets"].push_back(std::move(s));
      }
      caps.push_back(std::move(c));
    };
    for (const auto& f : capture_files()) {
      std::vector<Packet> pk;
      try {
        pk = read_capture(f);
      } catch (const std::exception& e) {
        if (!o.json)
          fmt::print("  {:<34} skipped: {}\n", std::filesystem::path(f).filename().string(),
                     e.what());
        continue;
      }
      if (pk.empty()) continue;
      all.insert(all.end(), pk.begin(), pk.end());
      one(std::filesystem::path(f).filename().string(), pk);
    }
    if (!all.empty()) one("ALL captures concatenated", all);
    r["captures"] = caps;
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Speed.

double tsc_hz() {
  const auto t0 = Clock::now();
  const uint64_t c0 = __rdtsc();
  while (Clock::now() - t0 < std::chrono::milliseconds(200)) {
  }
  const uint64_t c1 = __rdtsc();
  return double(c1 - c0) / std::chrono::duration<double>(Clock::now() - t0).count();
}

volatile uint64_t g_sink;

json run_speed(const Options& o) {
  TrafficConfig tc;
  tc.packets = o.packets;
  tc.seed = o.seed;
  const Traffic tf = generate(tc, ensure_prefix_file(o.prefixes));
  const auto& pk = tf.packets;
  const double hz = tsc_hz();
  json r = {
      {"command", "flowtree-speed"}, {"packets", pk.size()}, {"seed", o.seed}, {"tsc_hz", hz}};
  if (!o.json) {
    fmt::print(
        "{} packets of synthetic Zipf traffic in memory (seed {}), TSC {:.3f} GHz, best of {} "
        "rounds\n",
        pk.size(), o.seed, hz / 1e9, o.rounds);
    fmt::print("{:<5} {:>6} {:>7}  {:>10} {:>8}  {:>10} {:>8}  {:>10} {:>8} {:>6} {:>9}\n", "set",
               "budget", "nodes", "zipf Mu/s", "cyc/upd", "warm Mu/s", "cyc/upd", "exist Mu/s",
               "cyc/upd", "share", "stall us");
  }
  auto timed = [&](auto&& body) {  // returns TSC cycles of the best round
    uint64_t best = ~0ull;
    for (int i = 0; i < o.rounds; ++i) {
      const uint64_t c0 = __rdtsc();
      body(i);
      best = std::min<uint64_t>(best, __rdtsc() - c0);
    }
    return best;
  };
  auto mups = [&](uint64_t cycles, size_t n) { return double(n) / (double(cycles) / hz) / 1e6; };

  json sets = json::array();
  std::vector<ft::Flowtree> warm_trees;
  std::vector<ft::FeatureSet> all;
  for (int i = 0; i < ft::kFeatureSetCount; ++i) all.push_back(ft::FeatureSet(i));
  for (auto fs : o.sets_given ? o.sets : all) {
    const ft::Hierarchy h(fs);
    ft::FlowtreeConfig cfg;
    cfg.feature_set = fs;
    cfg.compress_mode = o.compress;
    std::vector<ft::Flowtree> trees;
    // zipf: every round starts from an empty tree (constructed outside the timing).
    uint64_t c_zipf = ~0ull;
    for (int i = 0; i < o.rounds; ++i) {
      trees.clear();
      trees.emplace_back(cfg);
      ft::Flowtree& t0 = trees.back();
      const uint64_t c0 = __rdtsc();
      for (const auto& p : pk) t0.add(leaf_of(h, p), ft::Counters{1, p.len, 0});
      c_zipf = std::min<uint64_t>(c_zipf, __rdtsc() - c0);
    }
    ft::Flowtree& t = trees.back();
    const uint64_t c_warm = timed([&](int) {
      for (const auto& p : pk) t.add(leaf_of(h, p), ft::Counters{1, p.len, 0});
    });
    std::vector<Packet> hit;
    for (const auto& p : pk) {
      if (t.find(leaf_of(h, p)) != ft::Flowtree::kNone) hit.push_back(p);
    }
    const uint64_t c_hit = timed([&](int) {
      for (const auto& p : hit) t.add(leaf_of(h, p), ft::Counters{1, p.len, 0});
    });
    g_sink = g_sink + t.size();
    // Stall: every add() of the zipf stream timed on its own (separate, untimed pass).
    uint64_t stall = 0, slow = 0;
    {
      ft::Flowtree st(cfg);
      for (const auto& p : pk) {
        const ft::FlowKey k = leaf_of(h, p);
        const uint64_t c0 = __rdtsc();
        st.add(k, ft::Counters{1, p.len, 0});
        const uint64_t dc = __rdtsc() - c0;
        stall = std::max(stall, dc);
        slow += dc > uint64_t(hz / 1e4);  // > 100 us
      }
      g_sink = g_sink + st.size();
    }
    const double share = double(hit.size()) / double(pk.size());
    json s = {
        {"feature_set", std::string(ft::feature_set_name(fs))},
        {"budget", t.budget()},
        {"nodes", t.size()},
        {"zipf_mupd_s", mups(c_zipf, pk.size())},
        {"zipf_cycles_per_update", double(c_zipf) / double(pk.size())},
        {"warm_mupd_s", mups(c_warm, pk.size())},
        {"warm_cycles_per_update", double(c_warm) / double(pk.size())},
        {"existing_mupd_s", hit.empty() ? 0.0 : mups(c_hit, hit.size())},
        {"existing_cycles_per_update", hit.empty() ? 0.0 : double(c_hit) / double(hit.size())},
        {"existing_share", share},
        {"max_add_us", double(stall) / hz * 1e6},
        {"adds_over_100us", slow}};
    if (!o.json) {
      fmt::print(
          "{:<5} {:>6} {:>7}  {:>10.2f} {:>8.1f}  {:>10.2f} {:>8.1f}  {:>10.2f} {:>8.1f} "
          "{:>6.3f} {:>9.0f}\n",
          s["feature_set"].get<std::string>(), t.budget(), t.size(), s["zipf_mupd_s"].get<double>(),
          s["zipf_cycles_per_update"].get<double>(), s["warm_mupd_s"].get<double>(),
          s["warm_cycles_per_update"].get<double>(), s["existing_mupd_s"].get<double>(),
          s["existing_cycles_per_update"].get<double>(), share, s["max_add_us"].get<double>());
      std::fflush(stdout);
    }
    sets.push_back(std::move(s));
  }
  r["sets"] = sets;
  if (!o.all11) return r;

  // All 11 trees per packet, as a worker does for each sampled packet.
  std::vector<ft::Hierarchy> hs;
  std::vector<ft::FlowtreeConfig> cfgs;
  for (auto fs : all) {
    hs.emplace_back(fs);
    ft::FlowtreeConfig c;
    c.feature_set = fs;
    c.compress_mode = o.compress;
    cfgs.push_back(c);
  }
  std::vector<ft::Flowtree> trees;
  auto feed = [&](const std::vector<Packet>& v) {
    for (const auto& p : v) {
      const ft::Counters c{1, p.len, 0};
      for (size_t i = 0; i < trees.size(); ++i) trees[i].add(leaf_of(hs[i], p), c);
    }
  };
  const uint64_t c_zipf = timed([&](int) {
    trees.clear();
    for (const auto& c : cfgs) trees.emplace_back(c);
    feed(pk);
  });
  const uint64_t c_warm = timed([&](int) { feed(pk); });
  std::vector<Packet> hit;
  for (const auto& p : pk) {
    bool all_in = true;
    for (size_t i = 0; i < trees.size() && all_in; ++i)
      all_in = trees[i].find(leaf_of(hs[i], p)) != ft::Flowtree::kNone;
    if (all_in) hit.push_back(p);
  }
  const uint64_t c_hit = timed([&](int) { feed(hit); });
  // zipf includes constructing the 11 empty trees; measure that separately and subtract.
  const uint64_t c_ctor = timed([&](int) {
    std::vector<ft::Flowtree> tmp;
    for (const auto& c : cfgs) tmp.emplace_back(c);
    g_sink = g_sink + tmp.size();
  });
  const double zipf_cpp = double(c_zipf - std::min(c_zipf, c_ctor)) / double(pk.size());
  r["all11"] = {
      {"zipf_cycles_per_packet", zipf_cpp},
      {"zipf_mpps", hz / zipf_cpp / 1e6},
      {"warm_cycles_per_packet", double(c_warm) / double(pk.size())},
      {"warm_mpps", hz / (double(c_warm) / double(pk.size())) / 1e6},
      {"existing_cycles_per_packet", hit.empty() ? 0.0 : double(c_hit) / double(hit.size())},
      {"existing_share", double(hit.size()) / double(pk.size())}};
  if (!o.json) {
    const auto& a = r["all11"];
    fmt::print(
        "\nall 11 sets per packet: zipf {:.0f} cycles/pkt ({:.2f} Mpps), warm {:.0f} cycles/pkt "
        "({:.2f} Mpps), existing {:.0f} cycles/pkt (share {:.3f})\n",
        a["zipf_cycles_per_packet"].get<double>(), a["zipf_mpps"].get<double>(),
        a["warm_cycles_per_packet"].get<double>(), a["warm_mpps"].get<double>(),
        a["existing_cycles_per_packet"].get<double>(), a["existing_share"].get<double>());
  }
  return r;
}

}  // namespace

bool is_flowtree_subcommand(std::string_view cmd) {
  return cmd == "flowtree-accuracy" || cmd == "flowtree-speed";
}

int flowtree_main(int argc, char** argv) {
  return run_subcommand(argv[1], kUsage, [&] { return parse(argc, argv); }, [](const Options& o) {
    const json r = o.cmd == "flowtree-speed" ? run_speed(o) : run_accuracy(o);
    if (o.json) fmt::print("{}\n", r.dump(2));
    return 0;
  });
}

}  // namespace haystack::bench
