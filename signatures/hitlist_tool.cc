// haystack-hitlist: builds the daily hitlist bundle from a device catalog and DNS
// observations (docs/hitlist-builder.md). Exit codes: 0 ok, 1 malformed input (message
// "file:line: field: message"), 2 usage error, 3 cannot write an output file, 4 the built
// bundle failed to load back (a builder bug).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "haystack_version.h"
#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_loader.h"

using namespace haystack::hitlist;

namespace {

constexpr int kExitInput = 1, kExitUsage = 2, kExitWrite = 3, kExitSelfCheck = 4;

// Writes via a temporary file and rename, so a reader never sees half a bundle.
bool write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !(f << text) || !f.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"haystack-hitlist: build the daily IoT hitlist bundle (METHODS §3)"};
  app.set_version_flag("--version", HAYSTACK_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 malformed input, 2 usage error, 3 cannot write output, "
      "4 built bundle failed to load back. See docs/hitlist-builder.md.");

  auto* b = app.add_subcommand("build", "catalog + DNS observations -> bundle + report");
  std::string catalog, out, report, psl_path = kDefaultPslPath;
  std::vector<std::string> dns;
  BuildOptions opt;
  bool icann_only = false;
  b->add_option("--catalog", catalog, "device catalog (catalog 1 format)")->required();
  b->add_option("--dns", dns, "DNS observations (dns 1 format); repeatable")->required();
  b->add_option("--date", opt.date, "UTC date the bundle is valid for, YYYY-MM-DD")
      ->required()
      ->check([](const std::string& d) { return valid_date(d) ? "" : "not a YYYY-MM-DD date"; });
  b->add_option("--out", out, "bundle to write")->required();
  b->add_option("--report", report, "human-readable report to write")->required();
  b->add_option("--window-days", opt.window_days,
                "DNS records seen in the N days ending on --date count")
      ->check(CLI::Range(1, 3660))
      ->capture_default_str();
  b->add_option("--min-primary", opt.min_primary,
                "dedicated primary domains a service needs to be kept")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  b->add_option("--psl", psl_path, "public suffix list")->capture_default_str();
  b->add_flag("--psl-icann-only", icann_only, "ignore the PSL's private section");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  std::string bundle_text, report_text;
  try {
    const Catalog cat = load_catalog(catalog);
    std::vector<std::vector<DnsRecord>> records;
    for (const auto& d : dns) records.push_back(load_dns_records(d));
    const auto psl = PublicSuffixList::load(psl_path, icann_only);
    opt.catalog_name = catalog;
    opt.dns_names = dns;
    opt.psl_name = psl_path;
    opt.psl_icann_only = icann_only;
    const BuildResult r = build(cat, records, psl, opt);
    bundle_text = write_bundle(r);
    report_text = write_report(r, cat);
  } catch (const HitlistError& e) {
    std::cerr << "haystack-hitlist: " << e.what() << "\n";
    return kExitInput;
  }
  try {
    parse_bundle(bundle_text, out);
  } catch (const HitlistError& e) {
    std::cerr << "haystack-hitlist: built bundle does not load: " << e.what() << "\n";
    return kExitSelfCheck;
  }
  if (!write_file(out, bundle_text) || !write_file(report, report_text)) {
    std::cerr << "haystack-hitlist: cannot write " << out << " or " << report << "\n";
    return kExitWrite;
  }
  return 0;
}
