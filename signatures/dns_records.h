// DNS observations for the hitlist builder (docs/hitlist-builder.md §DNS observations):
// passive-DNS style records `name rrtype value first_seen last_seen`. The same format is
// what the appliance's learned-name log will be, so the builder reads both alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/packet.h"

namespace haystack::hitlist {

inline constexpr int kDnsFormatVersion = 1;

enum class RrType : uint8_t { kA = 0, kAaaa = 1, kCname = 2 };

struct DnsRecord {
  std::string name;  // normalised owner name
  RrType type = RrType::kA;
  IpAddr addr;             // A / AAAA value
  std::string target;      // CNAME value (normalised)
  int64_t first_seen = 0;  // Unix seconds (UTC), inclusive
  int64_t last_seen = 0;   // Unix seconds (UTC), inclusive, >= first_seen
  int line = 0;
};

// Parses a `dns 1` file; every problem throws HitlistError "file:line: field: message"
// with field dns.version|name|rrtype|value|first_seen|last_seen|record.
std::vector<DnsRecord> parse_dns_records(std::string_view text, const std::string& name);
std::vector<DnsRecord> load_dns_records(const std::string& path);

// Textual IP as the bundle writes it (inet_ntop form).
std::string format_ip(const IpAddr& a);
// Total order for sorting: IPv4 before IPv6, then by bytes.
bool ip_less(const IpAddr& a, const IpAddr& b);

}  // namespace haystack::hitlist
