#include "signatures/catalog.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "signatures/hitlist_loader.h"
#include "signatures/text_records.h"

namespace haystack::hitlist {
namespace {

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(k[0])) return false;
  for (char c : k)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool parse_level(std::string_view s, Level& out) {
  if (s == "platform")
    out = Level::kPlatform;
  else if (s == "manufacturer")
    out = Level::kManufacturer;
  else if (s == "product")
    out = Level::kProduct;
  else
    return false;
  return true;
}

bool parse_port_spec(std::string_view s, PortSpec& p) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view proto = s.substr(0, slash), port = s.substr(slash + 1);
  if (proto == "tcp")
    p.proto = 6;
  else if (proto == "udp")
    p.proto = 17;
  else if (proto == "any")
    p.proto = 0;
  else
    return false;
  if (port == "any") {
    p.any_port = true;
    p.port = 0;
    return true;
  }
  unsigned v = 0;
  if (port.empty() || port.size() > 5 || port[0] == '0') return false;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc() || ptr != port.data() + port.size() || v < 1 || v > 65535) return false;
  p.any_port = false;
  p.port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

std::string_view catalog_role_name(CatalogRole r) {
  switch (r) {
    case CatalogRole::kPrimary:
      return "primary";
    case CatalogRole::kSupport:
      return "support";
    case CatalogRole::kGeneric:
      return "generic";
  }
  return "?";
}

std::string port_spec_text(const PortSpec& p) {
  std::string s = p.proto == 6 ? "tcp" : p.proto == 17 ? "udp" : "any";
  return s + "/" + (p.any_port ? std::string("any") : std::to_string(p.port));
}

Catalog parse_catalog(std::string_view text, const std::string& name) {
  Catalog c;
  c.source = name;
  bool header = false;
  std::map<std::string, size_t> service_index;
  std::set<std::pair<std::string, std::string>> seen_uses;
  for_each_record(
      text, name, [&](int line, const std::vector<std::string_view>& f, std::string_view raw) {
        auto fail = [&](const char* field, const std::string& msg) {
          throw HitlistError(name, line, field, msg);
        };
        if (!header) {
          if (f[0] != "catalog" || f.size() != 2)
            fail("catalog.version", "first record must be 'catalog 1'");
          if (f[1] != "1")
            fail("catalog.version", "unsupported version '" + std::string(f[1]) + "'");
          header = true;
          return;
        }
        if (f[0] == "service") {
          if (f.size() < 5) fail("service", "expected: service <key> <level> <parent|-> <name>");
          CatalogService s;
          s.line = line;
          s.key = f[1];
          if (!valid_key(s.key)) fail("service.key", "invalid key '" + s.key + "'");
          if (service_index.count(s.key)) fail("service.key", "duplicate key '" + s.key + "'");
          if (!parse_level(f[2], s.level))
            fail("service.level",
                 "level '" + std::string(f[2]) + "' is not platform, manufacturer or product");
          if (f[3] != "-") s.parent = f[3];
          s.name = rest_after_fields(raw, 4);
          service_index[s.key] = c.services.size();
          c.services.push_back(std::move(s));
        } else if (f[0] == "domain") {
          if (f.size() < 4)
            fail("domain", "expected: domain <fqdn> <service> <role> [<proto>/<port>...]");
          CatalogUse u;
          u.line = line;
          if (!normalize_fqdn(f[1], u.fqdn))
            fail("domain.fqdn", "invalid name '" + std::string(f[1]) + "'");
          u.service = f[2];
          if (f[3] == "primary")
            u.role = CatalogRole::kPrimary;
          else if (f[3] == "support")
            u.role = CatalogRole::kSupport;
          else if (f[3] == "generic")
            u.role = CatalogRole::kGeneric;
          else
            fail("domain.role",
                 "role '" + std::string(f[3]) + "' is not primary, support or generic");
          for (size_t i = 4; i < f.size(); ++i) {
            PortSpec p;
            if (!parse_port_spec(f[i], p))
              fail("domain.port",
                   "'" + std::string(f[i]) + "' is not <tcp|udp|any>/<1..65535|any>");
            u.ports.push_back(p);
          }
          std::sort(u.ports.begin(), u.ports.end());
          if (std::adjacent_find(u.ports.begin(), u.ports.end()) != u.ports.end())
            fail("domain.port", "a protocol/port is listed twice");
          if (!seen_uses.insert({u.fqdn, u.service}).second)
            fail("domain.service",
                 "domain '" + u.fqdn + "' listed twice for service '" + u.service + "'");
          c.uses.push_back(std::move(u));
        } else {
          fail("record", "unknown record type '" + std::string(f[0]) + "'");
        }
      });
  if (!header) throw HitlistError(name, 0, "catalog.version", "missing 'catalog 1' header");
  // References, after the whole file: parents exist and sit strictly higher, which also
  // rules out cycles (levels strictly decrease along every parent chain).
  for (const auto& s : c.services) {
    if (s.parent.empty()) continue;
    auto it = service_index.find(s.parent);
    if (it == service_index.end())
      throw HitlistError(name, s.line, "service.parent", "unknown parent '" + s.parent + "'");
    if (c.services[it->second].level >= s.level)
      throw HitlistError(name, s.line, "service.parent",
                         "parent '" + s.parent + "' must be at a higher level than " +
                             std::string(level_name(s.level)));
  }
  for (const auto& u : c.uses)
    if (!service_index.count(u.service))
      throw HitlistError(name, u.line, "domain.service", "unknown service '" + u.service + "'");
  return c;
}

Catalog load_catalog(const std::string& path) {
  return parse_catalog(read_text_file(path), path);
}

}  // namespace haystack::hitlist
