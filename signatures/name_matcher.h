// NameMatcher: one Hyperscan database that matches a DNS or TLS server name against
//   (a) the domains of a hitlist bundle (catalog domains), and
//   (b) IoT backend provider patterns (../shared/data/backend-patterns, IMC 2022),
// for on-the-wire learning (METHODS §4, docs/learning.md). It belongs to a hitlist
// generation: compiled when the generation is loaded, published and reclaimed with it.
//
// Names are scanned as "<name>." (lower case, one trailing dot), the form the provider
// patterns are written for (`...\.amazonaws\.com\.$`). A catalog domain becomes
// `^<escaped fqdn>\.$`; with digit wildcards on, every run of digits in the labels left
// of its registrable domain becomes [0-9]+ (`command-2.x.com` also matches
// `command-9.x.com`, METHODS §4). Provider patterns are POSIX EREs; their bracket classes
// ([[:digit:]], [[:alnum:]], ...) are rewritten to explicit ranges.
//
// Scratch space: one Hyperscan scratch per worker ("slot"), allocated when the matcher
// is built (off the packet path), so match() never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/hitlist.h"
#include "signatures/psl.h"

struct hs_database;
struct hs_scratch;

namespace haystack::hitlist {

enum class NameSource : uint8_t { kCatalogDomain = 0, kBackendProvider = 1 };
std::string_view name_source_name(NameSource s);  // "catalog" | "backend"

// One provider pattern of the backend-patterns CSV.
struct BackendPattern {
  std::string provider;  // e.g. "Amazon AWS"
  std::string regex;     // POSIX ERE as written in the file, without the "/A" suffix
  int line = 0;
};

// Parses the `top16_companies_dnsdb_patterns.csv` format: a header line starting with
// "company", then `company,<re>/A,<re>/AAAA,<re>/CNAME` (company optionally in single
// quotes). The A, AAAA and CNAME regexes of a row are kept once each if they differ.
// Errors throw HitlistError "file:line: backend.<field>: message".
std::vector<BackendPattern> parse_backend_patterns(std::string_view text, const std::string& name);
std::vector<BackendPattern> load_backend_patterns(const std::string& path);

// [[:digit:]] -> 0-9 and the other POSIX classes inside bracket expressions.
std::string posix_classes_to_ranges(std::string_view re);
// The anchored regex of a catalog domain (see the header comment); psl == nullptr or
// !digit_wildcards: exact name only.
std::string domain_regex(const std::string& fqdn, const PublicSuffixList* psl,
                         bool digit_wildcards);

struct NamePattern {
  NameSource source = NameSource::kCatalogDomain;
  uint32_t ref = 0;   // catalog: DomainId in the bundle; backend: index of the BackendPattern
  std::string label;  // catalog: the domain's fqdn; backend: the provider
  std::string regex;  // what was compiled
};

struct NameMatcherOptions {
  bool digit_wildcards = true;
  const PublicSuffixList* psl = nullptr;  // needed for digit wildcards
  uint32_t scratch_slots = 1;             // one per worker
};

class NameMatcher {
 public:
  static constexpr size_t kMaxMatches = 8;  // pattern ids reported per name

  // Throws HitlistError (field backend.regex, naming the pattern's line) when a pattern
  // does not compile, std::runtime_error when Hyperscan cannot allocate.
  static std::shared_ptr<const NameMatcher> build(const Bundle& b,
                                                  const std::vector<BackendPattern>& backend,
                                                  const std::string& backend_file,
                                                  const NameMatcherOptions& opt);
  ~NameMatcher();
  NameMatcher(const NameMatcher&) = delete;
  NameMatcher& operator=(const NameMatcher&) = delete;

  // Pattern ids that match `name` (lower case, no trailing dot), ascending, at most
  // `max` (<= kMaxMatches); uses scratch slot `slot` (one caller per slot at a time).
  // Never allocates, locks or throws.
  size_t match(std::string_view name, uint32_t slot, uint32_t* ids, size_t max) const;

  const NamePattern& pattern(uint32_t id) const { return patterns_[id]; }
  size_t size() const { return patterns_.size(); }
  size_t catalog_patterns() const { return catalog_; }
  uint32_t scratch_slots() const { return uint32_t(scratch_.size()); }
  size_t database_bytes() const;

 private:
  NameMatcher() = default;
  std::vector<NamePattern> patterns_;
  size_t catalog_ = 0;
  hs_database* db_ = nullptr;
  std::vector<hs_scratch*> scratch_;
};

}  // namespace haystack::hitlist
