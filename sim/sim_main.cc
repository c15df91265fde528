// haystack-sim: deterministic ISP traffic with IoT devices and ground truth (docs/simulator.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "signatures/hitlist_loader.h"
#include "sim/sim_traffic.h"
#include "sim/sim_world.h"

using namespace haystack;
using namespace haystack::sim;
using nlohmann::ordered_json;

namespace {

std::string date_of(int64_t s) {
  const std::time_t t = s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

int64_t parse_date(const std::string& d) {
  std::tm tm{};
  if (!strptime(d.c_str(), "%Y-%m-%d", &tm))
    throw CLI::ValidationError("--start", "not YYYY-MM-DD");
  return int64_t(timegm(&tm));
}

// The Alexa-enabled third-party device: only the Alexa platform's names, at the periods an
// Echo uses for them (300 s when the catalog has none).
void add_alexa3p(std::vector<Model>& models, const World& w) {
  std::map<std::string, uint32_t> periods;
  for (const auto& m : models)
    if (m.name.rfind("echo", 0) == 0)
      for (const auto& r : m.rows) periods.emplace(r.domain, r.period);
  Model a;
  a.name = "alexa-3p";
  a.alexa3p = true;
  for (const auto& s : w.bundle.services) {
    if (s.level != hitlist::Level::kPlatform || s.key.find("alexa") == std::string::npos) continue;
    for (const auto& d : w.bundle.domains)
      for (const auto& u : d.uses)
        if (u.service == s.id && d.uses.size() == 1) {
          Row r;
          r.domain = d.fqdn;
          r.proto = 6;
          auto it = periods.find(d.fqdn);
          r.period = it != periods.end() ? it->second : 300;
          r.party = u.role == hitlist::Role::kPrimary ? 1 : 2;
          r.hit = int32_t(d.id);
          a.rows.push_back(r);
        }
  }
  if (!a.rows.empty()) models.push_back(std::move(a));
}

void write_hitlist(const std::string& in, const std::string& out, const World& w,
                   const SimConfig& cfg, uint32_t days) {
  std::ifstream f(in);
  std::ofstream o(out);
  std::string s;
  auto proto = [](uint8_t p) { return p == 17 ? "udp" : "tcp"; };
  while (std::getline(f, s)) {
    if (s.rfind("valid_from", 0) == 0) {
      o << "valid_from " << date_of(cfg.start_s) << "\n";
    } else if (s.rfind("valid_until", 0) == 0) {
      o << "valid_until " << date_of(cfg.start_s + int64_t(days - 1) * 86400) << "\n";
      o << "provenance haystack-sim seed " << cfg.seed << ": " << in
        << " plus the addresses domains moved to (churn " << cfg.churn << " per day)\n";
    } else {
      o << s << "\n";
    }
  }
  for (const auto& c : w.churned)
    o << "endpoint " << prefix_id(c.t.addr, 32).substr(0, prefix_id(c.t.addr, 32).size() - 3) << " "
      << proto(c.t.proto) << " " << c.t.port << " " << w.bundle.domains[c.domain].fqdn << "\n";
  if (!o) throw std::runtime_error(out + ": write failed");
}

void write_dns(const std::string& out, const World& w, const std::vector<Model>& models,
               const SimConfig& cfg, uint32_t days) {
  std::ofstream o(out);
  o << "dns 1\n# haystack-sim DNS world: dedicated hitlist addresses (with churn) and shared "
       "CDN/NTP pools\n";
  auto host = [](const IpAddr& a) {
    std::string p = prefix_id(a, a.v4 ? 32 : 128);
    return p.substr(0, p.find('/'));
  };
  for (size_t d = 0; d < w.bundle.domains.size(); ++d)
    for (uint32_t day = 0; day < days; ++day) {
      const int64_t a = cfg.start_s + int64_t(day) * 86400, b = a + 86399;
      for (const auto& t : w.v4[d][day])
        o << w.bundle.domains[d].fqdn << " A " << host(t.addr) << " " << a << " " << b << "\n";
      for (const auto& t : w.v6[d][day])
        o << w.bundle.domains[d].fqdn << " AAAA " << host(t.addr) << " " << a << " " << b << "\n";
    }
  std::set<std::string> generic;
  for (const auto& m : models)
    for (const auto& r : m.rows)
      if (r.hit < 0) generic.insert(r.domain + (r.ntp ? " n" : " c"));
  const int64_t a = cfg.start_s, b = cfg.start_s + int64_t(days) * 86400 - 1;
  for (const auto& g : generic) {
    const std::string name = g.substr(0, g.size() - 2);
    uint64_t hn = 1469598103934665603ULL;
    for (char c : name) hn = (hn ^ uint8_t(c)) * 1099511628211ULL;
    const auto& pool = g.back() == 'n' ? w.ntp_pool : w.cdn_pool;
    if (name.find('*') != std::string::npos) continue;
    o << name << " A " << host(pool[hn % pool.size()]) << " " << a << " " << b << "\n";
  }
}

std::vector<std::string> names(const World& w, const std::vector<hitlist::DomainId>& ds) {
  std::vector<std::string> v;
  for (auto d : ds) v.push_back(w.bundle.domains[d].fqdn);
  std::sort(v.begin(), v.end());
  return v;
}
std::vector<std::string> svc_keys(const World& w, double d,
                                  const std::vector<hitlist::DomainId>& ds) {
  std::vector<std::string> v;
  for (auto s : detectable(w.bundle, d, ds)) v.push_back(w.bundle.services[s].key);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"haystack-sim: deterministic ISP traffic with IoT devices and ground truth"};
  SimConfig cfg;
  std::string bundle_path, catalog, pyasn, out_dir, start = "2026-11-01";
  uint32_t days = 3;
  int hours = 0;
  app.add_option("--bundle", bundle_path, "hitlist bundle (services, domains, endpoints)")
      ->required();
  app.add_option("--catalog", catalog, "BehavIoT destination-party directory")->required();
  app.add_option("--pyasn", pyasn,
                 "pyasn ipasn .dat text file (uncompressed) for background prefixes");
  app.add_option("--out", out_dir, "output directory")->required();
  app.add_option("--seed", cfg.seed, "random seed");
  app.add_option("--lines", cfg.lines, "subscriber lines")->check(CLI::Range(1u, 2000000u));
  app.add_option("--days", days, "simulated days")->check(CLI::Range(1u, 60u));
  app.add_option("--hours", hours, "simulated hours (overrides --days)")
      ->check(CLI::Range(1, 1440));
  app.add_option("--start", start, "first day, UTC (YYYY-MM-DD)");
  app.add_option("--iot-fraction", cfg.iot_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--nat-fraction", cfg.nat_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--alexa3p-fraction", cfg.alexa3p_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--v6-fraction", cfg.v6_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--reassign-fraction", cfg.reassign_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--idle-device-fraction", cfg.idle_device_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--active-prob", cfg.active_prob)->check(CLI::Range(0.0, 1.0));
  app.add_option("--burst-packets", cfg.burst_packets)->check(CLI::Range(1u, 100000u));
  app.add_option("--packets-per-contact", cfg.packets_per_contact,
                 "packets of one periodic contact, 20 ms apart")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--bg-pph", cfg.bg_pph, "background packets per line and hour")
      ->check(CLI::Range(0.0, 500.0));
  app.add_option("--bg-popular-fraction", cfg.bg_popular_fraction)->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-period", cfg.min_period, "raise shorter catalog periods to this (s)")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--generic-min-period", cfg.generic_min_period,
                 "raise shorter periods of non-hitlist destinations to this (s)")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--churn", cfg.churn, "per domain and day: probability of a new address")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--truth-d", cfg.truth_d, "D for the expected labels")
      ->check(CLI::Range(0.01, 1.0));
  CLI11_PARSE(app, argc, argv);
  try {
    cfg.start_s = parse_date(start);
    cfg.hours = hours > 0 ? uint32_t(hours) : days * 24;
    days = (cfg.hours + 23) / 24;
    const auto t0 = std::chrono::steady_clock::now();
    const hitlist::Bundle b = hitlist::load_bundle(bundle_path);
    std::vector<Model> models = load_behaviot(catalog, cfg.min_period);
    World w = build_world(b, cfg, days, pyasn);
    for (auto& m : models)
      for (auto& r : m.rows) {
        auto it = w.domain_ids.find(r.domain);
        // a hitlist name without any address is served from shared addresses (generic)
        if (it != w.domain_ids.end() &&
            (!w.v4[it->second][0].empty() || !w.v6[it->second][0].empty()))
          r.hit = int32_t(it->second);
      }
    for (auto& m : models)
      for (auto& r : m.rows)
        if (r.hit < 0) r.period = std::max(r.period, cfg.generic_min_period);
    // Only models with at least one hitlist name are IoT devices the hitlist can see; the
    // others would only add generic traffic.
    std::erase_if(models, [](const Model& m) {
      return std::none_of(m.rows.begin(), m.rows.end(), [](const Row& r) { return r.hit >= 0; });
    });
    add_alexa3p(models, w);
    if (models.empty()) throw std::runtime_error(catalog + ": no device reaches a hitlist domain");
    Population pop = build_population(w, models, cfg);

    std::filesystem::create_directories(out_dir);
    const std::string pcap_path = out_dir + "/sim.pcap";
    std::FILE* f = std::fopen(pcap_path.c_str(), "wb");
    if (!f) throw std::runtime_error(pcap_path + ": cannot create");
    std::vector<char> buf(8 << 20);
    std::setvbuf(f, buf.data(), _IOFBF, buf.size());
    std::vector<BgHit> bg;
    const GenStats st = generate(w, models, cfg, pop, f, bg);
    if (std::fclose(f) != 0) throw std::runtime_error(pcap_path + ": write failed");
    std::sort(bg.begin(), bg.end());
    bg.erase(std::unique(bg.begin(), bg.end(),
                         [](const BgHit& a, const BgHit& c) { return !(a < c) && !(c < a); }),
             bg.end());

    write_hitlist(bundle_path, out_dir + "/sim.hitlist", w, cfg, days);
    write_dns(out_dir + "/world.dns", w, models, cfg, days);

    // Ground truth
    std::ofstream t(out_dir + "/truth.jsonl");
    ordered_json meta;
    meta["type"] = "meta";
    meta["seed"] = cfg.seed;
    meta["lines"] = cfg.lines;
    meta["hours"] = cfg.hours;
    meta["start"] = date_of(cfg.start_s);
    meta["start_ns"] = uint64_t(cfg.start_s) * 1000000000ULL;
    meta["bundle"] = bundle_path;
    meta["truth_d"] = cfg.truth_d;
    meta["params"] = {{"iot_fraction", cfg.iot_fraction},
                      {"nat_fraction", cfg.nat_fraction},
                      {"alexa3p_fraction", cfg.alexa3p_fraction},
                      {"v6_fraction", cfg.v6_fraction},
                      {"reassign_fraction", cfg.reassign_fraction},
                      {"idle_device_fraction", cfg.idle_device_fraction},
                      {"active_prob", cfg.active_prob},
                      {"burst_packets", cfg.burst_packets},
                      {"packets_per_contact", cfg.packets_per_contact},
                      {"bg_pph", cfg.bg_pph},
                      {"bg_popular_fraction", cfg.bg_popular_fraction},
                      {"min_period", cfg.min_period},
                      {"generic_min_period", cfg.generic_min_period},
                      {"churn", cfg.churn}};
    meta["devices"] = pop.devices.size();
    meta["packets"] = st.packets;
    meta["iot_packets"] = st.iot_packets;
    meta["burst_packets"] = st.burst_packets;
    meta["background_packets"] = st.bg_packets;
    meta["background_hitlist_packets"] = st.bg_hitlist;
    meta["bytes"] = st.bytes;
    meta["churned_addresses"] = w.churned.size();
    t << meta.dump() << "\n";
    const uint64_t sim_end = uint64_t(cfg.hours) * 3600;
    for (size_t di = 0; di < pop.devices.size(); ++di) {
      const Device& d = pop.devices[di];
      const Model& m = models[d.model];
      const Line& l = pop.lines[d.line];
      ordered_json j;
      j["type"] = "device";
      j["device"] = di;
      j["line"] = d.line;
      j["model"] = m.name;
      j["alexa3p"] = m.alexa3p;
      j["idle"] = d.idle;
      uint64_t first = UINT64_MAX;
      ordered_json by_day = ordered_json::array();
      std::set<hitlist::DomainId> all;
      for (uint32_t day = 0; day < days; ++day) {
        std::vector<hitlist::DomainId> ds;
        for (size_t r = 0; r < m.rows.size(); ++r) {
          if (m.rows[r].hit < 0) continue;
          const auto dom = hitlist::DomainId(m.rows[r].hit);
          if (family_for(w, l, dom, day) == 0) continue;
          if (contacts_in(m, d, r, uint64_t(day) * 86400,
                          std::min<uint64_t>(sim_end, (day + 1) * 86400ULL))) {
            const int fam = family_for(w, l, dom, day);
            for (auto e : w.evidence[target_for(w, cfg, uint32_t(di), r, dom, fam, day).evidence]) {
              ds.push_back(e);
              all.insert(e);
            }
          }
        }
        std::sort(ds.begin(), ds.end());
        ds.erase(std::unique(ds.begin(), ds.end()), ds.end());
        by_day.push_back({{"day", date_of(cfg.start_s + int64_t(day) * 86400)},
                          {"domains", names(w, ds)},
                          {"expected", svc_keys(w, cfg.truth_d, ds)}});
      }
      for (size_t r = 0; r < m.rows.size(); ++r)
        if (m.rows[r].hit >= 0 && d.phase[r] < sim_end)
          first = std::min<uint64_t>(first, d.phase[r]);
      j["first_contact_ns"] =
          first == UINT64_MAX ? 0 : (uint64_t(cfg.start_s) + first) * 1000000000ULL;
      j["days"] = by_day;
      // Domains reached in every clock hour (period <= 1 h) on the first day: what one
      // hourly window shows at least; `hour_expected` are the services they give.
      std::vector<hitlist::DomainId> hd;
      for (size_t r = 0; r < m.rows.size(); ++r) {
        if (m.rows[r].hit < 0 || m.rows[r].period > 3600 || cfg.hours < 1) continue;
        const auto dom = hitlist::DomainId(m.rows[r].hit);
        const int fam = family_for(w, l, dom, 0);
        if (fam == 0) continue;
        for (auto e : w.evidence[target_for(w, cfg, uint32_t(di), r, dom, fam, 0).evidence])
          hd.push_back(e);
      }
      std::sort(hd.begin(), hd.end());
      hd.erase(std::unique(hd.begin(), hd.end()), hd.end());
      j["hour_domains"] = names(w, hd);
      j["hour_expected"] = svc_keys(w, cfg.truth_d, hd);
      j["active_hours"] = d.active_hours;
      t << j.dump() << "\n";
    }
    // Per line, day and family: what haystackd sees under that day's line id.
    size_t bi = 0;
    for (uint32_t li = 0; li < cfg.lines; ++li) {
      const Line& l = pop.lines[li];
      for (uint32_t day = 0; day < days; ++day) {
        for (int fam : {4, 6}) {
          std::set<hitlist::DomainId> iot, other;
          std::set<std::array<uint8_t, 16>> ips;  // distinct hitlist servers (scanner rule)
          std::vector<uint32_t> devs;
          for (uint32_t k = 0; k < l.devices; ++k) {
            const Device& d = pop.devices[l.first_device + k];
            const Model& m = models[d.model];
            bool any = false;
            for (size_t r = 0; r < m.rows.size(); ++r) {
              if (m.rows[r].hit < 0) continue;
              const auto dom = hitlist::DomainId(m.rows[r].hit);
              if (family_for(w, l, dom, day) != fam) continue;
              if (contacts_in(m, d, r, uint64_t(day) * 86400,
                              std::min<uint64_t>(sim_end, (day + 1) * 86400ULL))) {
                const Target& tg = target_for(w, cfg, l.first_device + k, r, dom, fam, day);
                for (auto e : w.evidence[tg.evidence]) iot.insert(e);
                ips.insert(tg.addr.b);
                any = true;
              }
            }
            if (any) devs.push_back(l.first_device + k);
          }
          while (bi < bg.size() &&
                 std::tie(bg[bi].line, bg[bi].day, bg[bi].family) < std::tie(li, day, fam))
            ++bi;
          for (size_t k = bi;
               k < bg.size() && bg[k].line == li && bg[k].day == day && bg[k].family == fam; ++k) {
            for (auto e : w.evidence[bg[k].evidence]) other.insert(e);
            const uint8_t p4[4] = {uint8_t(bg[k].ip >> 24), uint8_t(bg[k].ip >> 16),
                                   uint8_t(bg[k].ip >> 8), uint8_t(bg[k].ip)};
            ips.insert(IpAddr::from_v4(p4).b);
          }
          if (iot.empty() && other.empty()) continue;
          std::vector<hitlist::DomainId> iv(iot.begin(), iot.end()), ov(other.begin(), other.end());
          std::vector<hitlist::DomainId> un = iv;
          un.insert(un.end(), ov.begin(), ov.end());
          ordered_json j;
          j["type"] = "lineday";
          j["line"] = li;
          j["day"] = date_of(cfg.start_s + int64_t(day) * 86400);
          j["family"] = fam;
          j["id"] = fam == 4 ? prefix_id(line_v4(pop, cfg, li, day), 32)
                             : prefix_id(line_v6(pop, cfg, li, day), 56);
          j["devices"] = devs;
          j["iot_domains"] = names(w, iv);
          j["background_domains"] = names(w, ov);
          // > 100 distinct hitlist servers in the day: haystackd's scanner rule, no detections
          j["backend_ips"] = ips.size();
          const bool scanner = ips.size() > 100;
          j["scanner"] = scanner;
          j["expected"] = scanner ? std::vector<std::string>{} : svc_keys(w, cfg.truth_d, iv);
          j["expected_with_background"] =
              scanner ? std::vector<std::string>{} : svc_keys(w, cfg.truth_d, un);
          t << j.dump() << "\n";
        }
      }
    }
    if (!t) throw std::runtime_error(out_dir + "/truth.jsonl: write failed");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ordered_json sum = meta;
    sum.erase("type");
    sum["models"] = models.size();
    sum["seconds"] = secs;
    std::cout << sum.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "haystack-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
