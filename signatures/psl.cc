// Public suffix list parsing and lookup, plus the punycode encoder the list's IDN rules need.
#include "signatures/psl.h"

#include <cstdint>
#include <vector>

#include "signatures/hitlist_loader.h"
#include "signatures/text_records.h"

namespace haystack::hitlist {
namespace {

bool decode_utf8(std::string_view s, std::vector<uint32_t>& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0) return false;
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    out.push_back(cp);
    i += n + 1;
  }
  return true;
}

// RFC 3492 §6.1 bias adaptation and §6.3 encoding, with the Punycode parameters of §5.
constexpr uint32_t kBase = 36, kTmin = 1, kTmax = 26, kSkew = 38, kDamp = 700;

uint32_t adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / kDamp : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  while (delta > ((kBase - kTmin) * kTmax) / 2) {
    delta /= kBase - kTmin;
    k += kBase;
  }
  return k + (kBase - kTmin + 1) * delta / (delta + kSkew);
}

char digit(uint32_t d) {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

std::string punycode(const std::vector<uint32_t>& in) {
  std::string out;
  for (uint32_t c : in)
    if (c < 0x80) out += static_cast<char>(c);
  const uint32_t b = static_cast<uint32_t>(out.size());
  if (b > 0) out += '-';
  uint32_t n = 0x80, delta = 0, bias = 72, h = b;
  while (h < in.size()) {
    uint32_t m = UINT32_MAX;
    for (uint32_t c : in)
      if (c >= n && c < m) m = c;
    delta += (m - n) * (h + 1);
    n = m;
    for (uint32_t c : in) {
      if (c < n) ++delta;
      if (c != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kBase;; k += kBase) {
        const uint32_t t = k <= bias ? kTmin : k >= bias + kTmax ? kTmax : k - bias;
        if (q < t) break;
        out += digit(t + (q - t) % (kBase - t));
        q = (q - t) / (kBase - t);
      }
      out += digit(q);
      bias = adapt(delta, h + 1, h == b);
      delta = 0;
      ++h;
    }
    ++delta;
    ++n;
  }
  return out;
}

}  // namespace

bool to_ascii_name(std::string_view utf8, std::string& out) {
  out.clear();
  std::vector<uint32_t> cps;
  size_t start = 0;
  while (true) {
    const size_t dot = utf8.find('.', start);
    const std::string_view label =
        utf8.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!decode_utf8(label, cps)) return false;
    bool ascii = true;
    for (uint32_t c : cps) ascii = ascii && c < 0x80;
    if (ascii) {
      for (char c : label) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    } else {
      out += "xn--" + punycode(cps);
    }
    if (dot == std::string_view::npos) return true;
    out += '.';
    start = dot + 1;
  }
}

PublicSuffixList PublicSuffixList::load(const std::string& path, bool icann_only) {
  return parse(read_text_file(path), path, icann_only);
}

PublicSuffixList PublicSuffixList::parse(std::string_view text, const std::string& name,
                                         bool icann_only) {
  PublicSuffixList psl;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (icann_only && line.starts_with("// ===BEGIN PRIVATE DOMAINS===")) break;
    // A rule is the line's first whitespace-delimited word; "//" starts a comment line.
    const size_t ws = line.find_first_of(" \t\r");
    line = line.substr(0, ws);
    if (line.empty() || line.starts_with("//")) continue;
    std::unordered_set<std::string>* set = &psl.normal_;
    if (line.front() == '!') {
      set = &psl.exception_;
      line.remove_prefix(1);
    } else if (line.starts_with("*.")) {
      set = &psl.wildcard_;
      line.remove_prefix(2);
    }
    std::string rule;
    if (line.empty() || !to_ascii_name(line, rule))
      throw HitlistError(name, line_no, "psl.rule", "invalid rule '" + std::string(line) + "'");
    set->insert(std::move(rule));
  }
  return psl;
}

std::optional<std::string> PublicSuffixList::registrable_domain(std::string_view name) const {
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos)
    return std::nullopt;
  // Label start offsets; suffix i = name.substr(starts[i]).
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < name.size(); ++i)
    if (name[i] == '.') starts.push_back(i + 1);
  const size_t n = starts.size();
  size_t suffix_labels = 1;  // the default rule "*"
  for (size_t i = 0; i < n; ++i) {
    const std::string s(name.substr(starts[i]));
    if (exception_.count(s)) {  // exceptions win; the suffix is the rule minus its first label
      suffix_labels = n - i - 1;
      break;
    }
    const bool wild = i + 1 < n && wildcard_.count(std::string(name.substr(starts[i + 1])));
    if ((normal_.count(s) || wild) && n - i > suffix_labels) suffix_labels = n - i;
  }
  if (suffix_labels >= n) return std::nullopt;
  return std::string(name.substr(starts[n - suffix_labels - 1]));
}

}  // namespace haystack::hitlist
