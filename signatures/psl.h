// Public suffix list (https://publicsuffix.org/list/): finds a name's registrable domain
// ("SLD" in METHODS §3: public suffix + one label), which decides whether the names on a
// server IP belong to one owner. Implements the list's algorithm (normal, wildcard and
// exception rules, default rule "*"); non-ASCII rules are matched in their punycode form
// because names on the wire are ASCII.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace haystack::hitlist {

// Debian package `publicsuffix`.
inline constexpr const char* kDefaultPslPath = "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
 public:
  // Errors throw HitlistError ("file:line: psl.rule: ..."). icann_only skips the
  // "===BEGIN PRIVATE DOMAINS===" section (e.g. cloudfront.net, s3.amazonaws.com).
  static PublicSuffixList load(const std::string& path, bool icann_only = false);
  static PublicSuffixList parse(std::string_view text, const std::string& name,
                                bool icann_only = false);

  // Registrable domain of a lower-case ASCII name without trailing dot; nullopt when the
  // name is empty, has an empty label, or is itself a public suffix.
  std::optional<std::string> registrable_domain(std::string_view name) const;
  size_t rule_count() const { return normal_.size() + wildcard_.size() + exception_.size(); }

 private:
  std::unordered_set<std::string> normal_;     // "co.uk"
  std::unordered_set<std::string> wildcard_;   // "*.ck" stored as "ck"
  std::unordered_set<std::string> exception_;  // "!www.ck" stored as "www.ck"
};

// IDNA-lite ToASCII: lower-cases ASCII and replaces each non-ASCII label of a UTF-8 name
// by "xn--" + punycode (RFC 3492). No Unicode case folding or normalisation. Returns false
// on invalid UTF-8.
bool to_ascii_name(std::string_view utf8, std::string& out);

}  // namespace haystack::hitlist
