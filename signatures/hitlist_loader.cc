#include "signatures/hitlist_loader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace haystack::hitlist {

HitlistError::HitlistError(std::string file, int line, std::string field, std::string message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + field + ": " + message),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)),
      message_(std::move(message)) {}

bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  auto num = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + (s[pos + i] - '0');
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1970 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int dim = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) dim = 29;
  return d <= dim;
}

bool normalize_fqdn(std::string_view in, std::string& out) {
  out.assign(in);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  if (!out.empty() && out.back() == '.') out.pop_back();
  if (out.empty() || out.size() > 253) return false;
  size_t label = 0;
  for (char c : out) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

namespace {

struct Token {
  std::string_view text;
  size_t pos;  // offset in the line
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> t;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    const size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    t.push_back({line.substr(b, i - b), b});
  }
  return t;
}

std::string_view rest_of_line(std::string_view line, const Token& from) {
  std::string_view r = line.substr(from.pos);
  while (!r.empty() && (r.back() == ' ' || r.back() == '\t')) r.remove_suffix(1);
  return r;
}

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    const char c = k[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

// Parses 1..max decimal digits; no sign, no leading zeros.
bool parse_uint(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty() || s.size() > 6 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

std::string quote(std::string_view s) {
  std::string q = "'";
  q.append(s.substr(0, 80));
  if (s.size() > 80) q += "...";
  q += "'";
  return q;
}

std::string format_addr(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (a.v4) inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
  else inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

struct PendingService {
  std::string parent;  // "" = none
};
struct PendingDomain {
  std::vector<std::pair<std::string, Role>> uses;  // service key, role
};
struct PendingEndpoint {
  std::vector<std::string> domains;  // normalized fqdns
};

class Parser {
 public:
  Parser(std::string_view text, const std::string& name, const Limits& limits)
      : text_(text), name_(name), lim_(limits) {}

  Bundle run() {
    b_.source = name_;
    size_t pos = 0;
    int lineno = 0;
    while (pos < text_.size()) {
      size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      std::string_view line = text_.substr(pos, nl - pos);
      pos = nl + 1;
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      line_ = lineno;
      do_line(line);
    }
    last_line_ = lineno;
    finish();
    return std::move(b_);
  }

 private:
  [[noreturn]] void fail(int line, std::string field, std::string msg) const {
    throw HitlistError(name_, line, std::move(field), std::move(msg));
  }
  [[noreturn]] void fail(std::string field, std::string msg) const {
    fail(line_, std::move(field), std::move(msg));
  }

  void do_line(std::string_view line) {
    if (line.size() > lim_.max_line)
      fail("line", "line is " + std::to_string(line.size()) + " bytes, limit is " +
                       std::to_string(lim_.max_line));
    for (size_t i = 0; i < line.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        char buf[64];
        snprintf(buf, sizeof buf, "control character 0x%02x at column %zu", c, i + 1);
        fail("line", buf);
      }
    }
    auto t = tokenize(line);
    if (t.empty() || t[0].text[0] == '#') return;
    const std::string_view type = t[0].text;
    if (!have_version_) {
      if (type != "hitlist")
        fail("header.version", "file must start with 'hitlist " + std::to_string(kFormatVersion) +
                                   "', found " + quote(type));
      if (t.size() < 2) fail("header.version", "missing format version");
      if (t.size() > 2) fail("header.version", "unexpected text after version");
      if (t[1].text != std::to_string(kFormatVersion))
        fail("header.version", "unsupported format version " + quote(t[1].text) +
                                   " (this build reads " + std::to_string(kFormatVersion) + ")");
      have_version_ = true;
      return;
    }
    if (type == "hitlist") fail("header.version", "header given twice");
    if (type == "valid_from" || type == "valid_until") return header_date(t, type);
    if (type == "provenance") {
      header_only("header.provenance");
      if (t.size() < 2) fail("header.provenance", "empty provenance");
      if (!b_.provenance.empty()) b_.provenance += '\n';
      b_.provenance.append(rest_of_line(line, t[1]));
      return;
    }
    if (type == "service") return service(line, t);
    if (type == "domain") return domain(t);
    if (type == "endpoint") return endpoint(t);
    fail("record", "unknown record type " + quote(type) +
                       " (expected hitlist, valid_from, valid_until, provenance, service, domain, "
                       "endpoint)");
  }

  void header_only(const std::string& field) {
    if (body_started_)
      fail(field, "header records must come before the first service, domain or endpoint");
  }

  void header_date(const std::vector<Token>& t, std::string_view type) {
    const std::string field = "header." + std::string(type);
    header_only(field);
    const bool from = type == "valid_from";
    int& seen = from ? from_line_ : until_line_;
    if (seen) fail(field, "given twice (first at line " + std::to_string(seen) + ")");
    if (t.size() < 2) fail(field, "missing date");
    if (t.size() > 2) fail(field, "unexpected text after date");
    if (!valid_date(t[1].text)) fail(field, "invalid date " + quote(t[1].text) + " (want YYYY-MM-DD)");
    seen = line_;
    (from ? b_.valid_from : b_.valid_until) = std::string(t[1].text);
  }

  // Called before the first body record and at end of file.
  void check_header(int line) {
    if (header_checked_) return;
    header_checked_ = true;
    if (!from_line_) fail(line, "header.valid_from", "missing valid_from");
    if (!until_line_) fail(line, "header.valid_until", "missing valid_until");
    if (b_.valid_until < b_.valid_from)
      fail(until_line_, "header.valid_until",
           "valid_until " + b_.valid_until + " is before valid_from " + b_.valid_from);
  }

  void start_body() {
    if (!body_started_) {
      body_started_ = true;
      check_header(line_);
    }
  }

  void service(std::string_view line, const std::vector<Token>& t) {
    start_body();
    if (t.size() < 2) fail("service.key", "missing service key");
    if (t.size() < 3) fail("service.level", "missing level");
    if (t.size() < 4) fail("service.parent", "missing parent key (use '-' for none)");
    if (t.size() < 5) fail("service.name", "missing name");
    const std::string_view key = t[1].text;
    if (!valid_key(key))
      fail("service.key", "invalid key " + quote(key) +
                              " (1..64 of a-z 0-9 - _ . starting with a letter or digit)");
    if (auto it = service_ix_.find(std::string(key)); it != service_ix_.end())
      fail("service.key", "duplicate service " + quote(key) + " (first at line " +
                              std::to_string(b_.services[it->second].line) + ")");
    if (b_.services.size() >= lim_.max_services)
      fail("service", "too many services (limit " + std::to_string(lim_.max_services) + ")");
    Service s;
    s.id = ServiceId(b_.services.size());
    s.key = std::string(key);
    const std::string_view lv = t[2].text;
    if (lv == "platform") s.level = Level::kPlatform;
    else if (lv == "manufacturer") s.level = Level::kManufacturer;
    else if (lv == "product") s.level = Level::kProduct;
    else fail("service.level", "unknown level " + quote(lv) + " (platform|manufacturer|product)");
    std::string parent;
    if (t[3].text != "-") {
      if (!valid_key(t[3].text)) fail("service.parent", "invalid parent key " + quote(t[3].text));
      parent = std::string(t[3].text);
    }
    s.name = std::string(rest_of_line(line, t[4]));
    s.line = line_;
    service_ix_.emplace(s.key, s.id);
    b_.services.push_back(std::move(s));
    pend_services_.push_back({std::move(parent)});
  }

  void domain(const std::vector<Token>& t) {
    start_body();
    if (t.size() < 2) fail("domain.fqdn", "missing domain name");
    std::string fqdn;
    if (!normalize_fqdn(t[1].text, fqdn)) fail("domain.fqdn", "invalid domain name " + quote(t[1].text));
    if (auto it = domain_ix_.find(fqdn); it != domain_ix_.end())
      fail("domain.fqdn", "duplicate domain " + quote(fqdn) + " (first at line " +
                              std::to_string(b_.domains[it->second].line) + ")");
    if (b_.domains.size() >= lim_.max_domains)
      fail("domain", "too many domains (limit " + std::to_string(lim_.max_domains) + ")");
    if (t.size() < 3) fail("domain.service", "missing service:role");
    PendingDomain pd;
    for (size_t i = 2; i < t.size(); ++i) {
      const std::string_view u = t[i].text;
      const size_t colon = u.rfind(':');
      if (colon == std::string_view::npos)
        fail("domain.role", "expected service:role, found " + quote(u));
      const std::string_view key = u.substr(0, colon), role = u.substr(colon + 1);
      if (!valid_key(key)) fail("domain.service", "invalid service key " + quote(key));
      Role r;
      if (role == "primary") r = Role::kPrimary;
      else if (role == "support") r = Role::kSupport;
      else fail("domain.role", "unknown role " + quote(role) + " (primary|support)");
      for (const auto& [k, _] : pd.uses)
        if (k == key) fail("domain.service", "service " + quote(key) + " listed twice");
      pd.uses.emplace_back(std::string(key), r);
    }
    Domain d;
    d.id = DomainId(b_.domains.size());
    d.fqdn = fqdn;
    d.line = line_;
    domain_ix_.emplace(std::move(fqdn), d.id);
    b_.domains.push_back(std::move(d));
    pend_domains_.push_back(std::move(pd));
  }

  void endpoint(const std::vector<Token>& t) {
    start_body();
    if (t.size() < 2) fail("endpoint.addr", "missing address");
    if (t.size() < 3) fail("endpoint.proto", "missing protocol");
    if (t.size() < 4) fail("endpoint.port", "missing port");
    if (t.size() < 5) fail("endpoint.domain", "missing domain");
    Endpoint e;
    e.line = line_;
    // Address [/len].
    const std::string_view at = t[1].text;
    const size_t slash = at.find('/');
    const std::string astr(at.substr(0, slash));
    uint8_t raw[16];
    unsigned max_len;
    if (inet_pton(AF_INET, astr.c_str(), raw) == 1) {
      e.addr = IpAddr::from_v4(raw);
      max_len = 32;
    } else if (astr.find(':') != std::string::npos && inet_pton(AF_INET6, astr.c_str(), raw) == 1) {
      e.addr = IpAddr::from_v6(raw);
      static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(raw, kMapped, 12) == 0)
        fail("endpoint.addr", "IPv4-mapped IPv6 address " + quote(astr) +
                                  "; write IPv4 endpoints in dotted form");
      max_len = 128;
    } else {
      fail("endpoint.addr", "invalid IP address " + quote(astr));
    }
    unsigned len = max_len;
    if (slash != std::string_view::npos) {
      if (!parse_uint(at.substr(slash + 1), max_len, len))
        fail("endpoint.prefix", "invalid prefix length " + quote(at.substr(slash + 1)) + " (0.." +
                                    std::to_string(max_len) + ")");
    }
    e.prefix_len = uint8_t(len);
    {
      // Host bits must be clear.
      const unsigned base = e.addr.v4 ? 96 : 0;
      IpAddr net = e.addr;
      for (unsigned bit = base + len; bit < 128; ++bit)
        net.b[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
      if (!(net == e.addr))
        fail("endpoint.addr", "host bits set in " + quote(at) + " (network is " + format_addr(net) +
                                  "/" + std::to_string(len) + ")");
    }
    const std::string_view pr = t[2].text;
    if (pr == "tcp") e.proto = 6;
    else if (pr == "udp") e.proto = 17;
    else if (pr == "any") e.proto = 0;
    else fail("endpoint.proto", "unknown protocol " + quote(pr) + " (tcp|udp|any)");
    const std::string_view po = t[3].text;
    if (po == "any") {
      e.any_port = true;
    } else {
      unsigned port;
      if (!parse_uint(po, 65535, port) || port == 0)
        fail("endpoint.port", "port " + quote(po) + " out of range (1..65535 or any)");
      e.port = uint16_t(port);
    }
    PendingEndpoint pe;
    for (size_t i = 4; i < t.size(); ++i) {
      std::string f;
      if (!normalize_fqdn(t[i].text, f)) fail("endpoint.domain", "invalid domain name " + quote(t[i].text));
      if (std::find(pe.domains.begin(), pe.domains.end(), f) != pe.domains.end())
        fail("endpoint.domain", "domain " + quote(f) + " listed twice");
      pe.domains.push_back(std::move(f));
    }
    if (b_.endpoints.size() >= lim_.max_endpoints)
      fail("endpoint", "too many endpoints (limit " + std::to_string(lim_.max_endpoints) + ")");
    // Key: 16 address bytes, family, length, protocol, port or any.
    std::string key(reinterpret_cast<const char*>(e.addr.b.data()), 16);
    key += char(e.addr.v4);
    key += char(e.prefix_len);
    key += char(e.proto);
    key += char(e.any_port);
    key += char(e.port >> 8);
    key += char(e.port & 0xff);
    auto [it, fresh] = endpoint_ix_.emplace(std::move(key), uint32_t(b_.endpoints.size()));
    if (!fresh) {
      const size_t first = it->second;
      auto a = pend_endpoints_[first].domains, bset = pe.domains;
      std::sort(a.begin(), a.end());
      std::sort(bset.begin(), bset.end());
      const std::string where = std::to_string(b_.endpoints[first].line);
      if (a == bset) fail("endpoint", "duplicate endpoint (first at line " + where + ")");
      fail("endpoint", "contradictory endpoint: same address, protocol and port as line " + where +
                           " but different domains");
    }
    b_.endpoints.push_back(std::move(e));
    pend_endpoints_.push_back(std::move(pe));
  }

  void finish() {
    if (!have_version_)
      fail(last_line_, "header.version",
           "missing 'hitlist " + std::to_string(kFormatVersion) + "' header (no records)");
    check_header(last_line_);
    auto& sv = b_.services;
    const size_t ns = sv.size();
    // Parents.
    for (size_t i = 0; i < ns; ++i) {
      const std::string& p = pend_services_[i].parent;
      if (p.empty()) continue;
      auto it = service_ix_.find(p);
      if (it == service_ix_.end()) fail(sv[i].line, "service.parent", "unknown parent service " + quote(p));
      sv[i].parent = it->second;
    }
    // Cycles (iterative colouring: 0 new, 1 on the current path, 2 done).
    std::vector<uint8_t> state(ns, 0);
    for (size_t i = 0; i < ns; ++i) {
      std::vector<ServiceId> path;
      ServiceId s = ServiceId(i);
      while (s != kNoService && state[s] == 0) {
        state[s] = 1;
        path.push_back(s);
        s = sv[s].parent;
      }
      if (s != kNoService && state[s] == 1) {
        auto from = std::find(path.begin(), path.end(), s);
        std::vector<ServiceId> cyc(from, path.end());
        auto first = std::min_element(cyc.begin(), cyc.end(),
                                      [&](ServiceId a, ServiceId b) { return sv[a].line < sv[b].line; });
        std::rotate(cyc.begin(), first, cyc.end());
        std::string msg = "parent cycle: ";
        for (ServiceId c : cyc) msg += sv[c].key + " -> ";
        msg += sv[cyc[0]].key;
        fail(sv[cyc[0]].line, "service.parent", msg);
      }
      for (ServiceId p : path) state[p] = 2;
    }
    // Levels: a child sits strictly below its parent.
    for (const Service& s : sv) {
      if (s.parent == kNoService) continue;
      const Service& p = sv[s.parent];
      if (s.level <= p.level)
        fail(s.line, "service.level",
             "level " + std::string(level_name(s.level)) + " is not below the level of parent " +
                 quote(p.key) + " (" + std::string(level_name(p.level)) + ")");
    }
    // Domains -> services.
    std::vector<bool> has_primary(ns, false);
    for (size_t i = 0; i < b_.domains.size(); ++i) {
      Domain& d = b_.domains[i];
      for (const auto& [key, role] : pend_domains_[i].uses) {
        auto it = service_ix_.find(key);
        if (it == service_ix_.end()) fail(d.line, "domain.service", "unknown service " + quote(key));
        d.uses.push_back({it->second, role});
        if (role == Role::kPrimary) has_primary[it->second] = true;
      }
    }
    for (size_t i = 0; i < ns; ++i)
      if (!has_primary[i])
        fail(sv[i].line, "service.domains", "service " + quote(sv[i].key) + " has no primary domain");
    // Endpoints -> domains.
    for (size_t i = 0; i < b_.endpoints.size(); ++i) {
      Endpoint& e = b_.endpoints[i];
      e.domains.reserve(pend_endpoints_[i].domains.size());
      for (const std::string& f : pend_endpoints_[i].domains) {
        auto it = domain_ix_.find(f);
        if (it == domain_ix_.end()) fail(e.line, "endpoint.domain", "unknown domain " + quote(f));
        e.domains.push_back(it->second);
      }
    }
  }

  std::string_view text_;
  const std::string& name_;
  Limits lim_;
  Bundle b_;
  int line_ = 0, last_line_ = 0;
  bool have_version_ = false, body_started_ = false, header_checked_ = false;
  int from_line_ = 0, until_line_ = 0;
  std::unordered_map<std::string, ServiceId> service_ix_;
  std::unordered_map<std::string, DomainId> domain_ix_;
  std::unordered_map<std::string, uint32_t> endpoint_ix_;
  std::vector<PendingService> pend_services_;
  std::vector<PendingDomain> pend_domains_;
  std::vector<PendingEndpoint> pend_endpoints_;
};

}  // namespace

Bundle parse_bundle(std::string_view text, const std::string& name, const Limits& limits) {
  return Parser(text, name, limits).run();
}

Bundle load_bundle(const std::string& path, const Limits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw HitlistError(path, 0, "file", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw HitlistError(path, 0, "file", "read error");
  const std::string text = ss.str();
  return parse_bundle(text, path, limits);
}

}  // namespace haystack::hitlist
