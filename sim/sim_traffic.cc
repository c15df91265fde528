#include "sim/sim_traffic.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

namespace haystack::sim {
namespace {

constexpr uint64_t kNs = 1'000'000'000ULL;

IpAddr v4addr(uint32_t a) {
  const uint8_t p[4] = {uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)};
  return IpAddr::from_v4(p);
}

// Diurnal activity: low at night, peak in the evening (UTC = local time here).
double diurnal(uint32_t hour_of_day) {
  static const double k[24] = {0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 0.9, 1.0, 0.8, 0.7, 0.7,
                               0.8, 0.8, 0.7, 0.7, 0.8, 1.0, 1.3, 1.6, 1.8, 1.6, 1.0, 0.5};
  return k[hour_of_day % 24];
}

// One packet to write. dst: v4 address, or (family 6) an index into the v6 target list.
struct Ev {
  uint64_t ts;  // ns since start
  uint32_t line;
  uint32_t src;  // device index + 1, 0 = the line's router (background)
  uint32_t dst4;
  uint16_t dport, sport;
  uint8_t proto, family;
  uint16_t pad = 0;
  const IpAddr* dst6 = nullptr;
  bool operator<(const Ev& o) const {
    return std::tie(ts, line, src, dst4, dport, sport) <
           std::tie(o.ts, o.line, o.src, o.dst4, o.dport, o.sport);
  }
};

uint32_t u4(const IpAddr& a) {
  return uint32_t(a.b[12]) << 24 | uint32_t(a.b[13]) << 16 | uint32_t(a.b[14]) << 8 | a.b[15];
}

uint32_t csum_add(uint32_t s, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) s += uint32_t(p[n - 1]) << 8;
  return s;
}
uint16_t csum_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

class PcapOut {
 public:
  explicit PcapOut(std::FILE* f) : f_(f) {
    const uint32_t hdr[6] = {0xA1B23C4D, 0x00040002, 0, 0, 65535, 1};
    std::fwrite(hdr, 1, 24, f_);
  }
  // Ethernet + IPv4/IPv6 + TCP (ACK|PSH, no payload) or UDP (8 bytes payload).
  size_t write(uint64_t ts_ns, const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport,
               uint16_t dport, uint32_t seq) {
    uint8_t f[128] = {};
    static const uint8_t kRouter[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(f, kRouter, 6);
    f[6] = 0x02;
    f[7] = 0x10;
    std::memcpy(f + 8, src.b.data() + 12, 4);
    const bool v4 = src.v4;
    f[12] = v4 ? 0x08 : 0x86;
    f[13] = v4 ? 0x00 : 0xdd;
    size_t l3 = 14, l4 = v4 ? 34 : 54;
    const size_t l4len = proto == 6 ? 20 : 16;
    if (v4) {
      f[l3] = 0x45;
      const uint16_t tot = uint16_t(20 + l4len);
      f[l3 + 2] = uint8_t(tot >> 8);
      f[l3 + 3] = uint8_t(tot);
      f[l3 + 6] = 0x40;  // DF
      f[l3 + 8] = 64;
      f[l3 + 9] = proto;
      std::memcpy(f + l3 + 12, src.b.data() + 12, 4);
      std::memcpy(f + l3 + 16, dst.b.data() + 12, 4);
      const uint16_t c = csum_fold(csum_add(0, f + l3, 20));
      f[l3 + 10] = uint8_t(c >> 8);
      f[l3 + 11] = uint8_t(c);
    } else {
      f[l3] = 0x60;
      f[l3 + 4] = 0;
      f[l3 + 5] = uint8_t(l4len);
      f[l3 + 6] = proto;
      f[l3 + 7] = 64;
      std::memcpy(f + l3 + 8, src.b.data(), 16);
      std::memcpy(f + l3 + 24, dst.b.data(), 16);
    }
    uint8_t* t = f + l4;
    t[0] = uint8_t(sport >> 8);
    t[1] = uint8_t(sport);
    t[2] = uint8_t(dport >> 8);
    t[3] = uint8_t(dport);
    if (proto == 6) {
      t[4] = uint8_t(seq >> 24);
      t[5] = uint8_t(seq >> 16);
      t[6] = uint8_t(seq >> 8);
      t[7] = uint8_t(seq);
      t[11] = 1;
      t[12] = 0x50;
      t[13] = 0x18;  // ACK|PSH: an established connection
      t[14] = 0xfa;
    } else {
      t[4] = 0;
      t[5] = uint8_t(l4len);
      std::memcpy(t + 8, &seq, 4);
    }
    // L4 checksum over the pseudo header
    uint32_t s = 0;
    if (v4) {
      s = csum_add(s, f + l3 + 12, 8);
    } else {
      s = csum_add(s, f + l3 + 8, 32);
    }
    s += proto + uint32_t(l4len);
    s = csum_add(s, t, l4len);
    uint16_t c = csum_fold(s);
    if (proto == 17 && c == 0) c = 0xffff;
    t[proto == 6 ? 16 : 6] = uint8_t(c >> 8);
    t[proto == 6 ? 17 : 7] = uint8_t(c);
    const size_t len = l4 + l4len;
    const uint32_t rec[4] = {uint32_t(ts_ns / kNs), uint32_t(ts_ns % kNs), uint32_t(len),
                             uint32_t(len)};
    std::fwrite(rec, 1, 16, f_);
    std::fwrite(f, 1, len, f_);
    return len;
  }

 private:
  std::FILE* f_;
};

}  // namespace

Population build_population(const World& w, const std::vector<Model>& models,
                            const SimConfig& cfg) {
  Population p;
  p.lines.resize(cfg.lines);
  // Models a third-party Alexa device can be: the alexa-3p model (last) if present.
  std::vector<uint16_t> normal, alexa;
  for (size_t m = 0; m < models.size(); ++m)
    (models[m].alexa3p ? alexa : normal).push_back(uint16_t(m));
  (void)w;
  uint32_t reassigned = 0;
  for (uint32_t i = 0; i < cfg.lines; ++i) {
    Line& l = p.lines[i];
    l.v6 = unit(hash(cfg.seed, 0x16, i)) < cfg.v6_fraction;
    l.reassign = unit(hash(cfg.seed, 0x4e, i)) < cfg.reassign_fraction;
    if (l.reassign) l.rank = reassigned++;
    l.first_device = uint32_t(p.devices.size());
    if (unit(hash(cfg.seed, 0x107, i)) >= cfg.iot_fraction) continue;
    uint32_t n = 1;
    if (unit(hash(cfg.seed, 0x4a7, i)) < cfg.nat_fraction)
      n = 2 + uint32_t(hash(cfg.seed, 0x4a8, i) % 3);
    for (uint32_t k = 0; k < n; ++k) {
      Device d;
      d.line = i;
      const uint64_t h = hash(cfg.seed, 0xde, i, k);
      const bool a3p = !alexa.empty() && unit(hash(cfg.seed, 0xa3, i, k)) < cfg.alexa3p_fraction;
      d.model = a3p ? alexa[h % alexa.size()] : normal[h % normal.size()];
      d.idle = unit(hash(cfg.seed, 0x1d, i, k)) < cfg.idle_device_fraction;
      for (size_t r = 0; r < models[d.model].rows.size(); ++r)
        d.phase.push_back(
            uint32_t(hash(cfg.seed, 0xf5, i * 8 + k, r) % models[d.model].rows[r].period));
      p.devices.push_back(std::move(d));
    }
    l.devices = n;
  }
  const uint32_t days = (cfg.hours + 23) / 24;
  p.perm.resize(days);
  for (uint32_t day = 0; day < days; ++day) {
    auto& v = p.perm[day];
    v.resize(reassigned);
    for (uint32_t k = 0; k < reassigned; ++k) v[k] = k;
    for (uint32_t k = reassigned; k > 1; --k)
      std::swap(v[k - 1], v[hash(cfg.seed, 0x9e, day, k) % k]);
  }
  return p;
}

IpAddr line_v4(const Population& p, const SimConfig& cfg, uint32_t line, uint32_t day) {
  const Line& l = p.lines[line];
  const uint32_t slot = l.reassign ? cfg.lines + p.perm[day][l.rank] : line;
  return v4addr(0x64400000u + slot);  // 100.64.0.0/10
}

IpAddr line_v6(const Population& p, const SimConfig& cfg, uint32_t line, uint32_t day) {
  const Line& l = p.lines[line];
  const uint64_t slot = l.reassign ? cfg.lines + p.perm[day][l.rank] : line;
  const uint64_t up =
      0x20010db800000000ULL | (1ULL << 31) | (slot << 8);  // 2001:db8:8000::/33, /56 each
  IpAddr a;
  for (int i = 0; i < 8; ++i) a.b[i] = uint8_t(up >> (56 - 8 * i));
  return a;
}

std::string prefix_id(const IpAddr& a, uint8_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  const char* r = a.v4 ? inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf)
                       : inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return std::string(r ? r : "?") + "/" + std::to_string(unsigned(len));
}

bool contacts_in(const Model& m, const Device& dev, size_t r, uint64_t lo, uint64_t hi) {
  if (dev.burst_rows.count({uint32_t(lo / 86400), uint32_t(r)})) return true;
  const uint64_t per = m.rows[r].period, ph = dev.phase[r];
  if (hi <= ph) return false;
  const uint64_t k = lo <= ph ? 0 : (lo - ph + per - 1) / per;
  return ph + k * per < hi;
}

const Target& target_for(const World& w, const SimConfig& cfg, uint32_t device, size_t r,
                         hitlist::DomainId d, int family, uint32_t day) {
  const auto& tv = (family == 6 ? w.v6 : w.v4)[d][day];
  return tv[hash(cfg.seed, 0xd5, uint64_t(device) * 64 + r, day) % tv.size()];
}

int family_for(const World& w, const Line& l, hitlist::DomainId d, uint32_t day) {
  if (l.v6 && !w.v6[d][day].empty()) return 6;
  return w.v4[d][day].empty() ? 0 : 4;
}

GenStats generate(const World& w, const std::vector<Model>& models, const SimConfig& cfg,
                  Population& pop, std::FILE* pcap, std::vector<BgHit>& bg_hits) {
  GenStats st;
  PcapOut out(pcap);
  std::vector<Ev> evs;
  const uint64_t start_ns = uint64_t(cfg.start_s) * kNs;
  for (uint32_t h = 0; h < cfg.hours; ++h) {
    evs.clear();
    const uint32_t day = h / 24;
    const uint64_t lo = uint64_t(h) * 3600, hi = lo + 3600;
    for (uint32_t li = 0; li < cfg.lines; ++li) {
      const Line& l = pop.lines[li];
      // background: random Internet hosts, CDN and NTP pools, rarely popular hitlist names
      const double lam = cfg.bg_pph;
      uint64_t bh = hash(cfg.seed, 0xb9, li, h);
      // Poisson by inversion (lam is small)
      uint32_t n = 0;
      for (double pr = std::exp(-lam), c = pr, u = unit(bh); u > c && n < 10000; ++n) {
        pr *= lam / double(n + 1);
        c += pr;
      }
      for (uint32_t k = 0; k < n; ++k) {
        const uint64_t e = hash(bh, k);
        Ev ev{};
        ev.ts = lo * kNs + e % (3600 * kNs);
        ev.line = li;
        ev.family = 4;
        ev.sport = uint16_t(32768 + (e >> 20) % 28000);
        const double u = unit(mix(e));
        if (u < cfg.bg_popular_fraction && !w.popular.empty()) {
          const auto d = w.popular[(e >> 8) % w.popular.size()];
          const auto& t = w.v4[d][day];
          if (t.empty()) continue;
          const Target& tg = t[(e >> 12) % t.size()];
          ev.dst4 = u4(tg.addr);
          ev.proto = tg.proto;
          ev.dport = tg.port;
          ++st.bg_hitlist;
          bg_hits.push_back({li, day, 4, d, ev.dst4, tg.evidence});
        } else if (u < 0.3) {
          ev.dst4 = u4(w.cdn_pool[(e >> 8) % w.cdn_pool.size()]);
          ev.proto = 6;
          ev.dport = 443;
        } else if (u < 0.35) {
          ev.dst4 = u4(w.ntp_pool[(e >> 8) % w.ntp_pool.size()]);
          ev.proto = 17;
          ev.dport = 123;
        } else {
          const auto& [net, len] = w.bg_prefixes[(e >> 8) % w.bg_prefixes.size()];
          ev.dst4 = net | uint32_t(mix(e + 7) & ((1u << (32 - len)) - 1));
          if (w.on_hitlist(ev.dst4)) ev.dst4 = u4(w.cdn_pool[(e >> 8) % w.cdn_pool.size()]);
          const uint32_t pk = uint32_t(e >> 40) % 10;
          ev.proto = pk < 7 ? 6 : 17;
          ev.dport = pk < 5 ? 443 : pk < 7 ? 80 : pk < 9 ? 443 : 53;
        }
        evs.push_back(ev);
        ++st.bg_packets;
      }
      for (uint32_t k = 0; k < l.devices; ++k) {
        const uint32_t di = l.first_device + k;
        Device& dev = pop.devices[di];
        const Model& m = models[dev.model];
        auto emit = [&](size_t r, uint64_t ts, uint64_t salt, bool burst) {
          const Row& row = m.rows[r];
          Ev ev{};
          ev.ts = ts;
          ev.line = li;
          ev.src = di + 1;
          ev.sport = uint16_t(32768 + hash(cfg.seed, di, r, salt) % 28000);
          if (row.hit >= 0) {
            const int fam = family_for(w, l, hitlist::DomainId(row.hit), day);
            if (fam == 0) return;
            const Target& tg = target_for(w, cfg, di, r, hitlist::DomainId(row.hit), fam, day);
            ev.family = uint8_t(fam);
            if (fam == 6) {
              ev.dst6 = &tg.addr;
              ev.dst4 = u4(tg.addr);
            } else {
              ev.dst4 = u4(tg.addr);
            }
            ev.proto = tg.proto;
            ev.dport = tg.port;
            ++st.iot_packets;
            if (burst) ++st.burst_packets;
          } else {
            // generic names: shared CDN/NTP addresses, per name (DNS world)
            uint64_t hn = 1469598103934665603ULL;  // FNV-1a: same on every platform
            for (char c : row.domain) hn = (hn ^ uint8_t(c)) * 1099511628211ULL;
            ev.family = 4;
            ev.dst4 = row.ntp ? u4(w.ntp_pool[hn % w.ntp_pool.size()])
                              : u4(w.cdn_pool[hn % w.cdn_pool.size()]);
            ev.proto = row.proto;
            ev.dport = row.ntp ? 123 : row.proto == 6 ? 443 : 443;
          }
          evs.push_back(ev);
        };
        for (size_t r = 0; r < m.rows.size(); ++r) {
          const uint64_t per = m.rows[r].period, ph = dev.phase[r];
          uint64_t t = lo <= ph ? ph : ph + ((lo - ph + per - 1) / per) * per;
          for (; t < hi; t += per) {
            const uint64_t jit = hash(cfg.seed, 0x717, di * 64 + r, t) % kNs;
            for (uint32_t j = 0; j < cfg.packets_per_contact; ++j)
              emit(r, t * kNs + jit + j * (kNs / 50), t ^ (uint64_t(j) << 40), false);
          }
        }
        if (!dev.idle && unit(hash(cfg.seed, 0xac, di, h)) < cfg.active_prob * diurnal(h % 24)) {
          dev.active_hours.push_back(h);
          // a burst of use: packets to the device's first-party hitlist names in a few minutes
          std::vector<size_t> prim;
          for (size_t r = 0; r < m.rows.size(); ++r)
            if (m.rows[r].hit >= 0 && m.rows[r].party == 1) prim.push_back(r);
          if (prim.empty())
            for (size_t r = 0; r < m.rows.size(); ++r)
              if (m.rows[r].hit >= 0) prim.push_back(r);
          if (!prim.empty()) {
            const uint64_t bh2 = hash(cfg.seed, 0xbb, di, h);
            const uint32_t nb = cfg.burst_packets / 2 + uint32_t(bh2 % (cfg.burst_packets + 1));
            const uint64_t t0 = lo * kNs + (bh2 >> 16) % (3300 * kNs);
            for (uint32_t j = 0; j < nb; ++j) {
              dev.burst_rows.insert({day, uint32_t(prim[hash(bh2, j) % prim.size()])});
              emit(prim[hash(bh2, j) % prim.size()],
                   t0 + j * (kNs / 4) + hash(bh2, j, 1) % (kNs / 4), 1000000 + h * 1000 + j, true);
            }
          }
        }
      }
    }
    std::sort(evs.begin(), evs.end());
    for (const Ev& ev : evs) {
      IpAddr src, dst;
      if (ev.family == 6) {
        src = line_v6(pop, cfg, ev.line, day);
        const uint64_t iid = hash(cfg.seed, 0x11d, ev.src);
        for (int i = 0; i < 8; ++i) src.b[8 + i] = uint8_t(iid >> (56 - 8 * i));
        dst = *ev.dst6;
      } else {
        src = line_v4(pop, cfg, ev.line, day);
        dst = v4addr(ev.dst4);
      }
      st.bytes += out.write(start_ns + ev.ts, src, dst, ev.proto, ev.sport, ev.dport,
                            uint32_t(hash(ev.ts, ev.line)));
      ++st.packets;
    }
  }
  return st;
}

}  // namespace haystack::sim
