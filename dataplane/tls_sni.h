// TLS ClientHello server-name (SNI, RFC 6066 §3) extraction for on-the-wire learning
// (METHODS §4), from the first bytes of a TCP payload on any port. Pure C++: reads only
// [data, data+len), never allocates or throws; the name goes into a caller buffer.
//
// Checks, outermost first: record type 22 (handshake) and version 3.x; record length
// 1..16384+2048; handshake type 1 (ClientHello); handshake length within the record; then
// every vector (session id, cipher suites, compression methods, extensions, the server
// name list) within its enclosing length. The ClientHello may continue in later segments
// (post-quantum key shares make it larger than one packet): the parser reads what this
// segment holds and fails with kTruncated only if the server name is not in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/dns_message.h"

namespace haystack {

enum class SniError : uint8_t {
  kOk = 0,
  kNotHandshake,        // first byte is not 22, or version not 3.x: not a TLS handshake
  kNotClientHello,      // a handshake record of another type (ServerHello, ...)
  kNoSni,               // a well-formed ClientHello without a server_name extension
  kBadRecordLength,     // record length 0 or above 2^14 + 2048
  kBadHandshakeLength,  // handshake body shorter than a ClientHello or longer than the record
  kBadLength,           // an inner vector runs past its enclosing length
  kTruncated,           // the captured bytes end before the server name
  kBadName,  // empty, too long, an empty or 64+ byte label, or a byte outside [A-Za-z0-9_.-]
  kCount
};
inline constexpr size_t kSniErrorCount = static_cast<size_t>(SniError::kCount);
std::string_view sni_error_name(SniError e);
// Ordinary traffic rather than malformed input.
inline bool sni_error_is_skip(SniError e) {
  return e == SniError::kNotHandshake || e == SniError::kNotClientHello || e == SniError::kNoSni;
}

// Extracts the first host_name of the server_name extension into `out` (lower case, one
// trailing dot stripped).
SniError parse_client_hello_sni(const uint8_t* data, size_t len, DnsName& out);

}  // namespace haystack
