// libFuzzer target for the TLS ClientHello SNI parser (dataplane/tls_sni.*): any input
// ends in a named SniError; an extracted name is non-empty, lower case, of valid labels.
#include <cstdlib>

#include "dataplane/tls_sni.h"

using namespace haystack;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DnsName n;
  const SniError e = parse_client_hello_sni(data, size, n);
  if (size_t(e) >= kSniErrorCount) std::abort();
  if (e != SniError::kOk) return 0;
  if (n.len == 0 || n.len > DnsName::kMaxLen || n.text[n.len] != '\0') std::abort();
  size_t label = 0;
  for (size_t i = 0; i < n.len; ++i) {
    const char c = n.text[i];
    if (c == '.') {
      if (label == 0) std::abort();
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) std::abort();
    if (++label > 63) std::abort();
  }
  if (label == 0) std::abort();
  return 0;
}
