// DNS response parser for on-the-wire learning (METHODS §4): the question name and the
// A, AAAA and CNAME answers of one DNS message (RFC 1035), read from untrusted bytes.
// Pure C++: reads only [msg, msg+len), never allocates or throws; results go into the
// caller's fixed-size DnsResponse (one per worker). Names are decoded with compression
// pointers bounded (target inside the message, at most kMaxPointerJumps per name) and
// lower-cased; a name with a byte outside [A-Za-z0-9_-] is rejected, because every name
// that leaves here must be valid in the builder's DNS-observation format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/packet.h"

namespace haystack {

// Why a message yielded nothing. kNotResponse, kRcode and kNoQuestion are ordinary
// traffic (queries, NXDOMAIN, ...), the others are malformed or beyond our bounds.
enum class DnsError : uint8_t {
  kOk = 0,
  kNotResponse,      // QR bit clear (a query from port 53)
  kRcode,            // RCODE != 0 (NXDOMAIN, SERVFAIL, ...)
  kNoQuestion,       // QDCOUNT 0
  kTruncatedHeader,  // fewer than 12 bytes
  kTruncatedName,    // a name runs past the message
  kBadLabel,         // label type 0x40/0x80 (extended/reserved)
  kBadLabelChar,     // a byte outside [A-Za-z0-9_-] in a label
  kNameTooLong,      // more than 253 characters
  kBadPointer,       // compression pointer outside the message
  kPointerLoop,      // more than kMaxPointerJumps pointers in one name
  kTruncatedQuestion,
  kTruncatedAnswer,  // an answer record (or its RDATA) runs past the message
  kBadRdataLength,   // A not 4 bytes, AAAA not 16, CNAME RDATA not exactly one name
  kTooManyAnswers,   // more A/AAAA/CNAME answers than DnsResponse holds
  kTooManyNames,     // more distinct names than DnsResponse holds
  kTcpLength,        // TCP: length prefix missing, 0, or message continues in a later segment
  kCount
};
inline constexpr size_t kDnsErrorCount = static_cast<size_t>(DnsError::kCount);
std::string_view dns_error_name(DnsError e);
// True for the reasons that are ordinary traffic rather than malformed messages.
inline bool dns_error_is_skip(DnsError e) {
  return e == DnsError::kNotResponse || e == DnsError::kRcode || e == DnsError::kNoQuestion;
}

// A decoded name: lower case, labels joined by '.', no trailing dot ("" = the root).
struct DnsName {
  static constexpr size_t kMaxLen = 253;
  uint8_t len = 0;
  char text[kMaxLen + 1];  // NUL-terminated
  std::string_view view() const { return {text, len}; }
};

enum class DnsRrType : uint8_t { kA = 1, kAaaa = 28, kCname = 5 };

struct DnsAnswer {
  DnsRrType type = DnsRrType::kA;
  uint8_t owner = 0;   // index into DnsResponse::names
  uint8_t target = 0;  // CNAME: index into names
  uint32_t ttl = 0;    // seconds; values with the top bit set read as 0 (RFC 2181 §8)
  IpAddr addr;         // A / AAAA
};

struct DnsResponse {
  static constexpr size_t kMaxNames = 16;
  static constexpr size_t kMaxAnswers = 32;
  static constexpr int kMaxPointerJumps = 16;
  uint16_t id = 0;
  uint8_t n_names = 0;  // names[0] is the question name
  uint8_t n_answers = 0;
  uint16_t other_answers = 0;  // answers of other types or classes, skipped
  DnsName names[kMaxNames];
  DnsAnswer answers[kMaxAnswers];
};

// Parses one DNS message (UDP payload). Only the first question is read; the authority
// and additional sections are ignored. On error `out` holds whatever was read so far.
DnsError parse_dns_response(const uint8_t* msg, size_t len, DnsResponse& out);

// DNS over TCP (RFC 1035 §4.2.2): a 2-byte length prefix, then the message. Only a message
// that starts and ends inside this segment is parsed (the first segment of a stream;
// messages split over segments give kTcpLength).
DnsError parse_dns_tcp(const uint8_t* seg, size_t len, DnsResponse& out);

}  // namespace haystack
