#include "sim/sim_world.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace haystack::sim {
namespace {

[[noreturn]] void bad(const std::string& file, int line, const std::string& field,
                      const std::string& msg) {
  throw std::runtime_error(file + ":" + std::to_string(line) + ": " + field + ": " + msg);
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

IpAddr v4addr(uint32_t a) {
  const uint8_t p[4] = {uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)};
  return IpAddr::from_v4(p);
}
uint32_t v4u(const IpAddr& a) {
  return uint32_t(a.b[12]) << 24 | uint32_t(a.b[13]) << 16 | uint32_t(a.b[14]) << 8 | a.b[15];
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0 &&
         (s.size() == suf.size() || s[s.size() - suf.size() - 1] == '.');
}

}  // namespace

std::vector<Model> load_behaviot(const std::string& dir, uint32_t min_period) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".csv" && e.path().stem() != "_overall") files.push_back(e.path());
  }
  if (ec) bad(dir, 0, "file", "cannot list directory: " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Model> models;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) bad(f.string(), 0, "file", "cannot open");
    Model m;
    m.name = f.stem().string();
    std::string s;
    int ln = 0;
    while (std::getline(in, s)) {
      ++ln;
      auto t = split_csv(s);
      if (ln == 1) {
        if (t.size() < 5 || t[0] != "protocol" || t[1] != "domain" || t[2] != "period")
          bad(f.string(), ln, "header", "expected protocol,domain,period,org,party");
        continue;
      }
      if (t.size() == 1 && t[0].empty()) continue;
      if (t.size() < 5) bad(f.string(), ln, "record", "expected 5 fields");
      Row r;
      if (t[0] == "DNS") continue;
      if (t[0] == "TCP") {
        r.proto = 6;
      } else if (t[0] == "UDP" || t[0] == "NTP") {
        r.proto = 17;
        r.ntp = t[0] == "NTP";
      } else {
        bad(f.string(), ln, "protocol", "'" + t[0] + "' is not TCP, UDP, NTP or DNS");
      }
      r.domain = lower(t[1]);
      if (r.domain.empty()) bad(f.string(), ln, "domain", "empty");
      char* end = nullptr;
      const unsigned long p = std::strtoul(t[2].c_str(), &end, 10);
      if (t[2].empty() || *end) bad(f.string(), ln, "period", "'" + t[2] + "' is not a number");
      if (p == 0) continue;  // aperiodic: no contact schedule to replay
      r.period = std::max<uint32_t>(uint32_t(std::min<unsigned long>(p, 86400 * 7)), min_period);
      r.party = std::atoi(t[4].c_str());
      if (r.party < 1 || r.party > 3)
        bad(f.string(), ln, "party", "'" + t[4] + "' is not 1, 2 or 3");
      m.rows.push_back(r);
    }
    if (!m.rows.empty()) models.push_back(std::move(m));
  }
  if (models.empty()) bad(dir, 0, "file", "no BehavIoT destination-party tables");
  return models;
}

World build_world(const hitlist::Bundle& b, const SimConfig& cfg, uint32_t days,
                  const std::string& pyasn_file) {
  World w;
  w.bundle = b;
  for (const auto& d : b.domains) w.domain_ids[d.fqdn] = d.id;
  const size_t nd = b.domains.size();
  std::vector<std::vector<Target>> base4(nd), base6(nd);
  std::set<std::array<uint8_t, 16>> used;
  std::map<std::array<uint8_t, 16>, std::vector<size_t>> at;  // host endpoints per address
  for (size_t i = 0; i < b.endpoints.size(); ++i) {
    const auto& e = b.endpoints[i];
    if (e.prefix_len == (e.addr.v4 ? 32 : 128)) at[e.addr.b].push_back(i);
  }
  auto match = [&](const Target& t) -> std::vector<hitlist::DomainId> {
    auto it = at.find(t.addr.b);
    if (it == at.end()) return {};
    int best = -1;
    size_t bi = 0;
    for (size_t i : it->second) {
      const auto& e = b.endpoints[i];
      const bool pok = e.any_port || e.port == t.port, rok = e.proto == 0 || e.proto == t.proto;
      if (!pok || !rok) continue;
      const int rank = (e.any_port ? 0 : 2) + (e.proto == 0 ? 0 : 1);
      if (rank > best) best = rank, bi = i;
    }
    if (best < 0) return {};
    return b.endpoints[bi].domains;
  };
  for (const auto& e : b.endpoints) {
    IpAddr a = e.addr;
    const uint8_t host_len = a.v4 ? 32 : 128;
    if (e.prefix_len < host_len) a.b[15] |= 1;  // a host inside the prefix
    used.insert(a.b);
    Target t{a, uint8_t(e.proto == 0 ? 6 : e.proto), uint16_t(e.any_port ? 443 : e.port)};
    if (a.v4) {
      if (e.prefix_len == 32) {
        w.hit_hosts.insert(v4u(a));
      } else {
        w.hit_prefixes.push_back({v4u(e.addr), e.prefix_len});
      }
    }
    auto ev = match(t);
    if (ev.empty()) ev = e.domains;  // a prefix entry: its own domains
    t.evidence = uint32_t(w.evidence.size());
    w.evidence.push_back(ev);
    for (auto d : e.domains) (a.v4 ? base4 : base6)[d].push_back(t);
  }
  // Churn: a domain moves its first address to a fresh one next to it, from that day on.
  w.v4.assign(nd, std::vector<std::vector<Target>>(days));
  w.v6.assign(nd, std::vector<std::vector<Target>>(days));
  for (size_t d = 0; d < nd; ++d) {
    auto cur4 = base4[d];
    auto cur6 = base6[d];
    for (uint32_t day = 0; day < days; ++day) {
      if (day > 0 && !cur4.empty() && unit(hash(cfg.seed, 0xc4, d, day)) < cfg.churn) {
        Target t = cur4.front();
        uint32_t a = v4u(t.addr);
        do {
          a = (a & 0xffffff00u) | ((a + 1 + uint32_t(hash(cfg.seed, 0xc5, d, day) % 7)) & 0xff);
          if ((a & 0xff) == 0 || (a & 0xff) == 255) a += 2;
          t.addr = v4addr(a);
        } while (used.count(t.addr.b));
        used.insert(t.addr.b);
        w.hit_hosts.insert(a);
        t.evidence = uint32_t(w.evidence.size());
        w.evidence.push_back({hitlist::DomainId(d)});
        cur4.front() = t;
        w.churned.push_back({day, hitlist::DomainId(d), t});
      }
      w.v4[d][day] = cur4;
      w.v6[d][day] = cur6;
    }
  }
  // Background prefixes and the shared CDN / NTP pools from the real routing table.
  std::vector<std::pair<uint32_t, uint8_t>> cdn;
  if (!pyasn_file.empty()) {
    std::ifstream in(pyasn_file);
    if (!in) bad(pyasn_file, 0, "file", "cannot open");
    std::string s;
    int ln = 0;
    static const std::set<uint32_t> kCdnAs = {13335, 16509, 15169, 20940, 54113, 8075};
    while (std::getline(in, s)) {
      ++ln;
      if (s.empty() || s[0] == ';') continue;
      std::istringstream is(s);
      std::string pfx;
      uint32_t asn = 0;
      if (!(is >> pfx >> asn)) bad(pyasn_file, ln, "record", "expected PREFIX ASN");
      const auto slash = pfx.find('/');
      if (slash == std::string::npos) bad(pyasn_file, ln, "prefix", "missing /len");
      unsigned o[4];
      int len = std::atoi(pfx.c_str() + slash + 1);
      if (std::sscanf(pfx.substr(0, slash).c_str(), "%u.%u.%u.%u", &o[0], &o[1], &o[2], &o[3]) != 4)
        continue;  // IPv6 lines in a mixed file
      if (len < 8 || len > 24) continue;
      const uint32_t net = o[0] << 24 | o[1] << 16 | o[2] << 8 | o[3];
      // never the subscriber range (100.64/10) or documentation/special ranges
      if (o[0] == 0 || o[0] == 10 || o[0] == 127 || o[0] >= 224 ||
          (o[0] == 100 && (o[1] & 0xc0) == 64) || (o[0] == 192 && o[1] == 0 && o[2] == 2) ||
          (o[0] == 198 && (o[1] & 0xfe) == 18))
        continue;
      w.bg_prefixes.push_back({net, uint8_t(len)});
      if (kCdnAs.count(asn)) cdn.push_back({net, uint8_t(len)});
    }
  }
  if (w.bg_prefixes.empty()) w.bg_prefixes.push_back({0xc6120000u, 15});  // 198.18.0.0/15
  if (cdn.empty()) cdn = w.bg_prefixes;
  auto pick = [&](const std::vector<std::pair<uint32_t, uint8_t>>& pf, uint64_t h) {
    for (;;) {
      const auto& [net, len] = pf[h % pf.size()];
      const uint32_t host = uint32_t(mix(h) & ((len >= 32) ? 0 : ((1u << (32 - len)) - 1)));
      IpAddr a = v4addr(net | std::max<uint32_t>(host, 1));
      if (!used.count(a.b) && !w.on_hitlist(v4u(a))) return a;
      h = mix(h + 1);
    }
  };
  for (uint32_t i = 0; i < 256; ++i) w.cdn_pool.push_back(pick(cdn, hash(cfg.seed, 0xcd, i)));
  for (uint32_t i = 0; i < 16; ++i)
    w.ntp_pool.push_back(pick(w.bg_prefixes, hash(cfg.seed, 0x47, i)));
  // Names a web browser on any line reaches too (a source of false positives).
  static const char* kPopular[] = {"google.com", "googleapis.com",   "gstatic.com",
                                   "amazon.com", "media-amazon.com", "ssl-images-amazon.com",
                                   "apple.com",  "icloud.com",       "samsung.com"};
  for (const auto& d : b.domains) {
    if (base4[d.id].empty()) continue;
    for (const char* p : kPopular)
      if (ends_with(d.fqdn, p)) {
        w.popular.push_back(d.id);
        break;
      }
  }
  return w;
}

std::vector<hitlist::ServiceId> detectable(const hitlist::Bundle& b, double d,
                                           const std::vector<hitlist::DomainId>& contacted) {
  const size_t ns = b.services.size();
  std::vector<uint32_t> n(ns, 0), have(ns, 0);
  std::vector<bool> prim(ns, false);
  std::set<hitlist::DomainId> c(contacted.begin(), contacted.end());
  for (const auto& dom : b.domains) {
    for (const auto& u : dom.uses) {
      ++n[u.service];
      if (c.count(dom.id)) {
        ++have[u.service];
        if (u.role == hitlist::Role::kPrimary) prim[u.service] = true;
      }
    }
  }
  std::vector<int> holds(ns, -1);  // -1 unknown, 0 no, 1 yes (with the hierarchy)
  std::function<bool(size_t, int)> ok = [&](size_t s, int depth) -> bool {
    if (holds[s] >= 0) return holds[s] == 1;
    if (depth > 16) return false;
    const uint32_t k = std::max<uint32_t>(1, uint32_t(std::floor(d * n[s] + 1e-9)));
    bool r = n[s] > 0 && prim[s] && have[s] >= k;
    const auto p = b.services[s].parent;
    if (r && p != hitlist::kNoService) r = ok(p, depth + 1);
    holds[s] = r ? 1 : 0;
    return r;
  };
  std::vector<hitlist::ServiceId> out;
  for (size_t s = 0; s < ns; ++s)
    if (ok(s, 0)) out.push_back(hitlist::ServiceId(s));
  return out;
}

}  // namespace haystack::sim
