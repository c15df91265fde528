// ISP simulator traffic (docs/simulator.md): subscriber lines with devices, hour-by-hour
// packet generation in time order into a nanosecond pcap, and the ground truth.
#pragma once

#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/sim_world.h"

namespace haystack::sim {

struct Device {
  uint32_t line = 0;
  uint16_t model = 0;
  bool idle = false;
  std::vector<uint32_t> phase;         // per model row: first contact, seconds after start
  std::vector<uint32_t> active_hours;  // hour indexes with a burst
  std::set<std::pair<uint32_t, uint32_t>> burst_rows;  // (day, row) a burst reached
};

struct Line {
  bool v6 = false;
  bool reassign = false;
  uint32_t rank = 0;  // index among reassigned lines
  uint32_t first_device = 0;
  uint32_t devices = 0;
};

struct Population {
  std::vector<Line> lines;
  std::vector<Device> devices;
  std::vector<std::vector<uint32_t>> perm;  // per day: address slot of each reassigned line
};

Population build_population(const World& w, const std::vector<Model>& models, const SimConfig& cfg);

// The line's subscriber prefix on `day` (IPv4 /32 in 100.64.0.0/10, IPv6 /56 in
// 2001:db8:8000::/33), as haystackd prints it with pseudonymize: false.
IpAddr line_v4(const Population& p, const SimConfig& cfg, uint32_t line, uint32_t day);
IpAddr line_v6(const Population& p, const SimConfig& cfg, uint32_t line, uint32_t day);
std::string prefix_id(const IpAddr& a, uint8_t len);

struct GenStats {
  uint64_t packets = 0, iot_packets = 0, burst_packets = 0, bg_packets = 0, bg_hitlist = 0,
           bytes = 0;
};

// Writes the whole run to `pcap` (time-ordered) and returns counts; fills device
// active_hours and the background contacts of hitlist names per (line, day, family).
struct BgHit {
  uint32_t line, day;
  uint8_t family;
  hitlist::DomainId domain;
  uint32_t ip;        // the IPv4 server address contacted
  uint32_t evidence;  // World::evidence index of that server
  bool operator<(const BgHit& o) const {
    return std::tie(line, day, family, domain, ip, evidence) <
           std::tie(o.line, o.day, o.family, o.domain, o.ip, o.evidence);
  }
};
GenStats generate(const World& w, const std::vector<Model>& models, const SimConfig& cfg,
                  Population& pop, std::FILE* pcap, std::vector<BgHit>& bg_hits);

// Does row r of device dev contact its destination in [lo, hi) seconds after start
// (periodically, or in a burst of the day of lo)?
bool contacts_in(const Model& m, const Device& dev, size_t r, uint64_t lo, uint64_t hi);

// Address family a device uses for a hitlist domain on a line (6 if the line is dual-stack
// and the domain has IPv6 addresses that day).
// The server a device uses for row r (hitlist domain d) on `day`: one address per domain
// and day, as from a DNS cache.
const Target& target_for(const World& w, const SimConfig& cfg, uint32_t device, size_t r,
                         hitlist::DomainId d, int family, uint32_t day);

int family_for(const World& w, const Line& l, hitlist::DomainId d, uint32_t day);

}  // namespace haystack::sim
