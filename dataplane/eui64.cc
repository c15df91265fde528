#include "dataplane/eui64.h"

#include "dataplane/hash.h"

namespace haystack {

uint64_t eui64_mac(const IpAddr& a) {
  if (a.v4 || (a.b[0] & 0xe0) != 0x20 || a.b[11] != 0xff || a.b[12] != 0xfe) return 0;
  uint64_t mac = uint64_t(a.b[8] ^ 0x02);
  for (int i : {9, 10, 13, 14, 15}) mac = mac << 8 | a.b[size_t(i)];
  return mac;
}

EuiTable::EuiTable(uint32_t capacity) {
  if (capacity == 0) return;
  size_t n = 1;
  while (n < size_t(capacity) * 4 / 3 + 1) n <<= 1;
  slots_.resize(n);
  mask_ = n - 1;
  limit_ = capacity;
}

bool EuiTable::add(uint64_t prefix, uint64_t mac) {
  if (mask_ == 0) return false;
  for (size_t i = mix64(prefix * 0x9e3779b97f4a7c15ULL ^ mac) & mask_;; i = (i + 1) & mask_) {
    EuiEntry& e = slots_[i];
    if (e.used) {
      if (e.prefix == prefix && e.mac == mac) {
        ++e.packets;
        return true;
      }
      continue;
    }
    if (size_ >= limit_) return false;
    e = EuiEntry{prefix, mac, 1, true};
    ++size_;
    return true;
  }
}

void observe_eui64(const IotSettings& s, const ParsedPacket& p, EuiTable& t, WorkerCounters& c) {
  bool exposed = false;
  for (const IpAddr* a : {&p.src, &p.dst}) {
    if (s.mode == IotMode::kIsp) {
      bool inside = false;
      for (const auto& pr : s.subscriber_prefixes) inside |= pr.contains(*a);
      if (!inside) continue;
    } else if ((a->b[0] & 0xe0) != 0x20) {
      continue;  // ixp: any global unicast side
    }
    uint64_t mac = eui64_mac(*a);
    exposed |= mac != 0;
    if (!t.add(prefix56(*a), mac)) c.eui64_table_full.add();
  }
  if (exposed) c.eui64_packets.add();
}

void EuiTable::clear() {
  if (size_ == 0) return;
  for (auto& e : slots_) e = EuiEntry{};
  size_ = 0;
}

}  // namespace haystack
