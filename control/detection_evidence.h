// IoT detection evidence (METHODS §3): what the dataplane hands to the detection engine
// for every subscriber line and every bin. These are control-side hand-off structures
// (they own std::vectors); workers keep their own preallocated per-core tables on the
// packet path and convert them into a BinEvidence when the bin closes, off the packet
// path. add_hitlist_packet() / add_scan_port_attempt() are the reference semantics of
// that conversion (and what the unit tests use).
//
// Choices:
// - Line id: the subscriber prefix (IpAddr with host bits cleared + prefix length), by
//   default /32 for IPv4 and /56 for IPv6 (LineId::of masks the host bits).
// - Traffic is counted per *service*, not per domain: a packet to a hitlist endpoint
//   counts once for every distinct service any of the endpoint's domains serves. Counting
//   per domain would count one packet several times for a service when an endpoint maps
//   to several of its domains, which inflates the "active use" packet threshold.
//   The rule itself only needs the set of distinct domains contacted (`domains`).
// - Distinct backend IPs (scanner rule) and distinct destinations on the telnet/ssh
//   ports (Mirai-like scan alert) are kept as a BoundedDistinctSet of 64-bit IP hashes:
//   exact and mergeable across bins/cores up to kCapacity elements, then "saturated"
//   (meaning: at least kCapacity). Every threshold the engine compares against must be
//   below kCapacity, so every decision stays exact; the engine rejects larger ones.
// - Timestamps are ns since the Unix epoch (UTC). first_ns = UINT64_MAX, last_ns = 0
//   mean "no traffic yet", so merging is a plain min/max.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dataplane/iot_evidence.h"
#include "dataplane/packet.h"
#include "signatures/hitlist.h"

namespace haystack::detection {

inline constexpr uint64_t kNoTime = std::numeric_limits<uint64_t>::max();

// A subscriber line: the prefix that identifies it.
struct LineId {
  IpAddr addr;       // network address (host bits cleared)
  uint8_t len = 32;  // prefix length within the family (IPv4: 0..32, IPv6: 0..128)

  // The line of `a` for prefix length `len` (host bits cleared; len clamped to family).
  static LineId of(const IpAddr& a, uint8_t len);
  std::string to_string() const;  // "192.0.2.7/32", "2001:db8:0:100::/56"
  bool operator==(const LineId&) const = default;
  bool operator<(const LineId& o) const;
};

struct LineIdHash {
  size_t operator()(const LineId& l) const;
};

// Fixed 64-bit hash of an address for the distinct-IP sets: the one the workers use
// (dataplane/iot_evidence.h), so sets from both sides merge.
using haystack::ip_hash;

// An exact set of 64-bit hashes bounded to kCapacity elements. size() is exact while
// !saturated(); once saturated the true count is >= kCapacity.
class BoundedDistinctSet {
 public:
  static constexpr size_t kCapacity = 1024;

  void insert(uint64_t h);
  void merge(const BoundedDistinctSet& o);
  size_t size() const { return v_.size(); }
  bool saturated() const { return saturated_; }
  // Count used for threshold comparisons: size(), or kCapacity when saturated.
  uint64_t count() const { return saturated_ ? kCapacity : v_.size(); }
  const std::vector<uint64_t>& hashes() const { return v_; }  // sorted, distinct

 private:
  std::vector<uint64_t> v_;
  bool saturated_ = false;
};

// Traffic of one line to one service within a bin (or window).
struct ServiceTraffic {
  hitlist::ServiceId service = 0;
  uint64_t packets = 0;  // sampled packets (as seen by the workers)
  uint64_t bytes = 0;
  uint64_t first_ns = kNoTime;
  uint64_t last_ns = 0;
};

// TCP ports watched for the Mirai-like scan alert (defined with the workers' evidence).
using haystack::is_scan_port;
using haystack::kScanPorts;

// Everything one subscriber line did in one bin.
struct LineBinEvidence {
  LineId line;
  std::vector<hitlist::DomainId> domains;  // distinct domains contacted, sorted
  std::vector<ServiceTraffic> services;    // one entry per service, sorted by service
  uint64_t first_ns = kNoTime;             // first / last hitlist packet of the line
  uint64_t last_ns = 0;
  BoundedDistinctSet backend_ips;          // distinct hitlist server IPs contacted
  // Mirai-like scanning: TCP connection attempts (SYN without ACK) from the line to
  // ports 23/2323/22 anywhere (not only hitlist servers), and their distinct targets.
  uint64_t scan_port_connections = 0;
  BoundedDistinctSet scan_port_destinations;
};

// One bin's evidence from one worker (or already merged across workers). A line may
// appear in several BinEvidence (e.g. from different workers); the engine merges them.
struct BinEvidence {
  uint64_t start_ns = 0;  // bins must not straddle an hour boundary: a bin belongs to
  uint64_t end_ns = 0;    // the hour / day that contains start_ns
  std::vector<LineBinEvidence> lines;
};

// Merge `from` into `into` (same line): set unions, sums, min/max of times.
void merge(LineBinEvidence& into, const LineBinEvidence& from);

// Domain and service ids of one bundle translated to another by fqdn / service key, for
// evidence collected under an older hitlist generation. Ids absent from `to` map to none.
class BundleIdMap {
 public:
  BundleIdMap(const hitlist::Bundle& from, const hitlist::Bundle& to);
  // -1 when the domain / service does not exist in the target bundle.
  int64_t domain(hitlist::DomainId d) const { return d < dom_.size() ? dom_[d] : -1; }
  int64_t service(hitlist::ServiceId s) const { return s < svc_.size() ? svc_[s] : -1; }
  // Rewrites ev's domains and services into the target bundle's ids (dropping the ones
  // it lacks and merging services that map to one id); sorted as merge() expects.
  void apply(LineBinEvidence& ev) const;

 private:
  std::vector<int64_t> dom_, svc_;
};

// Reference semantics for the dataplane: one packet (either direction) between the line
// and hitlist endpoint `endpoint` (index into bundle.endpoints) whose server address is
// `server`. Adds the endpoint's domains, counts the packet once per distinct service of
// those domains, and records the server IP. Out-of-range endpoint indices are ignored.
void add_hitlist_packet(LineBinEvidence& ev, const hitlist::Bundle& bundle, uint32_t endpoint,
                        const IpAddr& server, uint64_t bytes, uint64_t ts_ns);

// One TCP connection attempt from the line to `dst` on a scan port (see kScanPorts).
void add_scan_port_attempt(LineBinEvidence& ev, const IpAddr& dst);

}  // namespace haystack::detection
