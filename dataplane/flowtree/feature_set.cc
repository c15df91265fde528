#include "dataplane/flowtree/feature_set.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace haystack::flowtree {

namespace {

constexpr std::array<std::string_view, kFeatureSetCount> kNames = {
    "SI", "DI", "SP", "DP", "SIDI", "SPDP", "SISP", "SIDP", "DISP", "DIDP", "FULL"};

void set_ip(std::array<uint8_t, 16>& out, Family& fam, const IpAddr& a) {
  out = a.b;
  if (a.v4) {
    for (int i = 0; i < 10; ++i) out[i] = 0;
    out[10] = out[11] = 0xff;
    fam = Family::kV4;
  } else {
    fam = Family::kV6;
  }
}

std::string ip_string(const std::array<uint8_t, 16>& a, Family fam, int depth) {
  if (fam == Family::kAny) return "*";
  char buf[INET6_ADDRSTRLEN];
  if (fam == Family::kV4) {
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  }
  return std::string(buf) + "/" + std::to_string(ip_prefix_len(fam, depth));
}

// Parses an unsigned decimal in [0, max]; throws with `what` on failure.
int parse_uint(std::string_view s, int max, const char* what) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max) {
    throw std::invalid_argument(std::string("bad ") + what + " '" + std::string(s) + "'");
  }
  return v;
}

// Depth interval [lo, hi] the components of a key string agree on.
struct DepthRange {
  int lo;
  int hi;
  void exact(int d) { lo = std::max(lo, d); hi = std::min(hi, d); }
  void at_least(int d) { lo = std::max(lo, d); }
};

void parse_ip(std::string_view s, std::array<uint8_t, 16>& a, Family& fam, DepthRange& r) {
  if (s == "*") {
    a = {};
    fam = Family::kAny;
    r.at_least(kIpSteps);
    return;
  }
  const auto slash = s.find('/');
  const std::string addr(s.substr(0, slash));
  const bool v6 = addr.find(':') != std::string::npos;
  const int max_len = v6 ? 128 : 32;
  const int len = slash == std::string_view::npos ? max_len
                                                  : parse_uint(s.substr(slash + 1), max_len, "prefix length");
  if (v6) {
    if (inet_pton(AF_INET6, addr.c_str(), a.data()) != 1) {
      throw std::invalid_argument("bad IPv6 address '" + addr + "'");
    }
    if (len % kIpv6StepBits != 0) {
      throw std::invalid_argument("IPv6 prefix length " + std::to_string(len) +
                                  " is not a multiple of " + std::to_string(kIpv6StepBits));
    }
    fam = Family::kV6;
    r.exact((128 - len) / kIpv6StepBits);
  } else {
    uint8_t v4[4];
    if (inet_pton(AF_INET, addr.c_str(), v4) != 1) {
      throw std::invalid_argument("bad IPv4 address '" + addr + "'");
    }
    set_ip(a, fam, IpAddr::from_v4(v4));
    r.exact(32 - len);
  }
}

void parse_port(std::string_view s, uint16_t& port, DepthRange& r) {
  const auto slash = s.find('/');
  port = uint16_t(parse_uint(s.substr(0, slash), 65535, "port"));
  const int len = slash == std::string_view::npos ? 16 : parse_uint(s.substr(slash + 1), 16, "port prefix length");
  if (len == 0) {
    r.at_least(kPortSteps);
  } else {
    r.exact(kPortSteps - len);
  }
}

}  // namespace

std::string_view feature_set_name(FeatureSet fs) { return kNames.at(size_t(fs)); }

std::optional<FeatureSet> parse_feature_set(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return FeatureSet(i);
  }
  return std::nullopt;
}

int ip_prefix_len(Family fam, int depth) {
  if (fam == Family::kAny || depth >= kIpSteps) return -1;
  return fam == Family::kV4 ? 32 - depth : 128 - kIpv6StepBits * depth;
}

int port_prefix_len(int depth) { return kPortSteps - std::min(depth, kPortSteps); }

Hierarchy::Hierarchy(FeatureSet fs, bool with_proto) : fs_(fs), with_proto_(with_proto) {
  using F = FeatureSet;
  sip_ = fs == F::SI || fs == F::SIDI || fs == F::SISP || fs == F::SIDP || fs == F::FULL;
  dip_ = fs == F::DI || fs == F::SIDI || fs == F::DISP || fs == F::DIDP || fs == F::FULL;
  sp_ = fs == F::SP || fs == F::SPDP || fs == F::SISP || fs == F::DISP || fs == F::FULL;
  dp_ = fs == F::DP || fs == F::SPDP || fs == F::SIDP || fs == F::DIDP || fs == F::FULL;
  root_depth_ = ((sip_ || dip_) ? kIpSteps : kPortSteps) + (with_proto ? 1 : 0);
}

FlowKey Hierarchy::root() const {
  FlowKey k;
  k.depth = uint8_t(root_depth_);
  return k;
}

FlowKey Hierarchy::leaf(const IpAddr& src, const IpAddr& dst, uint16_t sport, uint16_t dport,
                        uint8_t proto) const {
  FlowKey k;
  if (sip_) set_ip(k.src, k.src_fam, src);
  if (dip_) set_ip(k.dst, k.dst_fam, dst);
  if (sp_) k.sport = sport;
  if (dp_) k.dport = dport;
  if (with_proto_) k.proto = proto;
  return k;
}

FlowKey Hierarchy::leaf(const ParsedPacket& p) const {
  return leaf(p.src, p.dst, p.has_ports ? p.sport : 0, p.has_ports ? p.dport : 0, p.proto);
}


bool Hierarchy::valid(const FlowKey& k) const {
  if (k.depth > root_depth_) return false;
  auto ip_ok = [&](bool used, const std::array<uint8_t, 16>& a, Family fam) {
    if (!used || k.depth >= kIpSteps) return fam == Family::kAny && a == std::array<uint8_t, 16>{};
    if (fam == Family::kV4) {
      for (int i = 0; i < 10; ++i) if (a[i] != 0) return false;
      return a[10] == 0xff && a[11] == 0xff;
    }
    return fam == Family::kV6;
  };
  if (!ip_ok(sip_, k.src, k.src_fam) || !ip_ok(dip_, k.dst, k.dst_fam)) return false;
  if ((!sp_ && k.sport) || (!dp_ && k.dport)) return false;
  if ((!with_proto_ || k.depth == root_depth_) && k.proto != 0) return false;
  return ancestor(k, k.depth) == k;
}

std::string Hierarchy::to_string(const FlowKey& k) const {
  std::string out;
  auto sep = [&] { if (!out.empty()) out += '|'; };
  if (sip_) { sep(); out += ip_string(k.src, k.src_fam, k.depth); }
  if (dip_) { sep(); out += ip_string(k.dst, k.dst_fam, k.depth); }
  // Built piecewise: g++ 12 -O3 reports a false -Wrestrict on "/" + std::string.
  std::string plen = "/";
  plen += std::to_string(port_prefix_len(k.depth));
  if (sp_) { sep(); out += std::to_string(k.sport) + plen; }
  if (dp_) { sep(); out += std::to_string(k.dport) + plen; }
  if (with_proto_) { sep(); out += k.depth >= root_depth_ ? "*" : std::to_string(k.proto); }
  return out;
}

FlowKey Hierarchy::parse(std::string_view s) const {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t bar = s.find('|', start);
    parts.push_back(s.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  const size_t want = size_t(sip_) + dip_ + sp_ + dp_ + with_proto_;
  if (parts.size() != want) {
    throw std::invalid_argument("key '" + std::string(s) + "' has " + std::to_string(parts.size()) +
                                " components, feature set " + std::string(feature_set_name(fs_)) +
                                (with_proto_ ? "+proto" : "") + " needs " + std::to_string(want));
  }
  FlowKey k;
  DepthRange r{0, root_depth_};
  size_t i = 0;
  if (sip_) parse_ip(parts[i++], k.src, k.src_fam, r);
  if (dip_) parse_ip(parts[i++], k.dst, k.dst_fam, r);
  if (sp_) parse_port(parts[i++], k.sport, r);
  if (dp_) parse_port(parts[i++], k.dport, r);
  if (with_proto_) {
    if (parts[i] == "*") {
      r.exact(root_depth_);
    } else {
      k.proto = uint8_t(parse_uint(parts[i], 255, "protocol"));
      r.hi = std::min(r.hi, root_depth_ - 1);
    }
  }
  if (r.lo > r.hi) {
    throw std::invalid_argument("key '" + std::string(s) +
                                "': prefix lengths do not meet at one level of the joined hierarchy");
  }
  return ancestor(k, r.lo);
}

}  // namespace haystack::flowtree
