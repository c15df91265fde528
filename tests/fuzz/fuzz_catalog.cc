// libFuzzer target for the catalog parser (catalog 1) and the whole builder: the input is
// a catalog, optionally followed by a line "---" and DNS observation records (header implied). Any
// input is either rejected with a HitlistError or built into a bundle that the bundle loader
// accepts.
#include <cstdlib>
#include <string_view>

#include "signatures/catalog.h"
#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_loader.h"

using namespace haystack::hitlist;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto psl = PublicSuffixList::parse("com\nnet\norg\nco.uk\n*.ck\n!www.ck\n", "f.psl");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string dns_text = "dns 1\n";  // the header is implied after "---"
  if (const size_t sep = text.find("\n---\n"); sep != std::string_view::npos) {
    dns_text += text.substr(sep + 5);
    text = text.substr(0, sep + 1);
  }
  std::string bundle;
  try {
    const Catalog c = parse_catalog(text, "fuzz.catalog");
    const auto recs = parse_dns_records(dns_text, "fuzz.dns");
    BuildOptions opt;
    opt.date = "2026-11-01";
    opt.window_days = 3650;  // the seeds' times fall in it
    const BuildResult r = build(c, {recs}, psl, opt);
    bundle = write_bundle(r);
    (void)write_report(r, c);
  } catch (const HitlistError& e) {
    if (e.line() < 0 || e.field().empty()) std::abort();
    return 0;
  }
  try {
    parse_bundle(bundle, "built.hitlist");
  } catch (const HitlistError&) {
    std::abort();  // the builder wrote a bundle its own loader rejects
  }
  return 0;
}
