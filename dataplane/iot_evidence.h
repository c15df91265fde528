// Per-core IoT evidence (METHODS §3), on the packet path: for every packet sampled at the
// IoT rate, find the hitlist side and the subscriber line, and record in a bounded,
// preallocated per-bin table which hitlist domains and services the line reached, with
// packets, bytes, times and distinct server IPs; plus TCP SYNs to telnet/ssh ports for
// the Mirai-like scan alert. Control turns a closed table into detection evidence.
//
// Bounds (per line per bin): 32 domains, 8 services, 128 distinct server IPs and 32
// distinct scan targets. Past a bound the line is marked (domains_overflow / ips
// saturated ...) and the overflow counted; 128 IPs exceed any scanner threshold the
// engine accepts here (< 128), so that decision stays exact.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/hitlist_source.h"
#include "dataplane/packet.h"
#include "dataplane/prefix.h"
#include "dataplane/worker_counters.h"
#include "signatures/hitlist_table.h"

namespace haystack {

// TCP ports watched for the Mirai-like scan alert.
inline constexpr uint16_t kScanPorts[] = {23, 2323, 22};
inline bool is_scan_port(uint16_t port) {
  for (uint16_t p : kScanPorts) {
    if (p == port) return true;
  }
  return false;
}

// Fixed 64-bit hash of an address (all 16 bytes; IPv4 is IPv4-mapped), for the sets of
// distinct server IPs and scan targets. Control merges these sets, so both sides use it.
uint64_t ip_hash(const IpAddr& a);

struct IotLine {
  static constexpr int kDomains = 32, kServices = 8, kIps = 128, kScanTargets = 32;
  struct ServiceCount {
    uint16_t service;
    uint64_t packets, bytes, first_ns, last_ns;
  };

  IpAddr line;  // masked to the line prefix
  uint8_t len = 0;
  bool used = false;
  bool domains_overflow = false, services_overflow = false;
  bool ips_saturated = false, scan_saturated = false;
  uint8_t n_domains = 0, n_services = 0, n_scan = 0;
  uint16_t n_ips = 0;
  uint64_t first_ns = 0, last_ns = 0;
  uint64_t scan_connections = 0;
  std::array<uint32_t, kDomains> domains;
  std::array<ServiceCount, kServices> services;
  std::array<uint64_t, kIps> ips;  // ip_hash of distinct hitlist server addresses
  std::array<uint64_t, kScanTargets> scan_targets;
};

class IotEvidenceTable {
 public:
  explicit IotEvidenceTable(uint32_t capacity = 0);
  // The entry of a line, inserted if new; nullptr when the table is full.
  IotLine* find_or_insert(const IpAddr& line, uint8_t len);
  void clear();
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return uint32_t(lines_.size()); }
  // Used entries, for control.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& l : lines_) {
      if (l.used) f(l);
    }
  }

 private:
  std::vector<IotLine> lines_;  // open addressing; capacity a power of two (or 0)
  size_t mask_ = 0;
  uint32_t size_ = 0;
  uint32_t limit_ = 0;  // keep the load below 3/4 so probes stay short
};

enum class IotMode : uint8_t { kIsp, kIxp };

struct IotSettings {
  const hitlist::HitlistTable* table = nullptr;  // nullptr: IoT matching off
  // With a source the worker re-adopts the current generation at every bin it opens
  // (hitless reload) and `table` follows it; without one `table` is fixed.
  HitlistSource* source = nullptr;
  IotMode mode = IotMode::kIsp;
  std::vector<Prefix> subscriber_prefixes;  // isp: where lines live
  uint8_t line_len_v4 = 32, line_len_v6 = 56;
  bool eui64 = false;  // also record IPv6 EUI-64 exposure (dataplane/eui64.h)
};


// Records one IoT-sampled packet into `t`; outcomes go to the worker's iot_* counters.
void observe_iot(const IotSettings& s, const ParsedPacket& p, uint32_t bytes, uint64_t ts_ns,
                 IotEvidenceTable& t, WorkerCounters& c);

}  // namespace haystack
