// HitlistTable: the immutable, compiled form of a hitlist Bundle that workers query per
// packet: (server address, protocol, port) -> the endpoint's domains and services.
//
// Precedence (documented in docs/hitlist-format.md, "Lookup semantics"):
//   1. the most specific address wins: a host entry (/32, /128) before any prefix, a longer
//      prefix before a shorter one;
//   2. at the same address: exact port before any port, then exact protocol before any:
//      (proto, port) > (any, port) > (proto, any) > (any, any).
// Protocols without ports are looked up with port 0, which only any-port entries match.
//
// Layout: host entries live in two open-addressing tables (IPv4: 8-byte slots keyed by
// the 32-bit address; IPv6: 24-byte slots) with linear probing at load <= 2/3. A slot
// points to the address's rule group (8-byte rules, contiguous, sorted by precedence), so
// a miss costs one probe sequence and a hit one more cache line. Prefix entries live in
// one such table per prefix length present, probed longest first; an 8 KiB bitmap per
// family (IPv4: /16 covered by any prefix; IPv6: hash of the /32 for prefixes >= /32)
// skips the prefix probes for most misses. lookup() never allocates, locks or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "signatures/hitlist.h"

namespace haystack::hitlist {

// Allocator for the big read-only arrays: 64-byte aligned, and 2 MiB aligned with
// madvise(MADV_HUGEPAGE) from 2 MiB up, so random probes do not miss the TLB as often.
template <class T>
struct HugeAlloc {
  using value_type = T;
  HugeAlloc() = default;
  template <class U>
  HugeAlloc(const HugeAlloc<U>&) {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t) { huge_free(p); }
  static void huge_free(void* p);
  template <class U>
  bool operator==(const HugeAlloc<U>&) const { return true; }
};
void* huge_alloc_bytes(size_t bytes);
void huge_free_bytes(void* p);
template <class T>
T* HugeAlloc<T>::allocate(size_t n) { return static_cast<T*>(huge_alloc_bytes(n * sizeof(T))); }
template <class T>
void HugeAlloc<T>::huge_free(void* p) { huge_free_bytes(p); }
template <class T>
using HugeVector = std::vector<T, HugeAlloc<T>>;

// One query of a burst.
struct LookupKey {
  IpAddr server;
  uint8_t proto = 0;
  uint16_t port = 0;
};

// What a lookup returns: one endpoint of the bundle, with its domains and the distinct
// services those domains serve (sorted ascending, parents not added).
struct Match {
  const DomainId* domain_ptr = nullptr;
  const ServiceId* service_ptr = nullptr;
  uint32_t n_domains = 0;
  uint32_t n_services = 0;
  uint32_t endpoint = 0;    // index into Bundle::endpoints
  uint8_t prefix_len = 0;   // 32/128 = host entry (IPv4 lengths count IPv4 bits)
  uint8_t proto = 0;        // 0 = any
  uint16_t port = 0;
  bool any_port = false;

  std::span<const DomainId> domains() const { return {domain_ptr, n_domains}; }
  std::span<const ServiceId> services() const { return {service_ptr, n_services}; }
};

class HitlistTable {
 public:
  // Throws HitlistError ("endpoint", "endpoint.domain", "endpoint.prefix") when the bundle is
  // inconsistent (duplicate keys, unknown domain ids, bad prefix); a Bundle from
  // load_bundle() always compiles. The table does not reference the Bundle afterwards.
  static std::shared_ptr<const HitlistTable> compile(const Bundle& b);

  // Best entry for a packet sent to `server`, or nullptr. The pointer stays valid as long
  // as the table lives.
  const Match* lookup(const IpAddr& server, uint8_t proto, uint16_t port) const;
  // Prefetches the host slot of `server` (call a few packets ahead in a burst).
  void prefetch(const IpAddr& server) const;
  // out[i] = lookup(keys[i]); hashes and prefetches the whole burst first, so the memory
  // accesses of different keys overlap. Use this on the packet path.
  void lookup_burst(const LookupKey* keys, size_t n, const Match** out) const;

  size_t size() const { return matches_.size(); }  // endpoints
  size_t host_entries() const { return host_entries_; }
  size_t prefix_entries() const { return matches_.size() - host_entries_; }
  size_t memory_bytes() const;
  const Match& match(size_t endpoint) const { return matches_[endpoint]; }

  HitlistTable(const HitlistTable&) = delete;
  HitlistTable& operator=(const HitlistTable&) = delete;

  struct V6Key {
    uint64_t hi = 0, lo = 0;
    bool operator==(const V6Key&) const = default;
  };
  template <class K>
  struct AddrMap {
    struct Slot {
      K key;
      uint32_t group;  // kEmpty = free slot
    };
    static constexpr uint32_t kEmpty = 0xffffffffu;
    HugeVector<Slot> slots;
    uint64_t mask = 0;
    unsigned shift = 64;
    void build(const std::vector<std::pair<K, uint32_t>>& items);
    size_t slot_of(const K& k) const;
    uint32_t find(const K& k) const;
  };
  struct Rule {
    uint16_t port;
    uint8_t proto;
    uint8_t flags;  // kAnyPort | kLast
    uint32_t match;
  };
  static constexpr uint8_t kAnyPort = 1, kLast = 0x80;

 private:
  HitlistTable() = default;
  const Match* pick(uint32_t group, uint8_t proto, uint16_t port) const;
  const Match* lookup_prefixes(const IpAddr& a, uint8_t proto, uint16_t port) const;

  HugeVector<Match> matches_;
  std::vector<DomainId> domain_pool_;
  std::vector<ServiceId> service_pool_;
  HugeVector<Rule> rules_;
  size_t host_entries_ = 0;

  AddrMap<uint32_t> v4_hosts_;
  AddrMap<V6Key> v6_hosts_;
  struct V4Len {
    uint32_t mask;
    uint8_t len;
    AddrMap<uint32_t> map;
  };
  struct V6Len {
    V6Key mask;
    uint8_t len;
    AddrMap<V6Key> map;
  };
  std::vector<V4Len> v4_prefixes_;  // longest first
  std::vector<V6Len> v6_prefixes_;  // longest first
  size_t v6_first_short_ = 0;       // index of the first length < 32 in v6_prefixes_
  std::vector<uint64_t> v4_filter_; // 65536 bits, by /16
  std::vector<uint64_t> v6_filter_; // 65536 bits, by hash of the /32
};

}  // namespace haystack::hitlist
