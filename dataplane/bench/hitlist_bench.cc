// haystack-bench hitlist-lookup: lookups per second and TSC cycles per lookup of a compiled
// HitlistTable on one core, single lookup() calls and lookup_burst() of 32, for queries
// that all hit, all miss, or hit 1 in 100, per address family. The bundle is synthetic
// (signatures/hitlist_synth.h), the queries are pre-generated in memory in random order.
// A benchmark: it reports numbers and asserts nothing about them.
#include "dataplane/bench/hitlist_bench.h"

#include "dataplane/bench/bench_args.h"

#include <rte_cycles.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "signatures/hitlist_synth.h"
#include "signatures/hitlist_table.h"

namespace haystack::bench {
namespace {

namespace hl = haystack::hitlist;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage:
  haystack-bench hitlist-lookup [options]
      HitlistTable lookups/s and TSC cycles/lookup on one core, without EAL. Builds a
      synthetic bundle (signatures/hitlist_synth.h: 25 % IPv6, addresses under 10.0.0.0/8
      and 2001:db8::/32), compiles it, then times lookup() one key at a time and
      lookup_burst() 32 keys at a time over pre-generated queries in random order, per
      family, for three query sets:
        hits     a uniformly random endpoint each (prefixes: random host bits; any
                 protocol/port: random TCP/UDP and port), so every query matches
        misses   uniformly random addresses outside the bundle's ranges (IPv4 outside
                 10/8, IPv6 in 2000::/3 outside 2001:db8::/32), checked to miss
        1% hits  each query a hit with probability 0.01, else a miss
      --entries N          endpoints in the bundle (default 1000000)
      --prefix-share F     share of endpoints that are prefixes (default 0.05)
      --queries Q          queries per set and family (default 4194304, rounded to 32)
      --rounds R           timed passes per measurement, the fastest is reported (default 3)
      --seed S             bundle and query seed (default 1)
      --json               print one JSON object instead of tables
      -h, --help
)";

constexpr size_t kBurst = 32;

struct Options {
  uint64_t entries = 1000000;
  double prefix_share = 0.05;
  uint64_t queries = 1u << 22;
  int rounds = 3;
  uint64_t seed = 1;
  bool json = false;
  bool help = false;
};

using bench::to_u64;

double to_fraction(const std::string& opt, const std::string& v) {
  size_t pos = 0;
  double x = -1;
  try {
    x = std::stod(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size() || !(x >= 0 && x <= 1)) {
    throw std::invalid_argument(fmt::format("{}: expected a number in [0, 1], got '{}'", opt, v));
  }
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
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
    } else if (s == "--entries") {
      o.entries = to_u64(s, val(), 1, 100000000);
    } else if (s == "--prefix-share") {
      o.prefix_share = to_fraction(s, val());
    } else if (s == "--queries") {
      o.queries = to_u64(s, val(), kBurst, 1ull << 28);
    } else if (s == "--rounds") {
      o.rounds = int(to_u64(s, val(), 1, 1000));
    } else if (s == "--seed") {
      o.seed = to_u64(s, val(), 0, ~0ull);
    } else {
      throw std::invalid_argument(fmt::format("unknown argument '{}' (see hitlist-lookup --help)", s));
    }
  }
  o.queries -= o.queries % kBurst;
  return o;
}

// ---------------------------------------------------------------------------------------
// Queries.

class QueryGen {
 public:
  QueryGen(const hl::Bundle& b, const hl::HitlistTable& t, bool v6, uint64_t seed)
      : b_(b), t_(t), v6_(v6), rng_(seed) {
    for (size_t i = 0; i < b.endpoints.size(); ++i) {
      if (b.endpoints[i].addr.v4 != v6) eps_.push_back(uint32_t(i));
    }
  }
  bool empty() const { return eps_.empty(); }

  hl::LookupKey hit() {
    for (;;) {
      const hl::Endpoint& e = b_.endpoints[eps_[rng_() % eps_.size()]];
      hl::LookupKey k;
      k.server = e.addr;
      const unsigned first_host_bit = (v6_ ? 0u : 96u) + e.prefix_len;
      const uint64_t r0 = rng_(), r1 = rng_();
      for (unsigned bit = first_host_bit; bit < 128; ++bit) {
        if (((bit < 64 ? r0 >> bit : r1 >> (bit - 64)) & 1) != 0)
          k.server.b[bit / 8] |= uint8_t(0x80u >> (bit % 8));
      }
      k.proto = e.proto != 0 ? e.proto : (rng_() & 1 ? 6 : 17);
      k.port = e.any_port ? uint16_t(1 + rng_() % 65535) : e.port;
      if (t_.lookup(k.server, k.proto, k.port) != nullptr) return k;
      ++rejected_;  // cannot happen for a correct table; counted, not hidden
    }
  }

  hl::LookupKey miss() {
    for (;;) {
      hl::LookupKey k;
      uint8_t raw[16];
      const uint64_t r0 = rng_(), r1 = rng_();
      for (int i = 0; i < 8; ++i) {
        raw[i] = uint8_t(r0 >> (8 * i));
        raw[8 + i] = uint8_t(r1 >> (8 * i));
      }
      if (v6_) {
        raw[0] = uint8_t(0x20 | (raw[0] & 0x1f));  // 2000::/3
        if (raw[0] == 0x20 && raw[1] == 0x01 && raw[2] == 0x0d && raw[3] == 0xb8) continue;
        k.server = IpAddr::from_v6(raw);
      } else {
        if (raw[0] == 10) continue;
        k.server = IpAddr::from_v4(raw);
      }
      k.proto = rng_() % 5 == 0 ? 17 : 6;
      k.port = rng_() % 4 == 0 ? uint16_t(1 + rng_() % 65535)
                               : hl::kSynthPorts[rng_() % std::size(hl::kSynthPorts)];
      if (t_.lookup(k.server, k.proto, k.port) == nullptr) return k;
    }
  }

  std::vector<hl::LookupKey> make(size_t n, double hit_share) {
    std::vector<hl::LookupKey> q(n);
    std::bernoulli_distribution coin(hit_share);
    for (auto& k : q) k = coin(rng_) ? hit() : miss();
    return q;
  }
  uint64_t rejected() const { return rejected_; }

 private:
  const hl::Bundle& b_;
  const hl::HitlistTable& t_;
  bool v6_;
  std::mt19937_64 rng_;
  std::vector<uint32_t> eps_;
  uint64_t rejected_ = 0;
};

// ---------------------------------------------------------------------------------------
// Timing.

volatile uint64_t g_sink;

struct Timing {
  uint64_t cycles = ~0ull;  // TSC cycles of the fastest pass
  double seconds = 0;       // wall time of that pass
  uint64_t hits = 0;
};

template <class Body>
Timing best_of(int rounds, Body&& body) {
  Timing best;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    const uint64_t c0 = rte_rdtsc_precise();
    const uint64_t hits = body();
    const uint64_t c = rte_rdtsc_precise() - c0;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    g_sink = g_sink + hits;
    if (c < best.cycles) best = {c, s, hits};
  }
  return best;
}

Timing time_single(const hl::HitlistTable& t, const std::vector<hl::LookupKey>& q, int rounds) {
  return best_of(rounds, [&] {
    uint64_t hits = 0;
    for (const auto& k : q) hits += t.lookup(k.server, k.proto, k.port) != nullptr;
    return hits;
  });
}

Timing time_burst(const hl::HitlistTable& t, const std::vector<hl::LookupKey>& q, int rounds) {
  return best_of(rounds, [&] {
    uint64_t hits = 0;
    const hl::Match* out[kBurst];
    for (size_t i = 0; i < q.size(); i += kBurst) {
      t.lookup_burst(&q[i], kBurst, out);
      for (size_t j = 0; j < kBurst; ++j) hits += out[j] != nullptr;
    }
    return hits;
  });
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string first_line(const char* path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line.empty() ? "unknown" : line;
}

json run(const Options& o, const std::string& cpu) {
  hl::SynthSpec spec;
  spec.endpoints = o.entries;
  spec.prefix_fraction = o.prefix_share;
  spec.seed = o.seed;
  const auto s0 = Clock::now();
  const hl::Bundle b = hl::synthetic_bundle(spec);
  const auto s1 = Clock::now();
  const auto table = hl::HitlistTable::compile(b);
  const auto s2 = Clock::now();
  const hl::HitlistTable& t = *table;
  const double synth_s = std::chrono::duration<double>(s1 - s0).count();
  const double compile_s = std::chrono::duration<double>(s2 - s1).count();
  size_t n_v6 = 0;
  for (const auto& e : b.endpoints) n_v6 += !e.addr.v4;

  json r = {{"command", "hitlist-lookup"},
            {"date", utc_now()},
            {"cpu", cpu},
            {"transparent_hugepage", first_line("/sys/kernel/mm/transparent_hugepage/enabled")},
            {"seed", o.seed},
            {"entries_requested", o.entries},
            {"prefix_share", o.prefix_share},
            {"endpoints", t.size()},
            {"ipv4_endpoints", b.endpoints.size() - n_v6},
            {"ipv6_endpoints", n_v6},
            {"host_entries", t.host_entries()},
            {"prefix_entries", t.prefix_entries()},
            {"memory_bytes", t.memory_bytes()},
            {"synth_seconds", synth_s},
            {"compile_seconds", compile_s},
            {"queries", o.queries},
            {"burst", kBurst},
            {"rounds", o.rounds}};
  if (!o.json) {
    fmt::print("hitlist-lookup  {}  CPU: {}\n", r["date"].get<std::string>(), cpu);
    fmt::print(
        "bundle: {} endpoints ({} IPv4, {} IPv6; {} hosts, {} prefixes), seed {}, built in "
        "{:.2f} s\n",
        t.size(), b.endpoints.size() - n_v6, n_v6, t.host_entries(), t.prefix_entries(), o.seed,
        synth_s);
    fmt::print("table: compiled in {:.1f} ms, {:.1f} MiB (memory_bytes {}), THP: {}\n",
               compile_s * 1e3, double(t.memory_bytes()) / (1 << 20), t.memory_bytes(),
               r["transparent_hugepage"].get<std::string>());
    fmt::print("{} queries per set in random order, fastest of {} passes\n\n", o.queries,
               o.rounds);
    fmt::print("{:<5} {:<8} {:>6}  {:>13} {:>9}  {:>13} {:>9}\n", "fam", "set", "hit %",
               "single Ml/s", "cyc/look", "burst32 Ml/s", "cyc/look");
  }

  struct Set {
    const char* name;
    double hit_share;
  };
  static constexpr Set kSets[] = {{"hits", 1.0}, {"misses", 0.0}, {"1% hits", 0.01}};
  json rows = json::array();
  uint64_t tsc_cycles = 0;
  double tsc_seconds = 0;
  uint64_t rejected = 0;
  for (bool v6 : {false, true}) {
    QueryGen gen(b, t, v6, o.seed * 1000003 + (v6 ? 2 : 1));
    if (gen.empty()) continue;
    for (const Set& set : kSets) {
      const std::vector<hl::LookupKey> q = gen.make(o.queries, set.hit_share);
      const Timing one = time_single(t, q, o.rounds);
      const Timing burst = time_burst(t, q, o.rounds);
      tsc_cycles += one.cycles + burst.cycles;
      tsc_seconds += one.seconds + burst.seconds;
      const double n = double(q.size());
      json row = {{"family", v6 ? "IPv6" : "IPv4"},
                  {"set", set.name},
                  {"hit_share", double(one.hits) / n},
                  {"single_lookups_per_s", n / one.seconds},
                  {"single_cycles_per_lookup", double(one.cycles) / n},
                  {"burst_lookups_per_s", n / burst.seconds},
                  {"burst_cycles_per_lookup", double(burst.cycles) / n}};
      if (!o.json) {
        fmt::print("{:<5} {:<8} {:>6.2f}  {:>13.2f} {:>9.1f}  {:>13.2f} {:>9.1f}\n",
                   row["family"].get<std::string>(), set.name, 100.0 * double(one.hits) / n,
                   n / one.seconds / 1e6, double(one.cycles) / n, n / burst.seconds / 1e6,
                   double(burst.cycles) / n);
        std::fflush(stdout);
      }
      rows.push_back(std::move(row));
    }
    rejected += gen.rejected();
  }
  // TSC rate over the timed passes themselves (cycles / wall time), no extra calibration.
  const double hz = tsc_seconds > 0 ? double(tsc_cycles) / tsc_seconds : 0;
  r["tsc_hz"] = hz;
  r["hit_queries_rejected"] = rejected;
  r["results"] = rows;
  if (!o.json) {
    fmt::print("\nTSC {:.3f} GHz (cycles / wall time of the timed passes)\n", hz / 1e9);
    if (rejected != 0) fmt::print("WARNING: {} hit queries did not match and were redrawn\n", rejected);
  }
  return r;
}

}  // namespace

bool is_hitlist_subcommand(std::string_view cmd) { return cmd == "hitlist-lookup"; }

int hitlist_main(int argc, char** argv, const std::string& cpu) {
  return run_subcommand(argv[1], kUsage, [&] { return parse(argc, argv); }, [&](const Options& o) {
    const json r = run(o, cpu);
    if (o.json) std::puts(r.dump(2).c_str());
    return 0;
  });
}

}  // namespace haystack::bench
