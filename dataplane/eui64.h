// IPv6 EUI-64 exposure (METHODS §5; Saidi et al., CCR 2022). An interface identifier is
// EUI-64 when bytes 11-12 of the address are ff:fe; the MAC is bytes 8-10 and 13-15 with
// the universal/local bit (0x02 of byte 8) flipped. One such address makes its /56
// trackable across prefix rotations. Workers record, per bin, every (/56, MAC) pair seen
// on the subscriber side (MAC 0: a /56 seen without EUI-64, for the exposed share) in a
// bounded table; control aggregates windows (control/eui64_report.h). No allocation on
// the packet path; a full table is counted.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/iot_evidence.h"
#include "dataplane/packet.h"
#include "dataplane/worker_counters.h"

namespace haystack {

// The MAC (48 bits, network order in the low bits) of an EUI-64 IPv6 address, or 0.
// Only global unicast (2000::/3) addresses count: link-local and multicast identifiers
// never leave the link and track nothing.
uint64_t eui64_mac(const IpAddr& a);
// The upper 56 bits of an IPv6 address.
inline uint64_t prefix56(const IpAddr& a) {
  uint64_t p = 0;
  for (int i = 0; i < 7; ++i) p = p << 8 | a.b[size_t(i)];
  return p;
}

struct EuiEntry {
  uint64_t prefix = 0;  // /56, upper 56 bits in the low bits
  uint64_t mac = 0;     // 0: the prefix was seen, without EUI-64 address
  uint64_t packets = 0;
  bool used = false;
};

class EuiTable {
 public:
  explicit EuiTable(uint32_t capacity = 0);
  // Counts one packet for (prefix, mac); false when the table is full.
  bool add(uint64_t prefix, uint64_t mac);
  void clear();
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return limit_; }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& e : slots_) {
      if (e.used) f(e);
    }
  }

 private:
  std::vector<EuiEntry> slots_;  // open addressing, power of two
  size_t mask_ = 0;
  uint32_t size_ = 0;
  uint32_t limit_ = 0;
};

// One IoT-sampled IPv6 packet: its subscriber-side addresses (isp: inside
// subscriber_prefixes; ixp: both sides) go into `t` as (/56, MAC or 0).
void observe_eui64(const IotSettings& s, const ParsedPacket& p, EuiTable& t, WorkerCounters& c);

}  // namespace haystack
