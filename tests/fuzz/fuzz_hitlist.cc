// libFuzzer target for the hitlist bundle loader and the compiled lookup table: any input
// either loads or is rejected with a HitlistError naming a line; a loaded bundle must
// compile, and every endpoint must be found again by a lookup of its own key.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "signatures/hitlist_loader.h"
#include "signatures/hitlist_table.h"

using namespace haystack::hitlist;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_services = 256;  // keep each run small
  limits.max_domains = 4096;
  limits.max_endpoints = 4096;
  Bundle b;
  try {
    b = parse_bundle(text, "fuzz.hitlist", limits);
  } catch (const HitlistError& e) {
    if (e.line() < 0) std::abort();
    return 0;
  }
  auto table = HitlistTable::compile(b);
  for (const Endpoint& ep : b.endpoints) {
    const uint16_t port = ep.any_port ? 1 : ep.port;
    const uint8_t proto = ep.proto == 0 ? 6 : ep.proto;
    if (table->lookup(ep.addr, proto, port) == nullptr) {
      std::fprintf(stderr, "endpoint of line %d not found by lookup\n", ep.line);
      std::abort();
    }
  }
  return 0;
}
