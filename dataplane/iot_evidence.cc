#include "dataplane/iot_evidence.h"

#include "dataplane/hash.h"

namespace haystack {

namespace {

uint64_t line_hash(const IpAddr& a, uint8_t len) { return mix64(ip_hash(a) ^ len); }

// Inserts h into the first n entries of arr (capacity cap); false when full.
template <size_t N, typename Count>
bool add_distinct(std::array<uint64_t, N>& arr, Count& n, uint64_t h) {
  for (Count i = 0; i < n; ++i) {
    if (arr[i] == h) return true;
  }
  if (n == N) return false;
  arr[n++] = h;
  return true;
}

bool in_subscribers(const IotSettings& s, const IpAddr& a) {
  for (const auto& p : s.subscriber_prefixes) {
    if (p.contains(a)) return true;
  }
  return false;
}

}  // namespace

uint64_t ip_hash(const IpAddr& a) {
  return mix64(mix64(load64(a.b.data()) ^ 0x2d69702d68617368ULL) ^ load64(a.b.data() + 8));
}

IotEvidenceTable::IotEvidenceTable(uint32_t capacity) {
  if (capacity == 0) return;
  size_t n = 1;
  while (n < size_t(capacity) * 4 / 3 + 1) n <<= 1;
  lines_.resize(n);
  mask_ = n - 1;
  limit_ = capacity;
}

IotLine* IotEvidenceTable::find_or_insert(const IpAddr& line, uint8_t len) {
  if (mask_ == 0) return nullptr;
  for (size_t s = line_hash(line, len) & mask_;; s = (s + 1) & mask_) {
    IotLine& l = lines_[s];
    if (!l.used) {
      if (size_ >= limit_) return nullptr;
      l.used = true;
      l.line = line;
      l.len = len;
      ++size_;
      return &l;
    }
    if (l.len == len && l.line == line) return &l;
  }
}

void IotEvidenceTable::clear() {
  if (size_ == 0) return;
  for (auto& l : lines_) {
    if (!l.used) continue;
    l.used = l.domains_overflow = l.services_overflow = l.ips_saturated = l.scan_saturated = false;
    l.n_domains = l.n_services = l.n_scan = 0;
    l.n_ips = 0;
    l.first_ns = l.last_ns = l.scan_connections = 0;
  }
  size_ = 0;
}

void observe_iot(const IotSettings& s, const ParsedPacket& p, uint32_t bytes, uint64_t ts_ns,
                 IotEvidenceTable& t, WorkerCounters& c) {
  if (s.table == nullptr) return;
  const bool tcp = p.proto == ipproto::kTcp;
  const bool syn_only = tcp && (p.tcp_flags & tcpflag::kSyn) && !(p.tcp_flags & tcpflag::kAck);
  auto line_of = [&](const IpAddr& a) -> IotLine* {
    const uint8_t len = a.v4 ? s.line_len_v4 : s.line_len_v6;
    IotLine* l = t.find_or_insert(mask_address(a, len), len);
    if (l == nullptr) c.iot_lines_full.add();
    return l;
  };

  // Mirai-like scanning: a subscriber opening TCP connections to telnet/ssh anywhere.
  if (syn_only && p.has_ports && is_scan_port(p.dport) &&
      (s.mode == IotMode::kIxp || in_subscribers(s, p.src))) {
    c.iot_scan_syns.add();
    if (IotLine* l = line_of(p.src)) {
      ++l->scan_connections;
      if (!add_distinct(l->scan_targets, l->n_scan, ip_hash(p.dst))) {
        l->scan_saturated = true;
        c.iot_line_overflow.add();
      }
    }
  }

  const uint16_t sport = p.has_ports ? p.sport : 0, dport = p.has_ports ? p.dport : 0;
  const hitlist::Match* m = s.table->lookup(p.dst, p.proto, dport);
  const IpAddr* server = &p.dst;
  const IpAddr* client = &p.src;
  if (m == nullptr) {
    m = s.table->lookup(p.src, p.proto, sport);
    server = &p.src;
    client = &p.dst;
  }
  if (m == nullptr) return;
  if (s.mode == IotMode::kIsp && !in_subscribers(s, *client)) {
    c.iot_no_line.add();
    return;
  }
  if (s.mode == IotMode::kIxp && syn_only) {  // spoofable: only established TCP counts
    c.iot_not_established.add();
    return;
  }
  IotLine* l = line_of(*client);
  if (l == nullptr) return;
  c.iot_matches.add();
  if (l->first_ns == 0 || ts_ns < l->first_ns) l->first_ns = ts_ns;
  if (ts_ns > l->last_ns) l->last_ns = ts_ns;
  bool overflow = false;
  for (uint32_t d : m->domains()) {
    bool seen = false;
    for (uint8_t i = 0; i < l->n_domains && !seen; ++i) seen = l->domains[i] == d;
    if (seen) continue;
    if (l->n_domains == IotLine::kDomains) {
      l->domains_overflow = overflow = true;
      continue;
    }
    l->domains[l->n_domains++] = d;
  }
  for (uint16_t svc : m->services()) {
    IotLine::ServiceCount* sc = nullptr;
    for (uint8_t i = 0; i < l->n_services && sc == nullptr; ++i) {
      if (l->services[i].service == svc) sc = &l->services[i];
    }
    if (sc == nullptr) {
      if (l->n_services == IotLine::kServices) {
        l->services_overflow = overflow = true;
        continue;
      }
      sc = &l->services[l->n_services++];
      *sc = IotLine::ServiceCount{svc, 0, 0, ts_ns, ts_ns};
    }
    ++sc->packets;
    sc->bytes += bytes;
    if (ts_ns < sc->first_ns) sc->first_ns = ts_ns;
    if (ts_ns > sc->last_ns) sc->last_ns = ts_ns;
  }
  if (!add_distinct(l->ips, l->n_ips, ip_hash(*server))) {
    l->ips_saturated = overflow = true;
  }
  if (overflow) c.iot_line_overflow.add();
}

}  // namespace haystack
