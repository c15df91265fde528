#include "control/flowql/parser.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "control/flowql/error.h"
#include "control/flowql/lexer.h"

namespace haystack::flowql {

using flowtree::FeatureSet;
using flowtree::Metric;
using TK = Token::Kind;

const char* op_name(Op op) {
  static constexpr const char* kNames[] = {"pop", "*", "drill", "top", "hhh", "above", "hc"};
  return kNames[int(op)];
}

const char* feature_name(Feature f) {
  static constexpr const char* kNames[] = {"src_ip", "dst_ip", "src_port", "dst_port", "proto"};
  return kNames[int(f)];
}

namespace {

constexpr int kMaxNesting = 64;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Non-negative decimal integer up to max, or nullopt.
std::optional<int64_t> to_int(std::string_view s, int64_t max) {
  int64_t v = 0;
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// "15m", "1h", "1d", "1w", "30s" -> seconds.
std::optional<uint32_t> to_duration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  const char unit = char(std::tolower(static_cast<unsigned char>(s.back())));
  const int64_t mult = unit == 's'   ? 1
                       : unit == 'm' ? 60
                       : unit == 'h' ? 3600
                       : unit == 'd' ? 86400
                       : unit == 'w' ? 604800
                                     : 0;
  const auto n = to_int(s.substr(0, s.size() - 1), 1000000);
  if (mult == 0 || !n || *n == 0 || *n * mult > 366 * 86400) return std::nullopt;
  return uint32_t(*n * mult);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : toks_(lex(text)) {}

  Query run() {
    Query q;
    expect_word("SELECT");
    parse_answer(q);
    expect_word("FROM");
    parse_periods(q);
    const int where_col = peek().column;
    if (accept_word("WHERE")) q.where = extract_sites(parse_or(0), q.sites);
    std::optional<FeatureSet> using_fs;
    if (accept_word("USING")) parse_using(q, using_fs);
    accept(TK::kSemicolon);
    if (peek().kind != TK::kEnd) fail(peek(), "expected WHERE, USING or the end of the query");
    resolve_feature_set(q, using_fs, where_col);
    return q;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool accept(TK k) {
    if (peek().kind != k) return false;
    next();
    return true;
  }
  bool is_word(std::string_view w, size_t ahead = 0) const {
    return peek(ahead).kind == TK::kWord && iequals(peek(ahead).text, w);
  }
  bool accept_word(std::string_view w) {
    if (!is_word(w)) return false;
    next();
    return true;
  }
  [[noreturn]] static void fail(const Token& t, const std::string& msg) {
    throw FlowQLError(t.column, msg + ", got " +
                                    (t.kind == TK::kEnd ? std::string("the end of the query")
                                                        : "'" + t.text + "'"));
  }
  void expect_word(std::string_view w) {
    if (!accept_word(w)) fail(peek(), "expected " + std::string(w));
  }
  void expect(TK k, const char* what) {
    if (!accept(k)) fail(peek(), std::string("expected ") + what);
  }

  // answer = "*" | "pop" | "drill" | ("top"|"above"|"hc") "-" INT | "hhh" "-" NUMBER, then
  // optional "(" option {"," option} ")".
  void parse_answer(Query& q) {
    const Token& t = next();
    if (t.kind == TK::kStar) {
      q.op = Op::kAll;
    } else if (t.kind == TK::kWord && (iequals(t.text, "pop") || iequals(t.text, "drill"))) {
      q.op = iequals(t.text, "pop") ? Op::kPop : Op::kDrill;
    } else if (t.kind == TK::kWord && (iequals(t.text, "top") || iequals(t.text, "hc") ||
                                       iequals(t.text, "above") || iequals(t.text, "hhh"))) {
      const std::string name = lower(t.text);
      expect(TK::kMinus, ("'-' and a number after " + name).c_str());
      const Token& n = next();
      if (name == "hhh") {
        double p = 0;
        auto [e, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), p);
        if (n.kind != TK::kWord || ec != std::errc() || e != n.text.data() + n.text.size() ||
            !(p > 0 && p <= 100)) {
          fail(n, "expected a percentage of the total in (0, 100] after hhh-");
        }
        q.op = Op::kHhh;
        q.phi = p / 100.0;
      } else {
        const auto v = n.kind == TK::kWord
                           ? to_int(n.text, name == "above" ? INT64_MAX / 2 : 1000000)
                           : std::nullopt;
        if (!v || (name != "above" && *v == 0)) {
          fail(n, name == "above" ? "expected a threshold (a non-negative integer) after above-"
                                  : "expected a count in 1..1000000 after " + name + "-");
        }
        q.op = name == "top" ? Op::kTop : name == "hc" ? Op::kHc : Op::kAbove;
        (q.op == Op::kAbove ? q.threshold : q.k) = *v;
      }
    } else {
      fail(t, "expected an answer: pop, *, drill, top-K, hhh-P, above-T or hc-K");
    }
    if (accept(TK::kLParen)) {
      bool metric_set = false;
      do {
        const Token& o = next();
        const std::string w = o.kind == TK::kWord ? lower(o.text) : "";
        if (w == "pkt" || w == "packets" || w == "byte" || w == "bytes" || w == "flow" ||
            w == "flows") {
          if (metric_set) fail(o, "count mode given twice");
          metric_set = true;
          q.metric = w[0] == 'p' ? Metric::kPackets : w[0] == 'b' ? Metric::kBytes : Metric::kFlows;
        } else if (w.rfind("bin", 0) == 0 && w.size() > 3) {
          if (q.bin_seconds) fail(o, "bin given twice");
          const std::string d = w.substr(3);
          q.bin_seconds = std::isdigit(static_cast<unsigned char>(d.back())) ? to_duration(d + "m")
                                                                             : to_duration(d);
          if (!q.bin_seconds) fail(o, "expected a bin length such as bin15, bin1h or bin1d");
          if (q.op == Op::kHc) fail(o, "hc compares two periods and takes no bin");
        } else {
          fail(o, "expected pkt, byte, flow or binN");
        }
      } while (accept(TK::kComma));
      expect(TK::kRParen, "',' or ')'");
    }
  }

  // period = ["TIME"] TIME "TO" TIME, repeated, optionally separated by ",".
  void parse_periods(Query& q) {
    do {
      const int col = peek().column;
      accept_word("TIME");
      if (peek().kind != TK::kTime) fail(peek(), "expected a time YYYY-MM-DD hh:mm");
      Period p;
      p.column = col;
      p.from = next().time;
      expect_word("TO");
      if (peek().kind != TK::kTime) fail(peek(), "expected a time YYYY-MM-DD hh:mm");
      p.to = next().time;
      if (p.to <= p.from) throw FlowQLError(col, "empty period: the end must be after the start");
      q.periods.push_back(p);
      accept(TK::kComma);
    } while (peek().kind == TK::kTime || is_word("TIME"));
    if (q.op == Op::kHc) {
      if (q.periods.size() != 2) {
        throw FlowQLError(q.periods.size() > 2 ? q.periods[2].column : q.periods[0].column,
                          "hc compares exactly two periods (before, after)");
      }
      return;
    }
    std::vector<Period> sorted = q.periods;
    std::sort(sorted.begin(), sorted.end(),
              [](const Period& a, const Period& b) { return a.from < b.from; });
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i].from < sorted[i - 1].to) {
        const Period& later = sorted[i].column > sorted[i - 1].column ? sorted[i] : sorted[i - 1];
        throw FlowQLError(later.column, "periods overlap (their traffic would be counted twice)");
      }
    }
  }

  Cond parse_or(int depth) {
    Cond c = parse_and(depth);
    if (!is_word("OR")) return c;
    Cond o;
    o.kind = Cond::Kind::kOr;
    o.column = c.column;
    o.kids.push_back(std::move(c));
    while (accept_word("OR")) o.kids.push_back(parse_and(depth));
    return o;
  }
  Cond parse_and(int depth) {
    Cond c = parse_atom(depth);
    if (!is_word("AND")) return c;
    Cond a;
    a.kind = Cond::Kind::kAnd;
    a.column = c.column;
    a.kids.push_back(std::move(c));
    while (accept_word("AND")) a.kids.push_back(parse_atom(depth));
    return a;
  }
  Cond parse_atom(int depth) {
    const Token& t = peek();
    if (accept(TK::kLParen)) {
      if (depth >= kMaxNesting) throw FlowQLError(t.column, "parentheses nested too deeply");
      Cond c = parse_or(depth + 1);
      expect(TK::kRParen, "AND, OR or ')'");
      c.column = t.column;
      return c;
    }
    return parse_predicate();
  }

  // predicate = feature "=" value | feature "IN" "(" value {"," value} ")".
  Cond parse_predicate() {
    const Token& f = next();
    const std::string name = f.kind == TK::kWord ? lower(f.text) : "";
    static constexpr std::pair<const char*, Feature> kFeatures[] = {{"src_ip", Feature::kSrcIp},
                                                                    {"dst_ip", Feature::kDstIp},
                                                                    {"src_port", Feature::kSrcPort},
                                                                    {"dst_port", Feature::kDstPort},
                                                                    {"proto", Feature::kProto}};
    std::optional<Feature> feature;
    for (const auto& [n, ft] : kFeatures) {
      if (name == n) feature = ft;
    }
    if (!feature && name != "site_id") {
      fail(f, "expected a condition on site_id, src_ip, dst_ip, src_port, dst_port or proto");
    }
    std::vector<Cond> values;
    auto one = [&] {
      if (feature) {
        Cond c;
        c.column = peek().column;
        c.pred = parse_value(*feature);
        values.push_back(std::move(c));
      } else {
        values.push_back(parse_site());
      }
    };
    if (accept_word("IN")) {
      expect(TK::kLParen, "'(' after IN");
      do one();
      while (accept(TK::kComma));
      expect(TK::kRParen, "',' or ')'");
    } else {
      expect(TK::kEq, "'=' or IN");
      one();
    }
    if (!feature) {  // site_id IN (...) is one site term listing every site
      Cond s = std::move(values[0]);
      for (size_t i = 1; i < values.size(); ++i) {
        if (values[i].site.mode != SiteSelection::Mode::kList ||
            s.site.mode != SiteSelection::Mode::kList) {
          throw FlowQLError(values[i].column, "ITR and ANY stand alone, not in a site list");
        }
        s.site.sites.push_back(values[i].site.sites[0]);
      }
      s.column = f.column;
      return s;
    }
    if (values.size() == 1) {
      values[0].column = f.column;
      values[0].pred.column = f.column;
      return std::move(values[0]);
    }
    Cond o;
    o.kind = Cond::Kind::kOr;
    o.column = f.column;
    o.kids = std::move(values);
    return o;
  }

  Cond parse_site() {
    const Token& t = next();
    Cond c;
    c.kind = Cond::Kind::kSite;
    c.column = t.column;
    if (t.kind == TK::kStar) return c;  // all sites
    if ((t.kind != TK::kWord && t.kind != TK::kString) || t.text.empty())
      fail(t, "expected a site name, ITR or ANY");
    std::string name = t.text;
    // Unquoted names may contain '-' (fra-1): join adjacent word '-' word tokens.
    while (t.kind == TK::kWord && peek().kind == TK::kMinus &&
           peek().column == t.column + int(name.size()) && peek(1).kind == TK::kWord &&
           peek(1).column == peek().column + 1) {
      next();
      name += "-" + next().text;
    }
    if (t.kind == TK::kWord && iequals(name, "ANY")) return c;
    if (t.kind == TK::kWord && iequals(name, "ITR")) {
      c.site.mode = SiteSelection::Mode::kIterate;
    } else if (name.find('/') != std::string::npos || name == "." || name == "..") {
      fail(t, "expected a site name, ITR or ANY");
    } else {
      c.site.mode = SiteSelection::Mode::kList;
      c.site.sites.push_back(name);
    }
    return c;
  }

  Predicate parse_value(Feature f) {
    Predicate p;
    p.feature = f;
    const Token& t = next();
    if (t.kind == TK::kStar || (t.kind == TK::kWord && iequals(t.text, "ANY"))) return p;
    if (t.kind != TK::kWord) fail(t, std::string("expected a value for ") + feature_name(f));
    if (f == Feature::kProto) {
      static constexpr std::pair<const char*, int> kNames[] = {
          {"icmp", 1}, {"tcp", 6},     {"udp", 17},  {"gre", 47},
          {"esp", 50}, {"icmpv6", 58}, {"sctp", 132}};
      for (const auto& [n, v] : kNames) {
        if (iequals(t.text, n)) p.proto = v;
      }
      if (p.proto < 0) {
        const auto v = to_int(t.text, 255);
        if (!v) fail(t, "expected a protocol number 0..255, a name (tcp, udp, icmp, ...) or ANY");
        p.proto = int(*v);
      }
    } else if (f == Feature::kSrcPort || f == Feature::kDstPort) {
      const auto lo = to_int(t.text, 65535);
      if (!lo) fail(t, "expected a port 0..65535 or ANY");
      p.lo = p.hi = uint16_t(*lo);
      if (accept(TK::kMinus)) {
        const Token& h = next();
        const auto hi = h.kind == TK::kWord ? to_int(h.text, 65535) : std::nullopt;
        if (!hi || *hi < *lo) fail(h, "expected the last port of the range (>= the first)");
        p.hi = uint16_t(*hi);
      } else if (peek().kind == TK::kPipe || peek().kind == TK::kSlash) {
        next();
        const Token& l = next();
        const auto len = l.kind == TK::kWord ? to_int(l.text, 16) : std::nullopt;
        if (!len) fail(l, "expected a port prefix length 0..16");
        const uint32_t span = 1u << (16 - *len);
        p.lo = uint16_t(*lo & ~(span - 1));
        p.hi = uint16_t(p.lo + span - 1);
      }
    } else {
      p.ip = parse_ip(t);
    }
    return p;
  }

  // ADDR [("/"|"|") LEN]; IPv4 becomes ::ffff:a.b.c.d/(96 + len). Host bits are cleared.
  IpPrefix parse_ip(const Token& t) {
    IpPrefix ip;
    ip.any = false;
    in_addr v4{};
    in6_addr v6{};
    int max_len = 128;
    if (inet_pton(AF_INET, t.text.c_str(), &v4) == 1) {
      ip.addr[10] = ip.addr[11] = 0xff;
      std::memcpy(&ip.addr[12], &v4, 4);
      max_len = 32;
    } else if (inet_pton(AF_INET6, t.text.c_str(), &v6) == 1) {
      std::memcpy(ip.addr.data(), &v6, 16);
    } else {
      fail(t, "expected an IPv4 or IPv6 address or ANY");
    }
    int len = max_len;
    if (peek().kind == TK::kSlash || peek().kind == TK::kPipe) {
      next();
      const Token& l = next();
      const auto v = l.kind == TK::kWord ? to_int(l.text, max_len) : std::nullopt;
      if (!v) fail(l, "expected a prefix length 0.." + std::to_string(max_len));
      len = int(*v);
    }
    ip.len = len + (128 - max_len);
    for (int b = ip.len; b < 128; ++b) ip.addr[size_t(b / 8)] &= uint8_t(~(0x80u >> (b % 8)));
    return ip;
  }

  // using = FEATURE_SET | GRANULARITY, comma-separated, each at most once.
  void parse_using(Query& q, std::optional<FeatureSet>& fs) {
    do {
      const Token& t = next();
      std::string up = t.text;
      for (char& c : up) c = char(std::toupper(static_cast<unsigned char>(c)));
      if (t.kind == TK::kWord && flowtree::parse_feature_set(up)) {
        if (fs) fail(t, "feature set given twice");
        fs = flowtree::parse_feature_set(up);
      } else if (t.kind == TK::kWord && to_duration(t.text)) {
        if (q.granularity) fail(t, "granularity given twice");
        q.granularity = to_duration(t.text);
      } else {
        fail(t,
             "expected a feature set (SI, DI, SP, DP, SIDI, SPDP, SISP, SIDP, DISP, DIDP, FULL) "
             "or a granularity (1m, 15m, 1h, 1d, 1w)");
      }
    } while (accept(TK::kComma));
  }

  // site_id terms must be top-level AND terms: they choose trees, not flows.
  static std::optional<Cond> extract_sites(Cond c, SiteSelection& sites) {
    bool seen = false;
    auto take = [&](const Cond& s) {
      if (seen) throw FlowQLError(s.column, "site_id given twice");
      seen = true;
      sites = s.site;
    };
    if (c.kind == Cond::Kind::kSite) {
      take(c);
      return std::nullopt;
    }
    if (c.kind == Cond::Kind::kAnd) {
      std::vector<Cond> rest;
      for (Cond& k : c.kids) {
        if (k.kind == Cond::Kind::kSite)
          take(k);
        else
          rest.push_back(std::move(k));
      }
      c.kids = std::move(rest);
      if (c.kids.empty()) return std::nullopt;
      if (c.kids.size() == 1) {
        Cond only = std::move(c.kids[0]);
        c = std::move(only);
      }
    }
    reject_nested_sites(c);
    return c;
  }
  static void reject_nested_sites(const Cond& c) {
    if (c.kind == Cond::Kind::kSite) {
      throw FlowQLError(c.column,
                        "site_id can only be combined with AND at the top level of WHERE");
    }
    for (const Cond& k : c.kids) reject_nested_sites(k);
  }

  static void features_of(const Cond& c, std::vector<const Predicate*>& out) {
    if (c.kind == Cond::Kind::kPred) out.push_back(&c.pred);
    for (const Cond& k : c.kids) features_of(k, out);
  }

  // The feature set is the one named in USING, else the set of features WHERE mentions
  // (three features use FULL). Every feature mentioned must be in the set.
  void resolve_feature_set(Query& q, std::optional<FeatureSet> fs, int where_col) const {
    std::vector<const Predicate*> preds;
    if (q.where) features_of(*q.where, preds);
    if (fs) {
      const flowtree::Hierarchy h(*fs);
      for (const Predicate* p : preds) {
        const bool ok = p->feature == Feature::kProto ||
                        (p->feature == Feature::kSrcIp && h.has_src_ip()) ||
                        (p->feature == Feature::kDstIp && h.has_dst_ip()) ||
                        (p->feature == Feature::kSrcPort && h.has_src_port()) ||
                        (p->feature == Feature::kDstPort && h.has_dst_port());
        if (!ok) {
          throw FlowQLError(p->column, std::string("feature set ") +
                                           std::string(flowtree::feature_set_name(*fs)) +
                                           " has no " + feature_name(p->feature));
        }
      }
      q.feature_set = *fs;
      return;
    }
    unsigned mask = 0;
    for (const Predicate* p : preds) {
      if (p->feature != Feature::kProto) mask |= 1u << int(p->feature);
    }
    static constexpr std::pair<unsigned, FeatureSet> kSets[] = {
        {1, FeatureSet::SI},   {2, FeatureSet::DI},    {4, FeatureSet::SP},   {8, FeatureSet::DP},
        {3, FeatureSet::SIDI}, {12, FeatureSet::SPDP}, {5, FeatureSet::SISP}, {9, FeatureSet::SIDP},
        {6, FeatureSet::DISP}, {10, FeatureSet::DIDP}};
    if (mask == 0) {
      throw FlowQLError(where_col,
                        "no feature set: name the features in WHERE (e.g. src_ip = ANY) "
                        "or add USING <set>");
    }
    q.feature_set = FeatureSet::FULL;
    for (const auto& [m, s] : kSets) {
      if (m == mask) q.feature_set = s;
    }
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

}  // namespace

Query parse(std::string_view text) {
  return Parser(text).run();
}

}  // namespace haystack::flowql
