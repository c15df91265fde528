// Hitlist data model (METHODS §3): IoT services at platform / manufacturer / product
// level, their domains (primary or support), and the server endpoints (address or
// prefix, protocol, port or any) that map to those domains, valid for one day.
// The text format and its loader live in hitlist_loader.*, the compiled lookup used by
// workers in hitlist_table.*; the detection engine (control/detection*) reads this model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/packet.h"

namespace haystack::hitlist {

enum class Level : uint8_t { kPlatform = 0, kManufacturer = 1, kProduct = 2 };
enum class Role : uint8_t { kPrimary = 0, kSupport = 1 };

using ServiceId = uint16_t;
using DomainId = uint32_t;
inline constexpr ServiceId kNoService = 0xffff;

struct Service {
  ServiceId id = 0;        // index into Bundle::services
  std::string key;         // stable identifier, e.g. "amazon-alexa"
  std::string name;        // human name, e.g. "Alexa Enabled"
  Level level = Level::kPlatform;
  ServiceId parent = kNoService;  // a child refines its parent (needs it to be detected)
  int line = 0;            // where it was defined
};

struct DomainUse {
  ServiceId service = 0;
  Role role = Role::kPrimary;
};

struct Domain {
  DomainId id = 0;         // index into Bundle::domains
  std::string fqdn;        // lower case, no trailing dot
  std::vector<DomainUse> uses;  // a domain may serve several services
  int line = 0;
};

struct Endpoint {
  IpAddr addr;             // network address (host bits cleared)
  uint8_t prefix_len = 0;  // 32/128 for a host; shorter for a prefix
  uint8_t proto = 0;       // 6 TCP, 17 UDP, 0 = any protocol
  uint16_t port = 0;
  bool any_port = false;
  std::vector<DomainId> domains;
  int line = 0;
};

struct Bundle {
  std::string source;      // file it was loaded from
  std::string valid_from;  // YYYY-MM-DD (UTC)
  std::string valid_until; // YYYY-MM-DD, inclusive
  std::string provenance;  // free text: how it was built
  std::vector<Service> services;
  std::vector<Domain> domains;
  std::vector<Endpoint> endpoints;
};

std::string_view level_name(Level l);
std::string_view role_name(Role r);

}  // namespace haystack::hitlist
