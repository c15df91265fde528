#include "signatures/name_matcher.h"

#include <hs/hs.h>

#include <stdexcept>

#include "signatures/hitlist_loader.h"
#include "signatures/text_records.h"

namespace haystack::hitlist {

std::string_view name_source_name(NameSource s) {
  return s == NameSource::kCatalogDomain ? "catalog" : "backend";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool strip_suffix(std::string_view& s, std::string_view suffix) {
  if (s.size() <= suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  s.remove_suffix(suffix.size());
  return true;
}

}  // namespace

std::vector<BackendPattern> parse_backend_patterns(std::string_view text, const std::string& name) {
  std::vector<BackendPattern> out;
  int line = 0;
  size_t pos = 0;
  bool header = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view l =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    l = trim(l);
    if (l.empty()) continue;
    if (!header) {
      if (l.substr(0, 8) != "company,")
        throw HitlistError(name, line, "backend.header",
                           "expected the header 'company,domain_A_queries,...'");
      header = true;
      continue;
    }
    std::vector<std::string_view> f;
    for (size_t s = 0;;) {
      size_t c = l.find(',', s);
      f.push_back(l.substr(s, c == std::string_view::npos ? std::string_view::npos : c - s));
      if (c == std::string_view::npos) break;
      s = c + 1;
    }
    if (f.size() != 4)
      throw HitlistError(name, line, "backend.record",
                         "expected 4 comma-separated fields (company, A, AAAA, CNAME regex), got " +
                             std::to_string(f.size()));
    std::string_view company = trim(f[0]);
    if (company.size() >= 2 && company.front() == '\'' && company.back() == '\'')
      company = company.substr(1, company.size() - 2);
    if (company.empty()) throw HitlistError(name, line, "backend.company", "empty company");
    const char* suffixes[] = {"/A", "/AAAA", "/CNAME"};
    const char* fields[] = {"backend.a", "backend.aaaa", "backend.cname"};
    for (int i = 0; i < 3; ++i) {
      std::string_view re = trim(f[i + 1]);
      if (!strip_suffix(re, suffixes[i]))
        throw HitlistError(name, line, fields[i],
                           "regex must end in '" + std::string(suffixes[i]) + "'");
      bool dup = false;
      for (size_t k = out.size(); k > 0 && out[k - 1].line == line; --k)
        dup |= out[k - 1].regex == re;
      if (!dup) out.push_back(BackendPattern{std::string(company), std::string(re), line});
    }
  }
  if (!header) throw HitlistError(name, 0, "backend.header", "empty file");
  return out;
}

std::vector<BackendPattern> load_backend_patterns(const std::string& path) {
  return parse_backend_patterns(read_text_file(path), path);
}

std::string posix_classes_to_ranges(std::string_view re) {
  static constexpr std::pair<std::string_view, std::string_view> kClasses[] = {
      {"[:digit:]", "0-9"},
      {"[:alnum:]", "a-zA-Z0-9"},
      {"[:alpha:]", "a-zA-Z"},
      {"[:lower:]", "a-z"},
      {"[:upper:]", "A-Z"},
      {"[:xdigit:]", "0-9a-fA-F"},
      {"[:space:]", " \\t\\r\\n\\f\\v"},
      {"[:punct:]", "!-/:-@\\[-`{-~"},
      {"[:word:]", "a-zA-Z0-9_"}};
  std::string out;
  for (size_t i = 0; i < re.size();) {
    bool replaced = false;
    if (re[i] == '[' && i + 1 < re.size() && re[i + 1] == ':') {
      for (const auto& [cls, range] : kClasses) {
        if (re.substr(i, cls.size()) == cls) {
          out += range;
          i += cls.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) {
      if (re[i] == '\\' && i + 1 < re.size()) out += re[i++];  // keep escapes intact
      out += re[i++];
    }
  }
  return out;
}

std::string domain_regex(const std::string& fqdn, const PublicSuffixList* psl,
                         bool digit_wildcards) {
  size_t wild_end = 0;  // digits before this offset are wildcarded
  if (digit_wildcards && psl != nullptr) {
    if (auto reg = psl->registrable_domain(fqdn); reg && reg->size() < fqdn.size())
      wild_end = fqdn.size() - reg->size();
  }
  std::string out = "^";
  for (size_t i = 0; i < fqdn.size();) {
    const char c = fqdn[i];
    if (i < wild_end && c >= '0' && c <= '9') {
      while (i < wild_end && fqdn[i] >= '0' && fqdn[i] <= '9') ++i;
      out += "[0-9]+";
      continue;
    }
    if (c == '.')
      out += "\\.";
    else
      out += c;  // a-z 0-9 - _ need no escape
    ++i;
  }
  out += "\\.$";
  return out;
}

std::shared_ptr<const NameMatcher> NameMatcher::build(const Bundle& b,
                                                      const std::vector<BackendPattern>& backend,
                                                      const std::string& backend_file,
                                                      const NameMatcherOptions& opt) {
  std::shared_ptr<NameMatcher> m(new NameMatcher());
  for (const Domain& d : b.domains)
    m->patterns_.push_back(NamePattern{NameSource::kCatalogDomain, d.id, d.fqdn,
                                       domain_regex(d.fqdn, opt.psl, opt.digit_wildcards)});
  m->catalog_ = m->patterns_.size();
  for (size_t i = 0; i < backend.size(); ++i)
    m->patterns_.push_back(NamePattern{NameSource::kBackendProvider, uint32_t(i),
                                       backend[i].provider,
                                       posix_classes_to_ranges(backend[i].regex)});
  if (m->patterns_.empty()) return m;

  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < m->patterns_.size(); ++i) {
    exprs.push_back(m->patterns_[i].regex.c_str());
    flags.push_back(HS_FLAG_SINGLEMATCH);
    ids.push_back(unsigned(i));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &m->db_, &err) != HS_SUCCESS) {
    const int at = err != nullptr ? err->expression : -1;
    const std::string msg = err != nullptr ? err->message : "unknown error";
    hs_free_compile_error(err);
    if (at >= 0 && size_t(at) >= m->catalog_) {
      const BackendPattern& p = backend[size_t(at) - m->catalog_];
      throw HitlistError(backend_file, p.line, "backend.regex",
                         "pattern '" + p.regex + "' does not compile: " + msg);
    }
    if (at >= 0)
      throw HitlistError(b.source, b.domains[size_t(at)].line, "domain.fqdn",
                         "name pattern does not compile: " + msg);
    throw std::runtime_error("hyperscan: " + msg);
  }
  hs_scratch_t* proto = nullptr;
  if (hs_alloc_scratch(m->db_, &proto) != HS_SUCCESS)
    throw std::runtime_error("hyperscan: cannot allocate scratch space");
  m->scratch_.push_back(proto);
  for (uint32_t s = 1; s < (opt.scratch_slots == 0 ? 1 : opt.scratch_slots); ++s) {
    hs_scratch_t* c = nullptr;
    if (hs_clone_scratch(proto, &c) != HS_SUCCESS)
      throw std::runtime_error("hyperscan: cannot clone scratch space");
    m->scratch_.push_back(c);
  }
  return m;
}

NameMatcher::~NameMatcher() {
  for (hs_scratch_t* s : scratch_) hs_free_scratch(s);
  hs_free_database(db_);
}

size_t NameMatcher::database_bytes() const {
  size_t n = 0;
  if (db_ != nullptr) hs_database_size(db_, &n);
  return n;
}

namespace {
struct MatchCtx {
  uint32_t* ids;
  size_t max;
  size_t n;
};
int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  auto* c = static_cast<MatchCtx*>(ctx);
  c->ids[c->n++] = id;
  return c->n == c->max ? 1 : 0;  // stop once the caller's buffer is full
}
}  // namespace

size_t NameMatcher::match(std::string_view name, uint32_t slot, uint32_t* ids, size_t max) const {
  if (db_ == nullptr || max == 0 || slot >= scratch_.size() || name.size() > 253) return 0;
  char buf[256];
  for (size_t i = 0; i < name.size(); ++i) buf[i] = name[i];
  buf[name.size()] = '.';
  MatchCtx ctx{ids, max > kMaxMatches ? kMaxMatches : max, 0};
  hs_scan(db_, buf, unsigned(name.size() + 1), 0, scratch_[slot], on_match, &ctx);
  for (size_t i = 1; i < ctx.n; ++i)  // insertion sort: a handful of ids
    for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; --j) std::swap(ids[j - 1], ids[j]);
  return ctx.n;
}

}  // namespace haystack::hitlist
