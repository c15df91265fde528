// Prefix: an IPv4 or IPv6 network (address with host bits cleared + length), used for
// subscriber ranges and line ids. Pure C++, no DPDK.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/packet.h"

namespace haystack {

struct Prefix {
  IpAddr addr;      // network address, host bits cleared
  uint8_t len = 0;  // 0..32 for IPv4, 0..128 for IPv6
  bool contains(const IpAddr& a) const;
  std::string str() const;
};

// Parses "a.b.c.d/len" or "x:y::/len" (a bare address is a host prefix). Returns false
// with a reason in `why` on error (bad address, bad length, host bits set).
bool parse_prefix(const std::string& text, Prefix& out, std::string& why);

// The address masked to its first `len` bits within its family (IPv4: 0..32 of the
// last four bytes; IPv6: 0..128).
IpAddr mask_address(const IpAddr& a, uint8_t len);

}  // namespace haystack
