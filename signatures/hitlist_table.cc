#include "signatures/hitlist_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "signatures/hitlist_loader.h"

namespace haystack::hitlist {

namespace {

inline uint64_t hash_key(uint32_t k) { return uint64_t(k) * 0x9E3779B97F4A7C15ull; }
inline uint64_t hash_key(const HitlistTable::V6Key& k) {
  uint64_t x = k.hi * 0x9E3779B97F4A7C15ull ^ (k.lo + 0x632BE59BD9B4E019ull);
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 29;
  return x * 0x9E3779B97F4A7C15ull;
}

inline uint32_t v4_key(const IpAddr& a) {
  uint32_t v;
  std::memcpy(&v, a.b.data() + 12, 4);
  return __builtin_bswap32(v);
}
inline HitlistTable::V6Key v6_key(const IpAddr& a) {
  uint64_t hi, lo;
  std::memcpy(&hi, a.b.data(), 8);
  std::memcpy(&lo, a.b.data() + 8, 8);
  return {__builtin_bswap64(hi), __builtin_bswap64(lo)};
}
inline uint32_t v4_mask(unsigned len) { return len == 0 ? 0 : ~uint32_t(0) << (32 - len); }
inline HitlistTable::V6Key v6_mask(unsigned len) {
  HitlistTable::V6Key m;
  m.hi = len == 0 ? 0 : len >= 64 ? ~uint64_t(0) : ~uint64_t(0) << (64 - len);
  m.lo = len <= 64 ? 0 : len >= 128 ? ~uint64_t(0) : ~uint64_t(0) << (128 - len);
  return m;
}
inline HitlistTable::V6Key operator&(const HitlistTable::V6Key& a, const HitlistTable::V6Key& b) {
  return {a.hi & b.hi, a.lo & b.lo};
}
inline size_t v6_filter_bit(uint64_t hi) { return size_t(uint32_t(hi >> 32) * 0x9E3779B1u) >> 16; }
inline bool test_bit(const std::vector<uint64_t>& bm, size_t i) { return (bm[i >> 6] >> (i & 63)) & 1; }
inline void set_bit(std::vector<uint64_t>& bm, size_t i) { bm[i >> 6] |= uint64_t(1) << (i & 63); }

// Precedence class within one address: lower is better.
inline uint8_t precedence(const Endpoint& e) {
  if (!e.any_port) return e.proto != 0 ? 0 : 1;
  return e.proto != 0 ? 2 : 3;
}

}  // namespace

void* huge_alloc_bytes(size_t bytes) {
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t align = bytes >= kHuge ? kHuge : 64;
  void* p = nullptr;
  if (posix_memalign(&p, align, std::max<size_t>(bytes, 64)) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (bytes >= kHuge) madvise(p, bytes & ~(kHuge - 1), MADV_HUGEPAGE);  // best effort
#endif
  return p;
}

void huge_free_bytes(void* p) { std::free(p); }

template <class K>
void HitlistTable::AddrMap<K>::build(const std::vector<std::pair<K, uint32_t>>& items) {
  size_t cap = 8;
  while (cap * 2 < items.size() * 3) cap *= 2;  // load <= 2/3
  slots.assign(cap, Slot{K{}, kEmpty});
  mask = cap - 1;
  shift = 64 - unsigned(std::countr_zero(cap));
  for (const auto& [k, g] : items) {
    size_t i = slot_of(k);
    while (slots[i].group != kEmpty) i = (i + 1) & mask;
    slots[i] = Slot{k, g};
  }
}

template <class K>
inline size_t HitlistTable::AddrMap<K>::slot_of(const K& k) const {
  return size_t(hash_key(k) >> shift) & mask;  // shift == 64 never happens: cap >= 8
}

template <class K>
inline uint32_t HitlistTable::AddrMap<K>::find(const K& k) const {
  if (slots.empty()) return kEmpty;
  size_t i = slot_of(k);
  for (;;) {
    const Slot& s = slots[i];
    if (s.group == kEmpty) return kEmpty;
    if (s.key == k) return s.group;
    i = (i + 1) & mask;
  }
}

inline const Match* HitlistTable::pick(uint32_t group, uint8_t proto, uint16_t port) const {
  for (const Rule* r = &rules_[group];; ++r) {
    if ((r->proto == 0 || r->proto == proto) && ((r->flags & kAnyPort) || r->port == port))
      return &matches_[r->match];
    if (r->flags & kLast) return nullptr;
  }
}

const Match* HitlistTable::lookup(const IpAddr& a, uint8_t proto, uint16_t port) const {
  if (a.v4) {
    const uint32_t g = v4_hosts_.find(v4_key(a));
    if (g != AddrMap<uint32_t>::kEmpty)
      if (const Match* m = pick(g, proto, port)) return m;
    if (v4_prefixes_.empty()) return nullptr;
  } else {
    const uint32_t g = v6_hosts_.find(v6_key(a));
    if (g != AddrMap<V6Key>::kEmpty)
      if (const Match* m = pick(g, proto, port)) return m;
    if (v6_prefixes_.empty()) return nullptr;
  }
  return lookup_prefixes(a, proto, port);
}

const Match* HitlistTable::lookup_prefixes(const IpAddr& a, uint8_t proto, uint16_t port) const {
  if (a.v4) {
    const uint32_t k = v4_key(a);
    if (!test_bit(v4_filter_, k >> 16)) return nullptr;
    for (const V4Len& l : v4_prefixes_) {
      const uint32_t g = l.map.find(k & l.mask);
      if (g != AddrMap<uint32_t>::kEmpty)
        if (const Match* m = pick(g, proto, port)) return m;
    }
    return nullptr;
  }
  const V6Key k = v6_key(a);
  uint32_t g;
  const size_t start = test_bit(v6_filter_, v6_filter_bit(k.hi)) ? 0 : v6_first_short_;
  for (size_t i = start; i < v6_prefixes_.size(); ++i) {
    const V6Len& l = v6_prefixes_[i];
    g = l.map.find(k & l.mask);
    if (g != AddrMap<V6Key>::kEmpty)
      if (const Match* m = pick(g, proto, port)) return m;
  }
  return nullptr;
}

void HitlistTable::lookup_burst(const LookupKey* keys, size_t n, const Match** out) const {
  constexpr size_t kChunk = 32;
  uint32_t group[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = std::min(kChunk, n - base);
    for (size_t i = 0; i < m; ++i) prefetch(keys[base + i].server);
    // Probe the host tables, prefetch the rule groups found.
    for (size_t i = 0; i < m; ++i) {
      const IpAddr& a = keys[base + i].server;
      group[i] = a.v4 ? v4_hosts_.find(v4_key(a)) : v6_hosts_.find(v6_key(a));
      if (group[i] != AddrMap<uint32_t>::kEmpty) __builtin_prefetch(&rules_[group[i]]);
    }
    for (size_t i = 0; i < m; ++i) {
      const LookupKey& k = keys[base + i];
      const Match* r = nullptr;
      if (group[i] != AddrMap<uint32_t>::kEmpty) r = pick(group[i], k.proto, k.port);
      if (r == nullptr && (k.server.v4 ? !v4_prefixes_.empty() : !v6_prefixes_.empty()))
        r = lookup_prefixes(k.server, k.proto, k.port);
      out[base + i] = r;
    }
  }
}

void HitlistTable::prefetch(const IpAddr& a) const {
  if (a.v4) {
    if (!v4_hosts_.slots.empty()) __builtin_prefetch(&v4_hosts_.slots[v4_hosts_.slot_of(v4_key(a))]);
  } else if (!v6_hosts_.slots.empty()) {
    __builtin_prefetch(&v6_hosts_.slots[v6_hosts_.slot_of(v6_key(a))]);
  }
}

size_t HitlistTable::memory_bytes() const {
  size_t n = matches_.capacity() * sizeof(Match) + domain_pool_.capacity() * sizeof(DomainId) +
             service_pool_.capacity() * sizeof(ServiceId) + rules_.capacity() * sizeof(Rule) +
             v4_hosts_.slots.capacity() * sizeof(AddrMap<uint32_t>::Slot) +
             v6_hosts_.slots.capacity() * sizeof(AddrMap<V6Key>::Slot) +
             (v4_filter_.capacity() + v6_filter_.capacity()) * 8;
  for (const auto& l : v4_prefixes_) n += l.map.slots.capacity() * sizeof(AddrMap<uint32_t>::Slot);
  for (const auto& l : v6_prefixes_) n += l.map.slots.capacity() * sizeof(AddrMap<V6Key>::Slot);
  return n;
}

std::shared_ptr<const HitlistTable> HitlistTable::compile(const Bundle& b) {
  std::shared_ptr<HitlistTable> t(new HitlistTable());
  const size_t ne = b.endpoints.size();
  if (ne >= AddrMap<uint32_t>::kEmpty)
    throw HitlistError(b.source, 0, "endpoint", "too many endpoints to compile");

  // Matches with their domain and service lists.
  size_t nd = 0;
  for (const Endpoint& e : b.endpoints) nd += e.domains.size();
  t->domain_pool_.reserve(nd);
  std::vector<std::pair<size_t, size_t>> svc_ranges(ne);
  std::vector<ServiceId> svcs;
  for (size_t i = 0; i < ne; ++i) {
    const Endpoint& e = b.endpoints[i];
    svcs.clear();
    for (DomainId d : e.domains) {
      if (d >= b.domains.size())
        throw HitlistError(b.source, e.line, "endpoint.domain", "domain id " + std::to_string(d) + " out of range");
      t->domain_pool_.push_back(d);
      for (const DomainUse& u : b.domains[d].uses) svcs.push_back(u.service);
    }
    std::sort(svcs.begin(), svcs.end());
    svcs.erase(std::unique(svcs.begin(), svcs.end()), svcs.end());
    svc_ranges[i] = {t->service_pool_.size(), svcs.size()};
    t->service_pool_.insert(t->service_pool_.end(), svcs.begin(), svcs.end());
  }
  t->matches_.resize(ne);
  for (size_t i = 0, off = 0; i < ne; ++i) {
    const Endpoint& e = b.endpoints[i];
    Match& m = t->matches_[i];
    m.domain_ptr = t->domain_pool_.data() + off;
    m.n_domains = uint32_t(e.domains.size());
    off += e.domains.size();
    m.service_ptr = t->service_pool_.data() + svc_ranges[i].first;
    m.n_services = uint32_t(svc_ranges[i].second);
    m.endpoint = uint32_t(i);
    m.prefix_len = e.prefix_len;
    m.proto = e.proto;
    m.port = e.any_port ? 0 : e.port;
    m.any_port = e.any_port;
  }

  // Entries sorted by (family, length, address, precedence, proto, port).
  struct Ent {
    uint8_t v6, len, cls, proto;
    uint16_t port;
    uint32_t ep;
    V6Key key;  // IPv4: lo = address
  };
  std::vector<Ent> ents;
  ents.reserve(ne);
  for (size_t i = 0; i < ne; ++i) {
    const Endpoint& e = b.endpoints[i];
    Ent x{};
    x.v6 = !e.addr.v4;
    x.len = e.prefix_len;
    const unsigned maxlen = x.v6 ? 128 : 32;
    if (x.len > maxlen)
      throw HitlistError(b.source, e.line, "endpoint.prefix", "prefix length " + std::to_string(x.len) + " too long");
    if (x.v6) {
      const V6Key k = v6_key(e.addr);
      x.key = k & v6_mask(x.len);
      if (!(x.key == k)) throw HitlistError(b.source, e.line, "endpoint.addr", "host bits set");
    } else {
      const uint32_t k = v4_key(e.addr);
      x.key.lo = k & v4_mask(x.len);
      if (x.key.lo != k) throw HitlistError(b.source, e.line, "endpoint.addr", "host bits set");
    }
    x.cls = precedence(e);
    x.proto = e.proto;
    x.port = e.any_port ? 0 : e.port;
    x.ep = uint32_t(i);
    ents.push_back(x);
  }
  auto addr_less = [](const Ent& a, const Ent& c) {
    if (a.v6 != c.v6) return a.v6 < c.v6;
    if (a.len != c.len) return a.len > c.len;
    if (a.key.hi != c.key.hi) return a.key.hi < c.key.hi;
    return a.key.lo < c.key.lo;
  };
  auto same_addr = [](const Ent& a, const Ent& c) { return a.v6 == c.v6 && a.len == c.len && a.key == c.key; };
  std::sort(ents.begin(), ents.end(), [&](const Ent& a, const Ent& c) {
    if (!same_addr(a, c)) return addr_less(a, c);
    if (a.cls != c.cls) return a.cls < c.cls;
    if (a.proto != c.proto) return a.proto < c.proto;
    if (a.port != c.port) return a.port < c.port;
    return a.ep < c.ep;
  });

  t->rules_.reserve(ne);
  std::vector<std::pair<uint32_t, uint32_t>> v4_hosts;
  std::vector<std::pair<V6Key, uint32_t>> v6_hosts;
  std::vector<std::pair<uint32_t, uint32_t>> v4_cur;
  std::vector<std::pair<V6Key, uint32_t>> v6_cur;
  t->v4_filter_.assign(65536 / 64, 0);
  t->v6_filter_.assign(65536 / 64, 0);
  int cur_v6 = -1, cur_len = -1;
  auto flush_len = [&]() {
    if (cur_len < 0) return;
    if (cur_v6) {
      if (cur_len == 128) {
        v6_hosts.swap(v6_cur);
      } else {
        V6Len l{v6_mask(unsigned(cur_len)), uint8_t(cur_len), {}};
        l.map.build(v6_cur);
        t->v6_prefixes_.push_back(std::move(l));
      }
      v6_cur.clear();
    } else {
      if (cur_len == 32) {
        v4_hosts.swap(v4_cur);
      } else {
        V4Len l{v4_mask(unsigned(cur_len)), uint8_t(cur_len), {}};
        l.map.build(v4_cur);
        t->v4_prefixes_.push_back(std::move(l));
      }
      v4_cur.clear();
    }
  };
  for (size_t i = 0; i < ents.size();) {
    size_t j = i;
    while (j < ents.size() && same_addr(ents[i], ents[j])) ++j;
    const Ent& h = ents[i];
    if (h.v6 != cur_v6 || h.len != cur_len) {
      flush_len();
      cur_v6 = h.v6;
      cur_len = h.len;
    }
    const uint32_t group = uint32_t(t->rules_.size());
    for (size_t k = i; k < j; ++k) {
      const Ent& e = ents[k];
      if (k > i && e.cls == ents[k - 1].cls && e.proto == ents[k - 1].proto && e.port == ents[k - 1].port)
        throw HitlistError(b.source, b.endpoints[e.ep].line, "endpoint",
                           "duplicate endpoint key (also endpoint " + std::to_string(ents[k - 1].ep) + ")");
      Rule r{e.port, e.proto, uint8_t((e.cls >= 2 ? kAnyPort : 0) | (k + 1 == j ? kLast : 0)), e.ep};
      t->rules_.push_back(r);
    }
    if (h.v6) {
      v6_cur.emplace_back(h.key, group);
      if (h.len >= 32 && h.len < 128) set_bit(t->v6_filter_, v6_filter_bit(h.key.hi));
    } else {
      const uint32_t a = uint32_t(h.key.lo);
      v4_cur.emplace_back(a, group);
      if (h.len < 32) {
        if (h.len >= 16) {
          set_bit(t->v4_filter_, a >> 16);
        } else {
          const size_t first = a >> 16, n = size_t(1) << (16 - h.len);
          for (size_t s = first; s < first + n; ++s) set_bit(t->v4_filter_, s);
        }
      }
    }
    i = j;
  }
  flush_len();
  for (const Endpoint& e : b.endpoints)
    if (e.prefix_len == (e.addr.v4 ? 32 : 128)) ++t->host_entries_;
  t->v4_hosts_.build(v4_hosts);
  t->v6_hosts_.build(v6_hosts);
  t->v6_first_short_ = t->v6_prefixes_.size();
  for (size_t i = 0; i < t->v6_prefixes_.size(); ++i)
    if (t->v6_prefixes_[i].len < 32) {
      t->v6_first_short_ = i;
      break;
    }
  return t;
}

}  // namespace haystack::hitlist
