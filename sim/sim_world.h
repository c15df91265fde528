// ISP simulator model (docs/simulator.md): the device catalog, the synthetic DNS world
// consistent with a hitlist bundle, subscriber lines with their devices and address churn,
// and the detection rule used to label the ground truth. Pure C++, no DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "signatures/hitlist.h"

namespace haystack::sim {

// splitmix64: the only randomness; every draw is a pure function of (seed, what, ids), so
// a run does not depend on the order in which lines or hours are generated.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t hash(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) {
  return mix(mix(mix(mix(a) ^ b) ^ c) ^ d);
}
inline double unit(uint64_t h) {
  return double(h >> 11) * (1.0 / 9007199254740992.0);
}

struct SimConfig {
  uint64_t seed = 1;
  uint32_t lines = 1000;
  uint32_t hours = 72;                // simulated duration
  int64_t start_s = 1793491200;       // 2026-11-01T00:00:00Z (UTC midnight)
  double iot_fraction = 0.3;          // lines with IoT devices
  double nat_fraction = 0.3;          // of IoT lines: 2..4 devices behind one address
  double alexa3p_fraction = 0.05;     // of devices: Alexa-enabled third-party hardware
  double v6_fraction = 0.2;           // dual-stack lines (a /56 each)
  double reassign_fraction = 0.2;     // lines with a new IPv4 address and /56 every day
  double idle_device_fraction = 0.5;  // devices never in active use
  double active_prob = 0.25;          // per hour, for the other devices (times a diurnal curve)
  uint32_t burst_packets = 40;        // mean packets of an active-hour burst
  uint32_t packets_per_contact = 1;   // packets of one periodic contact (a connection), 20 ms apart
  double bg_pph = 4;                  // background packets per line per hour
  double bg_popular_fraction = 0.01;  // of background packets: popular web names on the hitlist
  uint32_t min_period = 60;           // catalog periods below this are raised to it (s)
  uint32_t generic_min_period = 3600;  // same for destinations not on the hitlist (volume only)
  double churn = 0.05;                 // per hitlist domain and day: moves to a new address
  double truth_d = 0.4;                // D for the `expected` labels in the ground truth
};

// One periodic destination of a catalog device (BehavIoT destination-party row).
struct Row {
  std::string domain;
  uint8_t proto = 6;    // 6 TCP, 17 UDP
  uint32_t period = 0;  // seconds, after min_period
  int party = 3;        // 1 first, 2 support, 3 third party
  int32_t hit = -1;     // DomainId in the bundle, or -1 (generic / not on the hitlist)
  bool ntp = false;
};

struct Model {
  std::string name;  // catalog file stem, or "alexa-3p"
  std::vector<Row> rows;
  bool alexa3p = false;
};

// Reads <dir>/*.csv (protocol,domain,period,org,party; _overall.csv skipped). Throws
// std::runtime_error "file:line: field: message". DNS rows are skipped (local resolver).
std::vector<Model> load_behaviot(const std::string& dir, uint32_t min_period);

// A server endpoint as a device uses it: address, protocol, port.
struct Target {
  IpAddr addr;
  uint8_t proto = 6;
  uint16_t port = 443;
  uint32_t evidence = 0;  // index into World::evidence: the domains a packet to it counts for
};

struct World {
  hitlist::Bundle bundle;
  std::map<std::string, hitlist::DomainId> domain_ids;
  // per hitlist domain, per day: the v4 and v6 targets it resolves to that day
  std::vector<std::vector<std::vector<Target>>> v4, v6;
  struct Churned {
    uint32_t day;
    hitlist::DomainId domain;
    Target t;
  };
  std::vector<Churned> churned;
  // Domain sets of the endpoint a packet to a target matches (host entry, exact protocol
  // and port before `any`, as signatures/hitlist_table.h looks it up).
  std::vector<std::vector<hitlist::DomainId>> evidence;  // new addresses, in order of day
  std::vector<IpAddr> cdn_pool;                          // shared CDN addresses (many SLDs each)
  std::vector<IpAddr> ntp_pool;
  std::vector<std::pair<uint32_t, uint8_t>> bg_prefixes;  // v4 (network, len) from pyasn
  std::vector<hitlist::DomainId> popular;
  // Every hitlist v4 address and prefix (with churn): background never hits these by chance.
  std::unordered_set<uint32_t> hit_hosts;
  std::vector<std::pair<uint32_t, uint8_t>> hit_prefixes;
  bool on_hitlist(uint32_t a) const {
    if (hit_hosts.count(a)) return true;
    for (const auto& [net, len] : hit_prefixes)
      if (((a ^ net) & (len == 0 ? 0 : ~0u << (32 - len))) == 0) return true;
    return false;
  }  // hitlist names a web browser also contacts
};

// The DNS world for `days` days. pyasn_file: a (gzip-less) pyasn ipasn .dat text file or
// empty (then 198.18.0.0/15 stands in for the Internet).
World build_world(const hitlist::Bundle& b, const SimConfig& cfg, uint32_t days,
                  const std::string& pyasn_file);

// Services detected from a set of contacted hitlist domains with the documented rule
// (METHODS §3, control/detection.h) at D; independent implementation for ground truth.
std::vector<hitlist::ServiceId> detectable(const hitlist::Bundle& b, double d,
                                           const std::vector<hitlist::DomainId>& contacted);

}  // namespace haystack::sim
