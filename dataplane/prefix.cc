#include "dataplane/prefix.h"

#include <arpa/inet.h>

#include <algorithm>

namespace haystack {

bool parse_prefix(const std::string& text, Prefix& out, std::string& why) {
  const size_t slash = text.find('/');
  const std::string addr_text = text.substr(0, slash);
  const bool v6 = addr_text.find(':') != std::string::npos;
  const int max_len = v6 ? 128 : 32;

  Prefix p;
  if (v6) {
    uint8_t buf[16];
    if (inet_pton(AF_INET6, addr_text.c_str(), buf) != 1) {
      why = "invalid IPv6 address \"" + addr_text + "\"";
      return false;
    }
    p.addr = IpAddr::from_v6(buf);
  } else {
    uint8_t buf[4];
    if (inet_pton(AF_INET, addr_text.c_str(), buf) != 1) {
      why = "invalid IPv4 address \"" + addr_text + "\"";
      return false;
    }
    p.addr = IpAddr::from_v4(buf);
  }

  int len = max_len;
  if (slash != std::string::npos) {
    const std::string len_text = text.substr(slash + 1);
    const bool digits =
        !len_text.empty() && len_text.size() <= 3 &&
        std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(len_text) > max_len) {
      why = "invalid prefix length \"" + len_text + "\" (expected 0.." + std::to_string(max_len) +
            ")";
      return false;
    }
    len = std::stoi(len_text);
  }
  p.len = static_cast<uint8_t>(len);

  // Clear host bits; if any were set, the operator most likely mistyped the prefix.
  Prefix net = p;
  net.addr = mask_address(p.addr, p.len);
  if (!(net.addr == p.addr)) {
    why = "host bits set in \"" + text + "\" (did you mean " + net.str() + "?)";
    return false;
  }
  out = net;
  return true;
}

bool Prefix::contains(const IpAddr& a) const {
  if (a.v4 != addr.v4) return false;
  const int base = addr.v4 ? 12 : 0;
  const int full = len / 8;
  for (int i = 0; i < full; ++i) {
    if (a.b[base + i] != addr.b[base + i]) return false;
  }
  const int rem = len % 8;
  if (rem == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rem);
  return (a.b[base + full] & mask) == (addr.b[base + full] & mask);
}

std::string Prefix::str() const {
  char buf[INET6_ADDRSTRLEN];
  const char* r = addr.v4 ? inet_ntop(AF_INET, addr.b.data() + 12, buf, sizeof buf)
                          : inet_ntop(AF_INET6, addr.b.data(), buf, sizeof buf);
  if (r == nullptr) return "?";
  return std::string(buf) + "/" + std::to_string(len);
}

IpAddr mask_address(const IpAddr& a, uint8_t len) {
  IpAddr out = a;  // lengths beyond the family's width leave the address as it is
  const int base = a.v4 ? 12 : 0;
  const int bits = a.v4 ? 32 : 128;
  for (int i = len; i < bits; ++i) {
    out.b[base + i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
  }
  return out;
}

}  // namespace haystack
