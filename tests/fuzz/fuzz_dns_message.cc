// libFuzzer target for the DNS response parser (dataplane/dns_message.*). The first byte
// selects UDP (even) or TCP framing (odd); the rest is the payload. Any input must end in
// a named DnsError; a parsed response keeps its invariants (indices inside the name table,
// names of valid characters, bounded counts).
#include <cstdlib>
#include <cstring>

#include "dataplane/dns_message.h"

using namespace haystack;

namespace {
bool valid(const DnsName& n) {
  if (n.len > DnsName::kMaxLen || n.text[n.len] != '\0') return false;
  for (size_t i = 0; i < n.len; ++i) {
    const char c = n.text[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static DnsResponse r;
  const bool tcp = data[0] & 1;
  const DnsError e =
      tcp ? parse_dns_tcp(data + 1, size - 1, r) : parse_dns_response(data + 1, size - 1, r);
  if (size_t(e) >= kDnsErrorCount) std::abort();
  if (r.n_names > DnsResponse::kMaxNames || r.n_answers > DnsResponse::kMaxAnswers) std::abort();
  if (e != DnsError::kOk) return 0;
  if (r.n_names < 1) std::abort();
  for (uint8_t i = 0; i < r.n_names; ++i)
    if (!valid(r.names[i])) std::abort();
  for (uint8_t i = 0; i < r.n_answers; ++i) {
    const DnsAnswer& a = r.answers[i];
    if (a.owner >= r.n_names) std::abort();
    if (a.type == DnsRrType::kCname && a.target >= r.n_names) std::abort();
    if (a.ttl & 0x80000000u) std::abort();
  }
  return 0;
}
