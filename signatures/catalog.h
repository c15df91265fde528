// Device catalog, the builder's input (docs/hitlist-builder.md §Catalog): IoT services in a
// platform > manufacturer > product tree, and which domains each service uses, in which
// role (primary | support | generic) and on which protocol/ports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/hitlist.h"

namespace haystack::hitlist {

inline constexpr int kCatalogFormatVersion = 1;

enum class CatalogRole : uint8_t { kPrimary = 0, kSupport = 1, kGeneric = 2 };

// One protocol/port a domain is contacted on; proto 0 = any protocol.
struct PortSpec {
  uint8_t proto = 0;
  uint16_t port = 0;
  bool any_port = true;
  auto operator<=>(const PortSpec&) const = default;
};

struct CatalogService {
  std::string key;
  Level level = Level::kPlatform;
  std::string parent;  // empty = none
  std::string name;
  int line = 0;
};

// One `domain` line: fqdn used by service in role, on ports (empty = any/any).
struct CatalogUse {
  std::string fqdn;
  std::string service;
  CatalogRole role = CatalogRole::kPrimary;
  std::vector<PortSpec> ports;  // sorted, unique
  int line = 0;
};

struct Catalog {
  std::string source;
  std::vector<CatalogService> services;  // file order
  std::vector<CatalogUse> uses;          // file order
};

// Parses and validates a `catalog 1` file; every problem throws HitlistError
// "file:line: field: message" (fields catalog.version, service.key|level|parent|name,
// domain.fqdn|service|role|port, record).
Catalog parse_catalog(std::string_view text, const std::string& name);
Catalog load_catalog(const std::string& path);

std::string_view catalog_role_name(CatalogRole r);
// "tcp/443", "udp/any", "any/any".
std::string port_spec_text(const PortSpec& p);

}  // namespace haystack::hitlist
