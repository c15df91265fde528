// libFuzzer target for the DNS-observation parser (dns 1) and the CNAME graph: any input
// is either parsed or rejected with a HitlistError; parsed records keep their invariants,
// and resolving every name terminates (CNAME loops, long chains) with addresses the
// records actually contain.
#include <cstdlib>
#include <string_view>

#include "signatures/dns_records.h"
#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_loader.h"

using namespace haystack::hitlist;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<DnsRecord> recs;
  try {
    recs = parse_dns_records(text, "fuzz.dns");
  } catch (const HitlistError& e) {
    if (e.line() < 0 || e.field().empty()) std::abort();
    return 0;
  }
  IpSet all;
  for (const auto& r : recs) {
    if (r.last_seen < r.first_seen || r.name.empty() || r.line < 2) std::abort();
    if (r.type != RrType::kCname) all.insert(r.addr);
  }
  const DnsGraph g(recs, 0, INT64_MAX);
  for (const auto& r : recs) {
    for (const auto& a : g.resolve(r.name))
      if (!all.count(a)) std::abort();
    if (r.type != RrType::kCname && !g.names_on(r.addr).count(r.name)) std::abort();
  }
  return 0;
}
