#include "control/detection_evidence.h"

#include <algorithm>
#include <iterator>
#include <string_view>
#include <unordered_map>

#include "control/pseudonym.h"

namespace haystack::detection {
namespace {

void add_service(std::vector<ServiceTraffic>& v, const ServiceTraffic& t) {
  auto it = std::lower_bound(v.begin(), v.end(), t.service,
                             [](const ServiceTraffic& a, hitlist::ServiceId s) {
                               return a.service < s;
                             });
  if (it == v.end() || it->service != t.service) {
    v.insert(it, t);
    return;
  }
  it->packets += t.packets;
  it->bytes += t.bytes;
  it->first_ns = std::min(it->first_ns, t.first_ns);
  it->last_ns = std::max(it->last_ns, t.last_ns);
}

}  // namespace

LineId LineId::of(const IpAddr& a, uint8_t len) {
  LineId l;
  l.addr = a;
  const int max = a.v4 ? 32 : 128;
  if (len > max) len = uint8_t(max);
  l.len = len;
  l.addr = mask_address(a, len);
  return l;
}

std::string LineId::to_string() const { return prefix_string(addr, len); }

bool LineId::operator<(const LineId& o) const {
  if (addr.v4 != o.addr.v4) return addr.v4 > o.addr.v4;  // IPv4 first
  if (addr.b != o.addr.b) return addr.b < o.addr.b;
  return len < o.len;
}

size_t LineIdHash::operator()(const LineId& l) const {
  return size_t(ip_hash(l.addr) ^ (uint64_t(l.len) * 0x9e3779b97f4a7c15ULL));
}


void BoundedDistinctSet::insert(uint64_t h) {
  auto it = std::lower_bound(v_.begin(), v_.end(), h);
  if (it != v_.end() && *it == h) return;
  if (v_.size() >= kCapacity) {
    saturated_ = true;
    return;
  }
  v_.insert(it, h);
}

void BoundedDistinctSet::merge(const BoundedDistinctSet& o) {
  saturated_ = saturated_ || o.saturated_;
  if (o.v_.empty()) return;
  std::vector<uint64_t> u;
  u.reserve(std::min(kCapacity, v_.size() + o.v_.size()));
  std::set_union(v_.begin(), v_.end(), o.v_.begin(), o.v_.end(), std::back_inserter(u));
  if (u.size() > kCapacity) {
    u.resize(kCapacity);
    saturated_ = true;
  }
  v_ = std::move(u);
}


void merge(LineBinEvidence& into, const LineBinEvidence& from) {
  if (!from.domains.empty()) {
    std::vector<hitlist::DomainId> u;
    u.reserve(into.domains.size() + from.domains.size());
    std::set_union(into.domains.begin(), into.domains.end(), from.domains.begin(),
                   from.domains.end(), std::back_inserter(u));
    into.domains = std::move(u);
  }
  for (const auto& t : from.services) add_service(into.services, t);
  into.first_ns = std::min(into.first_ns, from.first_ns);
  into.last_ns = std::max(into.last_ns, from.last_ns);
  into.backend_ips.merge(from.backend_ips);
  into.scan_port_connections += from.scan_port_connections;
  into.scan_port_destinations.merge(from.scan_port_destinations);
}

void add_hitlist_packet(LineBinEvidence& ev, const hitlist::Bundle& bundle, uint32_t endpoint,
                        const IpAddr& server, uint64_t bytes, uint64_t ts_ns) {
  if (endpoint >= bundle.endpoints.size()) return;
  std::vector<hitlist::ServiceId> svcs;
  for (hitlist::DomainId d : bundle.endpoints[endpoint].domains) {
    if (d >= bundle.domains.size()) continue;
    auto it = std::lower_bound(ev.domains.begin(), ev.domains.end(), d);
    if (it == ev.domains.end() || *it != d) ev.domains.insert(it, d);
    for (const auto& use : bundle.domains[d].uses)
      if (std::find(svcs.begin(), svcs.end(), use.service) == svcs.end())
        svcs.push_back(use.service);
  }
  for (hitlist::ServiceId s : svcs) add_service(ev.services, {s, 1, bytes, ts_ns, ts_ns});
  ev.first_ns = std::min(ev.first_ns, ts_ns);
  ev.last_ns = std::max(ev.last_ns, ts_ns);
  ev.backend_ips.insert(ip_hash(server));
}

void add_scan_port_attempt(LineBinEvidence& ev, const IpAddr& dst) {
  ++ev.scan_port_connections;
  ev.scan_port_destinations.insert(ip_hash(dst));
}

BundleIdMap::BundleIdMap(const hitlist::Bundle& from, const hitlist::Bundle& to)
    : dom_(from.domains.size(), -1), svc_(from.services.size(), -1) {
  std::unordered_map<std::string_view, hitlist::DomainId> dom_by_fqdn;
  for (const auto& d : to.domains) dom_by_fqdn.emplace(d.fqdn, d.id);
  std::unordered_map<std::string_view, hitlist::ServiceId> svc_by_key;
  for (const auto& s : to.services) svc_by_key.emplace(s.key, s.id);
  for (const auto& d : from.domains)
    if (auto it = dom_by_fqdn.find(d.fqdn); it != dom_by_fqdn.end()) dom_[d.id] = it->second;
  for (const auto& s : from.services)
    if (auto it = svc_by_key.find(s.key); it != svc_by_key.end()) svc_[s.id] = it->second;
}

void BundleIdMap::apply(LineBinEvidence& ev) const {
  std::vector<hitlist::DomainId> doms;
  for (hitlist::DomainId d : ev.domains)
    if (domain(d) >= 0) doms.push_back(hitlist::DomainId(domain(d)));
  std::sort(doms.begin(), doms.end());
  doms.erase(std::unique(doms.begin(), doms.end()), doms.end());
  ev.domains = std::move(doms);
  LineBinEvidence merged;
  for (ServiceTraffic t : ev.services) {
    if (service(t.service) < 0) continue;
    t.service = hitlist::ServiceId(service(t.service));
    LineBinEvidence one;
    one.services.push_back(t);
    merge(merged, one);
  }
  ev.services = std::move(merged.services);
}

}  // namespace haystack::detection
