// The METHODS §3 steps and their rendering; see hitlist_builder.h for the contracts.
#include "signatures/hitlist_builder.h"

#include <algorithm>
#include <deque>
#include <sstream>

#include "signatures/hitlist_loader.h"

namespace haystack::hitlist {

// ---- Step 1 -----------------------------------------------------------------------------

std::vector<Candidate> drop_generic(const Catalog& c, GenericDrop& dropped) {
  std::map<std::string, std::set<PortSpec>> ports;
  std::set<std::string> all;
  std::map<std::string, size_t> service_index;
  for (size_t i = 0; i < c.services.size(); ++i) service_index[c.services[i].key] = i;
  std::map<std::string, Candidate> out;
  for (const auto& u : c.uses) {
    all.insert(u.fqdn);
    if (u.role == CatalogRole::kGeneric) {
      ++dropped.generic_uses;
      continue;
    }
    Candidate& cand = out[u.fqdn];
    cand.fqdn = u.fqdn;
    cand.uses.emplace_back(service_index.at(u.service),
                           u.role == CatalogRole::kPrimary ? Role::kPrimary : Role::kSupport);
    // A use without ports means any protocol/port, which covers every other spec.
    if (u.ports.empty()) ports[u.fqdn].insert(PortSpec{});
    for (const auto& p : u.ports) ports[u.fqdn].insert(p);
  }
  std::vector<Candidate> result;
  for (const auto& fqdn : all) {
    auto it = out.find(fqdn);
    if (it == out.end()) {
      dropped.dropped_domains.push_back(fqdn);
      continue;
    }
    Candidate cand = std::move(it->second);
    std::sort(cand.uses.begin(), cand.uses.end());
    const auto& ps = ports[fqdn];
    if (!ps.count(PortSpec{})) cand.ports.assign(ps.begin(), ps.end());
    result.push_back(std::move(cand));
  }
  return result;
}

// ---- Step 2 -----------------------------------------------------------------------------

std::string sld_of(const PublicSuffixList& psl, const std::string& name) {
  auto r = psl.registrable_domain(name);
  return r ? *r : name;
}

// ---- DNS graph --------------------------------------------------------------------------

DnsGraph::DnsGraph(const std::vector<DnsRecord>& records, int64_t from, int64_t until) {
  for (const auto& r : records) {
    if (r.last_seen < from || r.first_seen > until) continue;
    ++used_;
    if (r.type == RrType::kCname) {
      cname_to_[r.name].insert(r.target);
      cname_from_[r.target].insert(r.name);
    } else {
      addrs_[r.name].insert(r.addr);
      owners_[r.addr].insert(r.name);
    }
  }
}

namespace {
// Breadth-first walk over name edges, at most DnsGraph::kMaxCnameDepth hops; the visited
// set also stops CNAME loops.
std::set<std::string> walk(const std::set<std::string>& start,
                           const std::map<std::string, std::set<std::string>>& edges) {
  std::set<std::string> seen(start);
  std::vector<std::string> frontier(start.begin(), start.end());
  for (int depth = 0; depth < DnsGraph::kMaxCnameDepth && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const auto& n : frontier) {
      auto it = edges.find(n);
      if (it == edges.end()) continue;
      for (const auto& m : it->second)
        if (seen.insert(m).second) next.push_back(m);
    }
    frontier.swap(next);
  }
  return seen;
}
}  // namespace

IpSet DnsGraph::resolve(const std::string& name) const {
  IpSet out;
  for (const auto& n : walk({name}, cname_to_)) {
    auto it = addrs_.find(n);
    if (it != addrs_.end()) out.insert(it->second.begin(), it->second.end());
  }
  return out;
}

std::set<std::string> DnsGraph::names_on(const IpAddr& ip) const {
  auto it = owners_.find(ip);
  if (it == owners_.end()) return {};
  return walk(it->second, cname_from_);
}

// ---- Step 3 / 4 -------------------------------------------------------------------------

IpVerdict classify_ip(const DnsGraph& g, const PublicSuffixList& psl, const IpAddr& ip) {
  IpVerdict v;
  for (const auto& n : g.names_on(ip)) v.slds.insert(sld_of(psl, n));
  v.dedicated = v.slds.size() == 1;
  return v;
}

DomainVerdict classify_domain(const DnsGraph& g, const std::string& fqdn,
                              const std::map<IpAddr, IpVerdict, IpLess>& ip_verdicts) {
  DomainVerdict d;
  d.ips = g.resolve(fqdn);
  for (const auto& ip : d.ips)
    if (!ip_verdicts.at(ip).dedicated) d.shared_ips.insert(ip);
  d.status = d.ips.empty()          ? DomainStatus::kUnresolved
             : d.shared_ips.empty() ? DomainStatus::kDedicated
                                    : DomainStatus::kShared;
  return d;
}

// ---- Step 5 / 6 -------------------------------------------------------------------------

std::vector<ServiceLevel> service_levels(const Catalog& c, const std::vector<ServiceTally>& t,
                                         size_t min_primary) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < c.services.size(); ++i) index[c.services[i].key] = i;
  std::vector<ServiceLevel> out(c.services.size());
  for (size_t i = 0; i < out.size(); ++i) out[i].sufficient = t[i].primary_dedicated >= min_primary;
  for (size_t i = 0; i < out.size(); ++i) {
    // Parent chains are finite: levels strictly decrease towards the root (catalog check).
    for (std::optional<size_t> s = i; s;) {
      if (out[*s].sufficient) {
        out[i].detected_as = s;
        break;
      }
      const auto& p = c.services[*s].parent;
      s = p.empty() ? std::nullopt : std::optional<size_t>(index.at(p));
    }
  }
  return out;
}

std::string drop_reason(const ServiceTally& t, size_t min_primary,
                        const std::vector<std::string>& failed_primaries) {
  std::ostringstream s;
  if (t.primary == 0) {
    s << "no primary domain in the catalog (after dropping generic ones)";
  } else {
    s << t.primary_dedicated << " of " << t.primary << " primary domains dedicated, need "
      << min_primary;
    for (const auto& f : failed_primaries) s << "; " << f;
  }
  return s.str();
}

// ---- Dates ------------------------------------------------------------------------------

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t days_from_date(const std::string& d) {
  int64_t y = std::stoi(d.substr(0, 4));
  const unsigned m = std::stoi(d.substr(5, 2)), day = std::stoi(d.substr(8, 2));
  y -= m <= 2;
  const int64_t era = y / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string date_from_days(int64_t z) {
  z += 719468;
  const int64_t era = z / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

// ---- Pipeline ---------------------------------------------------------------------------

namespace {

// Endpoint identity in output order: address, then protocol, then port (any first).
struct EndpointKey {
  IpAddr ip;
  PortSpec spec;
  bool operator<(const EndpointKey& o) const {
    if (!(ip == o.ip)) return ip_less(ip, o.ip);
    return spec < o.spec;
  }
};

std::string describe_failure(const std::string& fqdn, const DomainVerdict& d,
                             const std::map<IpAddr, IpVerdict, IpLess>& ips) {
  if (d.status == DomainStatus::kUnresolved) return fqdn + " has no address in the DNS window";
  const IpAddr& ip = *d.shared_ips.begin();
  std::string s = fqdn + " is on shared IP " + format_ip(ip) + " (SLDs";
  for (const auto& sld : ips.at(ip).slds) s += " " + sld;
  s += ")";
  if (d.shared_ips.size() > 1) s += " and " + std::to_string(d.shared_ips.size() - 1) + " more";
  return s;
}

}  // namespace

BuildResult build(const Catalog& c, const std::vector<std::vector<DnsRecord>>& dns,
                  const PublicSuffixList& psl, const BuildOptions& opt) {
  if (!valid_date(opt.date))
    throw HitlistError("options", 0, "option.date", "'" + opt.date + "' is not YYYY-MM-DD");
  if (opt.window_days < 1 || opt.window_days > 3660)
    throw HitlistError("options", 0, "option.window_days", "must be 1..3660");
  if (opt.min_primary < 1) throw HitlistError("options", 0, "option.min_primary", "must be >= 1");
  BuildResult r;
  r.opt = opt;
  const int64_t day = days_from_date(opt.date);
  r.window_from = (day - (opt.window_days - 1)) * 86400;
  r.window_until = day * 86400 + 86399;
  r.catalog_services = c.services.size();
  r.catalog_lines = c.uses.size();
  r.psl_rules = psl.rule_count();

  std::vector<DnsRecord> all;
  for (const auto& file : dns) {
    for (const auto& rec : file) {
      ++r.dns_records;
      (rec.type == RrType::kA ? r.dns_a : rec.type == RrType::kAaaa ? r.dns_aaaa : r.dns_cname)++;
    }
    all.insert(all.end(), file.begin(), file.end());
  }
  const DnsGraph graph(all, r.window_from, r.window_until);
  r.dns_in_window = graph.records_used();

  // 1. generic domains out.
  r.candidates = drop_generic(c, r.generic);
  r.catalog_domains = r.candidates.size() + r.generic.dropped_domains.size();
  // 2. SLDs.
  for (const auto& cand : r.candidates) {
    if (!psl.registrable_domain(cand.fqdn)) ++r.public_suffix_names;
    r.candidate_slds.insert(sld_of(psl, cand.fqdn));
  }
  // 3. IPs the candidates reach.
  for (const auto& cand : r.candidates)
    for (const auto& ip : graph.resolve(cand.fqdn))
      if (!r.ips.count(ip)) r.ips.emplace(ip, classify_ip(graph, psl, ip));
  // 4. Domains.
  for (const auto& cand : r.candidates)
    r.domains[cand.fqdn] = classify_domain(graph, cand.fqdn, r.ips);
  // 5. Levels.
  r.tallies.assign(c.services.size(), {});
  std::vector<std::vector<std::string>> failed(c.services.size());
  for (const auto& cand : r.candidates) {
    const auto& d = r.domains.at(cand.fqdn);
    const bool ok = d.status == DomainStatus::kDedicated;
    for (const auto& [svc, role] : cand.uses) {
      auto& t = r.tallies[svc];
      if (role == Role::kPrimary) {
        ++t.primary;
        t.primary_dedicated += ok;
        if (!ok) failed[svc].push_back(describe_failure(cand.fqdn, d, r.ips));
      } else {
        ++t.support;
        t.support_dedicated += ok;
      }
    }
  }
  r.levels = service_levels(c, r.tallies, opt.min_primary);
  // 6. Drop services; kept ones hang under their nearest kept ancestor.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < c.services.size(); ++i) index[c.services[i].key] = i;
  std::vector<size_t> kept;
  for (const auto& [key, i] : index) {
    if (r.levels[i].sufficient)
      kept.push_back(i);
    else
      r.dropped.push_back({i, drop_reason(r.tallies[i], opt.min_primary, failed[i])});
  }
  std::stable_sort(kept.begin(), kept.end(), [&](size_t a, size_t b) {
    return c.services[a].level < c.services[b].level;
  });  // platforms, then manufacturers, then products; by key within a level

  Bundle& b = r.bundle;
  b.valid_from = b.valid_until = opt.date;
  std::map<size_t, ServiceId> out_id;
  for (size_t i : kept) {
    Service s;
    s.id = static_cast<ServiceId>(b.services.size());
    s.key = c.services[i].key;
    s.name = c.services[i].name;
    s.level = c.services[i].level;
    out_id[i] = s.id;
    b.services.push_back(std::move(s));
  }
  for (size_t i : kept) {
    const auto& p = c.services[i].parent;
    if (p.empty()) continue;
    const auto anc = r.levels[index.at(p)].detected_as;
    if (anc) b.services[out_id.at(i)].parent = out_id.at(*anc);
  }
  std::map<EndpointKey, std::set<std::string>> eps;
  std::map<std::string, DomainId> dom_id;
  for (const auto& cand : r.candidates) {
    const auto& d = r.domains.at(cand.fqdn);
    if (d.status != DomainStatus::kDedicated) continue;
    Domain dom;
    dom.fqdn = cand.fqdn;
    for (const auto& [svc, role] : cand.uses)
      if (r.levels[svc].sufficient) dom.uses.push_back({out_id.at(svc), role});
    if (dom.uses.empty()) continue;
    std::sort(dom.uses.begin(), dom.uses.end(), [&](const DomainUse& x, const DomainUse& y) {
      return b.services[x.service].key < b.services[y.service].key;
    });
    dom.id = static_cast<DomainId>(b.domains.size());
    dom_id[dom.fqdn] = dom.id;
    b.domains.push_back(std::move(dom));
    const std::vector<PortSpec> ports =
        cand.ports.empty() ? std::vector<PortSpec>{PortSpec{}} : cand.ports;
    for (const auto& ip : d.ips)
      for (const auto& p : ports) eps[EndpointKey{ip, p}].insert(cand.fqdn);
  }
  for (const auto& [key, names] : eps) {
    Endpoint e;
    e.addr = key.ip;
    e.prefix_len = e.addr.v4 ? 32 : 128;
    e.proto = key.spec.proto;
    e.any_port = key.spec.any_port;
    e.port = key.spec.port;
    for (const auto& n : names) e.domains.push_back(dom_id.at(n));
    b.endpoints.push_back(std::move(e));
  }
  return r;
}

// ---- Rendering --------------------------------------------------------------------------

std::string write_bundle(const BuildResult& r) {
  const Bundle& b = r.bundle;
  std::ostringstream o;
  o << "# Haystack hitlist bundle built by haystack-hitlist build (docs/hitlist-builder.md)\n"
    << "hitlist " << kFormatVersion << "\n"
    << "valid_from " << b.valid_from << "\nvalid_until " << b.valid_until << "\n"
    << "provenance built by haystack-hitlist build (METHODS §3)\n"
    << "provenance catalog " << r.opt.catalog_name << "\n";
  for (const auto& d : r.opt.dns_names) o << "provenance dns " << d << "\n";
  o << "provenance psl " << r.opt.psl_name << (r.opt.psl_icann_only ? " (ICANN section)" : "")
    << "\n"
    << "provenance dns window " << date_from_days(r.window_from / 86400) << ".."
    << date_from_days(r.window_until / 86400) << ", min dedicated primary domains "
    << r.opt.min_primary << "\n\n";
  for (const auto& s : b.services)
    o << "service " << s.key << " " << level_name(s.level) << " "
      << (s.parent == kNoService ? std::string("-") : b.services[s.parent].key) << " " << s.name
      << "\n";
  o << "\n";
  for (const auto& d : b.domains) {
    o << "domain " << d.fqdn;
    for (const auto& u : d.uses) o << " " << b.services[u.service].key << ":" << role_name(u.role);
    o << "\n";
  }
  o << "\n";
  for (const auto& e : b.endpoints) {
    o << "endpoint " << format_ip(e.addr) << " "
      << (e.proto == 6    ? "tcp"
          : e.proto == 17 ? "udp"
                          : "any")
      << " " << (e.any_port ? std::string("any") : std::to_string(e.port));
    for (auto id : e.domains) o << " " << b.domains[id].fqdn;
    o << "\n";
  }
  return o.str();
}

std::string write_report(const BuildResult& r, const Catalog& c) {
  std::ostringstream o;
  size_t ded_ips = 0;
  for (const auto& [ip, v] : r.ips) ded_ips += v.dedicated;
  size_t n_ded = 0, n_shared = 0, n_unres = 0;
  for (const auto& [f, d] : r.domains) {
    n_ded += d.status == DomainStatus::kDedicated;
    n_shared += d.status == DomainStatus::kShared;
    n_unres += d.status == DomainStatus::kUnresolved;
  }
  o << "haystack-hitlist build report\n"
    << "date " << r.opt.date << ", DNS window " << date_from_days(r.window_from / 86400) << ".."
    << date_from_days(r.window_until / 86400) << " (" << r.opt.window_days
    << (r.opt.window_days == 1 ? " day" : " days") << ")\n\n"
    << "inputs\n"
    << "  catalog " << r.opt.catalog_name << ": " << r.catalog_services << " services, "
    << r.catalog_lines << " domain lines, " << r.catalog_domains << " domains\n";
  for (const auto& d : r.opt.dns_names) o << "  dns " << d << "\n";
  o << "  dns records: " << r.dns_records << " (A " << r.dns_a << ", AAAA " << r.dns_aaaa
    << ", CNAME " << r.dns_cname << "), " << r.dns_in_window << " in the window\n"
    << "  psl " << r.opt.psl_name << ": " << r.psl_rules << " rules"
    << (r.opt.psl_icann_only ? " (ICANN section)" : " (ICANN and private sections)") << "\n\n"
    << "steps\n"
    << "  1 drop generic: " << r.generic.generic_uses << " generic domain lines, "
    << r.generic.dropped_domains.size() << " domains dropped, " << r.candidates.size()
    << " candidate domains left\n"
    << "  2 SLD: " << r.candidate_slds.size() << " distinct SLDs among the candidates ("
    << r.public_suffix_names << " of them public suffixes themselves)\n"
    << "  3 classify IPs: " << r.ips.size() << " IPs reached by candidates: " << ded_ips
    << " dedicated, " << r.ips.size() - ded_ips << " shared\n"
    << "  4 keep domains: " << n_ded << " dedicated, " << n_shared << " on shared IPs, " << n_unres
    << " without address in the window\n";
  size_t lvl_total[3] = {}, lvl_ok[3] = {};
  for (size_t i = 0; i < c.services.size(); ++i) {
    const auto l = static_cast<size_t>(c.services[i].level);
    ++lvl_total[l];
    lvl_ok[l] += r.levels[i].sufficient;
  }
  o << "  5 detection levels: detectable at their own level: platform " << lvl_ok[0] << "/"
    << lvl_total[0] << ", manufacturer " << lvl_ok[1] << "/" << lvl_total[1] << ", product "
    << lvl_ok[2] << "/" << lvl_total[2] << "\n"
    << "  6 drop services: " << r.bundle.services.size() << " kept, " << r.dropped.size()
    << " dropped (min " << r.opt.min_primary << " dedicated primary domain"
    << (r.opt.min_primary == 1 ? "" : "s") << ")\n\n"
    << "output: " << r.bundle.services.size() << " services, " << r.bundle.domains.size()
    << " domains, " << r.bundle.endpoints.size() << " endpoints\n\n";

  o << "dropped services (" << r.dropped.size() << ")\n";
  for (const auto& d : r.dropped) {
    const auto& s = c.services[d.service];
    const auto& as = r.levels[d.service].detected_as;
    o << "  " << s.key << " (" << level_name(s.level) << "): " << d.reason << "; devices "
      << (as ? "detectable only as " + c.services[*as].key + " (" +
                   std::string(level_name(c.services[*as].level)) + ")"
             : std::string("not detectable"))
      << "\n";
  }
  o << "\nkept services (" << r.bundle.services.size() << ")\n";
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < c.services.size(); ++i) index[c.services[i].key] = i;
  for (const auto& s : r.bundle.services) {
    const auto& t = r.tallies[index.at(s.key)];
    o << "  " << s.key << " (" << level_name(s.level) << ", parent "
      << (s.parent == kNoService ? std::string("-") : r.bundle.services[s.parent].key)
      << "): primary " << t.primary_dedicated << "/" << t.primary << " dedicated, support "
      << t.support_dedicated << "/" << t.support << " dedicated\n";
  }
  o << "\ngeneric-only domains dropped (" << r.generic.dropped_domains.size() << ")\n";
  for (const auto& d : r.generic.dropped_domains) o << "  " << d << "\n";
  o << "\ndomains on shared IPs (" << n_shared << ")\n";
  for (const auto& [f, d] : r.domains)
    if (d.status == DomainStatus::kShared) o << "  " << describe_failure(f, d, r.ips) << "\n";
  o << "\ndomains without address in the window (" << n_unres << ")\n";
  for (const auto& [f, d] : r.domains)
    if (d.status == DomainStatus::kUnresolved) o << "  " << f << "\n";
  return o.str();
}

}  // namespace haystack::hitlist
