#include "control/detection.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace haystack::detection {

using hitlist::DomainId;
using hitlist::ServiceId;

void validate(const DetectionConfig& cfg) {
  if (!(cfg.fraction_d > 0.0 && cfg.fraction_d <= 1.0))
    throw std::invalid_argument("detection.fraction_d must be in (0, 1]");
  if (cfg.scanner_max_backend_ips >= BoundedDistinctSet::kCapacity)
    throw std::invalid_argument("detection.scanner_max_backend_ips must be below " +
                                std::to_string(BoundedDistinctSet::kCapacity));
  if (cfg.scan_alert_min_destinations >= BoundedDistinctSet::kCapacity)
    throw std::invalid_argument("detection.scan_alert_min_destinations must be below " +
                                std::to_string(BoundedDistinctSet::kCapacity));
}

uint32_t required_domains(const DetectionConfig& cfg, uint32_t n) {
  if (n == 0) return 1;
  if (cfg.policy == ThresholdPolicy::kGuoHeidemann)
    return n <= 20 ? (2 * n + 2) / 3 : (n + 1) / 2;  // ceil(2N/3), ceil(N/2)
  double k = std::floor(cfg.fraction_d * double(n) + 1e-9);
  if (k < 1.0) return 1;
  return k >= double(n) ? n : uint32_t(k);
}

// ---------------------------------------------------------------- RuleSet

RuleSet::RuleSet(std::shared_ptr<const hitlist::Bundle> bundle, const DetectionConfig& cfg)
    : bundle_(std::move(bundle)), cfg_(cfg) {
  if (!bundle_) throw std::invalid_argument("detection: no hitlist bundle");
  const auto& b = *bundle_;
  svc_.resize(b.services.size());
  for (size_t i = 0; i < b.services.size(); ++i) {
    const auto& s = b.services[i];
    if (s.id != i)
      throw std::invalid_argument("hitlist: service '" + s.key + "' id is not its index");
    if (s.parent != hitlist::kNoService && s.parent >= b.services.size())
      throw std::invalid_argument("hitlist: service '" + s.key + "' has an unknown parent");
  }
  for (size_t i = 0; i < b.domains.size(); ++i) {
    const auto& d = b.domains[i];
    if (d.id != i)
      throw std::invalid_argument("hitlist: domain '" + d.fqdn + "' id is not its index");
    for (const auto& u : d.uses) {
      if (u.service >= b.services.size())
        throw std::invalid_argument("hitlist: domain '" + d.fqdn + "' uses an unknown service");
      auto& sv = svc_[u.service];
      if (sv.domains.empty() || sv.domains.back() != d.id) sv.domains.push_back(d.id);
      if (u.role == hitlist::Role::kPrimary && (sv.primary.empty() || sv.primary.back() != d.id))
        sv.primary.push_back(d.id);
    }
  }
  for (auto& sv : svc_) sv.required = required_domains(cfg_, uint32_t(sv.domains.size()));
}

static uint32_t intersection_size(const std::vector<DomainId>& a, std::span<const DomainId> b) {
  uint32_t n = 0;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++n;
      ++i;
      ++j;
    }
  }
  return n;
}

bool RuleSet::rule_holds(ServiceId s, std::span<const DomainId> contacted) const {
  if (s >= svc_.size()) return false;
  const Svc& sv = svc_[s];
  if (sv.domains.empty()) return false;
  if (cfg_.require_primary && intersection_size(sv.primary, contacted) == 0) return false;
  return intersection_size(sv.domains, contacted) >= sv.required;
}

std::vector<ServiceId> RuleSet::detect(std::span<const DomainId> contacted) const {
  const auto& b = *bundle_;
  // Candidates: services any contacted domain serves.
  std::vector<ServiceId> cand;
  for (DomainId d : contacted) {
    if (d >= b.domains.size()) continue;
    for (const auto& u : b.domains[d].uses) cand.push_back(u.service);
  }
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());

  enum : uint8_t { kUnknown, kBusy, kYes, kNo };
  std::unordered_map<ServiceId, uint8_t> state;
  std::function<bool(ServiceId)> detected = [&](ServiceId s) -> bool {
    uint8_t& st = state[s];
    if (st == kYes) return true;
    if (st == kNo || st == kBusy) return false;  // kBusy: parent cycle
    st = kBusy;
    bool ok = rule_holds(s, contacted);
    ServiceId parent = b.services[s].parent;
    if (ok && parent != hitlist::kNoService) ok = detected(parent);
    state[s] = ok ? kYes : kNo;
    return ok;
  };
  std::vector<ServiceId> out;
  for (ServiceId s : cand)
    if (detected(s)) out.push_back(s);
  return out;
}

std::vector<DomainId> RuleSet::evidence(ServiceId s, std::span<const DomainId> contacted) const {
  std::vector<DomainId> out;
  if (s >= svc_.size()) return out;
  std::set_intersection(svc_[s].domains.begin(), svc_[s].domains.end(), contacted.begin(),
                        contacted.end(), std::back_inserter(out));
  return out;
}

std::string_view window_kind_name(WindowKind k) {
  return k == WindowKind::kHour ? "hour" : "day";
}

// ---------------------------------------------------------------- DetectionEngine

DetectionEngine::DetectionEngine(DetectionConfig cfg,
                                 std::shared_ptr<const hitlist::Bundle> bundle,
                                 Pseudonymizer ids)
    : cfg_(cfg), ids_(ids) {
  validate(cfg_);
  rules_ = std::make_unique<RuleSet>(std::move(bundle), cfg_);
}

void DetectionEngine::set_bundle(std::shared_ptr<const hitlist::Bundle> bundle) {
  auto next = std::make_unique<RuleSet>(std::move(bundle), cfg_);
  const BundleIdMap map(rules_->bundle(), next->bundle());
  auto remap = [&](LineWindow& lw) {
    map.apply(lw.ev);
    std::map<ServiceId, uint32_t> ah;
    for (auto [s, n] : lw.active_hours)
      if (map.service(s) >= 0) ah[ServiceId(map.service(s))] += n;
    lw.active_hours = std::move(ah);
  };
  for (auto* windows : {&hours_, &days_})
    for (auto& [start, lines] : *windows)
      for (auto& [line, lw] : lines) remap(lw);
  rules_ = std::move(next);
}

void DetectionEngine::add_bin(const BinEvidence& bin) {
  const uint64_t hour = bin.start_ns / kHourNs * kHourNs;
  const uint64_t day = bin.start_ns / kDayNs * kDayNs;
  const bool hour_open = hour + kHourNs > hours_closed_until_;
  const bool day_open = day + kDayNs > days_closed_until_;
  if (!hour_open || !day_open) ++late_bins_;
  if (!hour_open && !day_open) return;
  Lines* h = hour_open ? &hours_[hour] : nullptr;
  Lines* d = day_open ? &days_[day] : nullptr;
  for (const auto& ev : bin.lines) {
    if (ev.first_ns != kNoTime) {
      auto [it, fresh] = line_first_seen_.emplace(ev.line, ev.first_ns);
      if (!fresh) it->second = std::min(it->second, ev.first_ns);
    }
    for (Lines* w : {h, d}) {
      if (!w) continue;
      auto [it, fresh] = w->try_emplace(ev.line);
      if (fresh) it->second.ev.line = ev.line;
      merge(it->second.ev, ev);
    }
  }
}

WindowReport DetectionEngine::close_window(WindowKind kind, uint64_t start, Lines& lines) {
  const auto& b = rules_->bundle();
  WindowReport r;
  r.kind = kind;
  r.start_ns = start;
  r.end_ns = start + (kind == WindowKind::kHour ? kHourNs : kDayNs);
  r.lines = lines.size();
  r.service_counts.resize(b.services.size());
  for (size_t i = 0; i < b.services.size(); ++i) {
    r.service_counts[i].service = ServiceId(i);
    r.service_counts[i].service_key = b.services[i].key;
    r.service_counts[i].level = b.services[i].level;
  }

  // Day state for hourly windows (day-to-date scanner count, active hours).
  Lines* day = nullptr;
  if (kind == WindowKind::kHour) {
    auto it = days_.find(start / kDayNs * kDayNs);
    if (it != days_.end()) day = &it->second;
  }

  // Deterministic order: by line.
  std::vector<std::pair<const LineId*, LineWindow*>> order;
  order.reserve(lines.size());
  for (auto& [line, lw] : lines) order.emplace_back(&line, &lw);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& c) { return *a.first < *c.first; });

  for (auto [line, lw] : order) {
    const LineBinEvidence& ev = lw->ev;
    LineWindow* day_lw = nullptr;
    if (day) {
      auto it = day->find(*line);
      if (it != day->end()) day_lw = &it->second;
    }
    const std::string id = ids_.id(line->addr, line->len);

    const BoundedDistinctSet& ips = day_lw ? day_lw->ev.backend_ips : ev.backend_ips;
    if (ips.count() > cfg_.scanner_max_backend_ips) {
      r.scanners.push_back({id, ips.count(), ips.saturated()});
      continue;
    }

    if (kind == WindowKind::kHour && day_lw)
      for (const auto& t : ev.services)
        if (t.packets >= cfg_.active_min_packets) ++day_lw->active_hours[t.service];

    std::vector<std::string> detected_keys;
    for (ServiceId s : rules_->detect(ev.domains)) {
      const auto& svc = b.services[s];
      Detection d;
      d.line = id;
      d.service = s;
      d.service_key = svc.key;
      d.level = svc.level;
      for (DomainId dom : rules_->evidence(s, ev.domains)) d.domains.push_back(b.domains[dom].fqdn);
      std::sort(d.domains.begin(), d.domains.end());
      d.domains_required = rules_->required(s);
      d.domains_total = rules_->domain_count(s);
      auto t = std::lower_bound(ev.services.begin(), ev.services.end(), s,
                                [](const ServiceTraffic& a, ServiceId x) { return a.service < x; });
      if (t != ev.services.end() && t->service == s) {
        d.packets = t->packets;
        d.bytes = t->bytes;
        d.first_seen_ns = t->first_ns == kNoTime ? 0 : t->first_ns;
        d.last_seen_ns = t->last_ns;
      }
      if (kind == WindowKind::kHour) {
        d.active = d.packets >= cfg_.active_min_packets;
        d.active_hours = d.active ? 1 : 0;
      } else {
        auto ah = lw->active_hours.find(s);
        d.active_hours = ah == lw->active_hours.end() ? 0 : ah->second;
        d.active = d.active_hours > 0;
      }
      ++r.service_counts[s].lines;
      if (d.active) ++r.service_counts[s].active_lines;

      // Time to first detection.
      FirstDetection fd;
      fd.line = id;
      fd.service_key = svc.key;
      fd.level = svc.level;
      fd.kind = kind;
      fd.window_start_ns = r.start_ns;
      fd.detected_at_ns = r.end_ns;
      auto fs = line_first_seen_.find(*line);
      fd.line_first_seen_ns = fs == line_first_seen_.end() ? r.start_ns : fs->second;
      fd.time_to_detect_ns =
          fd.detected_at_ns > fd.line_first_seen_ns ? fd.detected_at_ns - fd.line_first_seen_ns : 0;
      auto [it, fresh] = first_.try_emplace(FirstKey{*line, svc.key}, fd);
      if (fresh) {
        r.new_detections.push_back(fd);
      } else if (fd.detected_at_ns < it->second.detected_at_ns) {
        it->second = fd;
      }
      detected_keys.push_back(svc.key);
      r.detections.push_back(std::move(d));
    }

    if (!detected_keys.empty() &&
        ev.scan_port_destinations.count() > cfg_.scan_alert_min_destinations) {
      r.scan_events.push_back({id, ev.scan_port_destinations.count(),
                               ev.scan_port_destinations.saturated(), ev.scan_port_connections,
                               std::move(detected_keys)});
    }
  }
  return r;
}

std::vector<WindowReport> DetectionEngine::close_if(uint64_t now_ns, bool all) {
  // (end, kind, start): hours sort before days with the same end.
  std::vector<std::tuple<uint64_t, WindowKind, uint64_t>> due;
  for (const auto& [start, lines] : hours_)
    if (all || start + kHourNs <= now_ns) due.emplace_back(start + kHourNs, WindowKind::kHour, start);
  for (const auto& [start, lines] : days_)
    if (all || start + kDayNs <= now_ns) due.emplace_back(start + kDayNs, WindowKind::kDay, start);
  std::sort(due.begin(), due.end());
  std::vector<WindowReport> out;
  for (auto [end, kind, start] : due) {
    auto& windows = kind == WindowKind::kHour ? hours_ : days_;
    auto it = windows.find(start);
    out.push_back(close_window(kind, start, it->second));
    windows.erase(it);
    uint64_t& until = kind == WindowKind::kHour ? hours_closed_until_ : days_closed_until_;
    until = std::max(until, end);
  }
  if (!all) {
    hours_closed_until_ = std::max(hours_closed_until_, now_ns / kHourNs * kHourNs);
    days_closed_until_ = std::max(days_closed_until_, now_ns / kDayNs * kDayNs);
  }
  return out;
}

std::vector<WindowReport> DetectionEngine::close_until(uint64_t now_ns) {
  return close_if(now_ns, false);
}

std::vector<WindowReport> DetectionEngine::close_all() { return close_if(0, true); }

std::vector<FirstDetection> DetectionEngine::first_detections() const {
  std::vector<FirstDetection> out;
  out.reserve(first_.size());
  for (const auto& [k, v] : first_) out.push_back(v);
  return out;
}

}  // namespace haystack::detection
