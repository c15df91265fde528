#include "control/flowql/executor.h"

#include <algorithm>
#include <limits>

#include "control/flowql/error.h"
#include "control/flowql/parser.h"
#include "dataplane/flowtree/flowtree_queries.h"

namespace haystack::flowql {

using flowtree::Flowtree;
using flowtree::FlowtreeConfig;
using flowtree::Ranked;

namespace {

struct Merged {
  std::optional<Flowtree> tree;  // nullopt: no stored tree in the interval
  size_t trees = 0;
  int64_t covered = 0;
};

struct BinRef {
  std::string site;
  uint32_t seconds;
  int64_t start;
};

// Stored bins of one site that tile [from, to): at each point the longest bin starting
// there, then on from its end; gaps (no stored bin) are skipped.
void plan(const Query& q, const TreeSource& src, const std::string& site, int64_t from, int64_t to,
          std::vector<BinRef>& out) {
  std::vector<uint32_t> grans = src.granularities(site);
  if (q.granularity) std::erase_if(grans, [&](uint32_t g) { return g != *q.granularity; });
  std::sort(grans.rbegin(), grans.rend());
  std::vector<std::vector<int64_t>> starts;
  for (uint32_t g : grans) starts.push_back(src.bins(site, g, q.feature_set, from, to));
  int64_t t = from;
  for (;;) {
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const auto& s : starts) {
      auto it = std::lower_bound(s.begin(), s.end(), t);
      if (it != s.end()) next = std::min(next, *it);
    }
    if (next == std::numeric_limits<int64_t>::max()) return;
    for (size_t i = 0; i < grans.size(); ++i) {
      if (std::binary_search(starts[i].begin(), starts[i].end(), next)) {
        out.push_back({site, grans[i], next});
        t = next + grans[i];
        break;
      }
    }
  }
}

Merged merge_bins(const TreeSource& src, const std::vector<BinRef>& bins, flowtree::FeatureSet fs) {
  Merged m;
  for (const BinRef& b : bins) {
    Flowtree t = src.load(b.site, b.seconds, b.start, fs);
    ++m.trees;
    m.covered += b.seconds;
    if (!m.tree) {
      m.tree.emplace(std::move(t));
      continue;
    }
    if (m.trees == 2) {  // room for the union of several trees, so merging rarely compresses
      FlowtreeConfig cfg = m.tree->config();
      cfg.budget =
          uint32_t(std::min<uint64_t>(kMaxMergedNodes, uint64_t(cfg.budget) * bins.size()));
      Flowtree acc(cfg);
      acc.merge(*m.tree);
      m.tree.emplace(std::move(acc));
    }
    try {
      m.tree->merge(t);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("site " + b.site + ", bin " + format_time(b.start) + ": " +
                               e.what());
    }
  }
  return m;
}

int proto_column(const Cond& c) {
  if (c.kind == Cond::Kind::kPred && c.pred.feature == Feature::kProto) return c.pred.column;
  for (const Cond& k : c.kids) {
    if (const int col = proto_column(k)) return col;
  }
  return 0;
}

std::vector<Row> rows_of(const Flowtree& t, const std::vector<Ranked>& r, bool drop_root) {
  std::vector<Row> out;
  for (const Ranked& x : r) {
    if (drop_root && x.node == Flowtree::kRoot) continue;
    out.push_back({t.hierarchy().to_string(x.key), x.value});
  }
  return out;
}

// drill: the children of the deepest node that contains the whole region.
std::vector<Row> drill(const Flowtree& t, const Region& r, flowtree::Metric m) {
  uint32_t n = Flowtree::kRoot;
  for (bool down = true; down;) {
    down = false;
    for (uint32_t c : t.children(n)) {
      if (region_within(t.hierarchy(), r, t.node(c).key)) {
        n = c;
        down = true;
        break;
      }
    }
  }
  std::vector<Ranked> kids;
  for (uint32_t c : t.children(n)) kids.push_back({c, t.node(c).key, t.pop(c)});
  std::stable_sort(kids.begin(), kids.end(), [&](const Ranked& a, const Ranked& b) {
    return flowtree::metric(a.value, m) > flowtree::metric(b.value, m);
  });
  return rows_of(t, kids, false);
}

void answer(const Query& q, const Region& region, const Flowtree& tree, Answer& a) {
  if (q.op == Op::kPop) {
    a.estimate = estimate(tree, region);
    return;
  }
  const bool all = region.everything();
  std::optional<Flowtree> restricted;
  if (!all) restricted.emplace(restrict_to(tree, region));
  const Flowtree& t = all ? tree : *restricted;
  switch (q.op) {
    case Op::kAll:
      a.rows =
          rows_of(t, flowtree::above_t(t, std::numeric_limits<int64_t>::min(), q.metric), !all);
      break;
    case Op::kAbove:
      a.rows = rows_of(t, flowtree::above_t(t, q.threshold, q.metric), !all);
      break;
    case Op::kHhh:
      a.rows = rows_of(t, flowtree::hhh(t, q.phi, q.metric), !all);
      break;
    case Op::kTop:
      a.rows = rows_of(t, flowtree::top_k(t, size_t(q.k), q.metric), false);
      break;
    case Op::kDrill:
      a.rows = drill(t, region, q.metric);
      break;
    case Op::kPop:
    case Op::kHc:
      break;
  }
}

// Sites of each answer: one group with every (or the listed) site, or one per site.
std::vector<std::vector<std::string>> site_groups(const Query& q, const TreeSource& src) {
  const std::vector<std::string> known = src.sites();
  switch (q.sites.mode) {
    case SiteSelection::Mode::kAll:
      return {known};
    case SiteSelection::Mode::kIterate: {
      std::vector<std::vector<std::string>> g;
      for (const std::string& s : known) g.push_back({s});
      return g;
    }
    case SiteSelection::Mode::kList:
      for (const std::string& s : q.sites.sites) {
        if (!std::binary_search(known.begin(), known.end(), s)) {
          std::string list;
          for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
          throw FlowQLError(
              0, "unknown site '" + s + "' (stored sites: " + (list.empty() ? "none" : list) + ")");
        }
      }
      return {q.sites.sites};
  }
  return {};
}

std::string label(const Query& q, const std::vector<std::string>& group) {
  if (q.sites.mode == SiteSelection::Mode::kAll) return "*";
  std::string s;
  for (const std::string& g : group) s += (s.empty() ? "" : ",") + g;
  return s;
}

Merged merged(const Query& q, const TreeSource& src, const std::vector<std::string>& group,
              const std::vector<Period>& periods, const Region& region) {
  std::vector<BinRef> bins;
  for (const std::string& site : group) {
    for (const Period& p : periods) plan(q, src, site, p.from, p.to, bins);
  }
  Merged m = merge_bins(src, bins, q.feature_set);
  if (!m.tree) {
    FlowtreeConfig cfg;
    cfg.feature_set = q.feature_set;
    cfg.budget = Flowtree::kMinBudget;
    m.tree.emplace(cfg);
  }
  if (region.uses_proto() && !m.tree->config().with_proto && m.trees > 0) {
    throw FlowQLError(
        q.where ? proto_column(*q.where) : 0,
        "these trees have no protocol key (flowtree.protocol_key is off), so proto cannot be "
        "selected");
  }
  return m;
}

// The intervals answered separately: every binN sub-interval (aligned to multiples of
// N in UTC, clipped to its period), else all periods at once.
std::vector<std::vector<Period>> intervals(const Query& q) {
  if (!q.bin_seconds) return {q.periods};
  std::vector<std::vector<Period>> out;
  const int64_t n = *q.bin_seconds;
  for (const Period& p : q.periods) {
    if ((p.to - p.from) / n + 1 > int64_t(kMaxAnswers)) {
      throw FlowQLError(p.column, "this period holds more than " + std::to_string(kMaxAnswers) +
                                      " bins of " + std::to_string(n) + " s; use a longer bin");
    }
    for (int64_t t = p.from; t < p.to;) {
      const int64_t end = std::min(p.to, (t / n + 1) * n);
      out.push_back({Period{t, end, p.column}});
      t = end;
    }
  }
  return out;
}

}  // namespace

Result execute(const Query& q, const TreeSource& src) {
  Result res;
  res.query = q;
  const Region region = compile(q.where ? &*q.where : nullptr);
  const auto groups = site_groups(q, src);
  const auto ivs = intervals(q);
  if (groups.size() * ivs.size() > kMaxAnswers) {
    throw FlowQLError(0, "the query asks for " + std::to_string(groups.size() * ivs.size()) +
                             " answers (limit " + std::to_string(kMaxAnswers) + ")");
  }
  for (const auto& group : groups) {
    if (q.op == Op::kHc) {
      Answer a;
      a.site = label(q, group);
      a.before_from = q.periods[0].from;
      a.before_to = q.periods[0].to;
      a.from = q.periods[1].from;
      a.to = q.periods[1].to;
      Merged before = merged(q, src, group, {q.periods[0]}, region);
      Merged after = merged(q, src, group, {q.periods[1]}, region);
      a.trees = before.trees + after.trees;
      // An empty side takes the other side's hierarchy (protocol key or not).
      FlowtreeConfig empty = (before.trees > 0 ? before : after).tree->config();
      empty.budget = Flowtree::kMinBudget;
      if (before.trees == 0) before.tree.emplace(empty);
      if (after.trees == 0) after.tree.emplace(empty);
      a.covered_seconds = before.covered + after.covered;
      if (!region.everything()) {
        before.tree.emplace(restrict_to(*before.tree, region));
        after.tree.emplace(restrict_to(*after.tree, region));
      }
      if (before.tree->hierarchy() == after.tree->hierarchy()) {
        a.rows = rows_of(*after.tree,
                         flowtree::heavy_changers(*before.tree, *after.tree, size_t(q.k), q.metric),
                         false);
      } else if (before.trees > 0 && after.trees > 0) {
        throw std::runtime_error("site " + a.site +
                                 ": the two periods' trees differ in their protocol key");
      }
      res.answers.push_back(std::move(a));
      continue;
    }
    for (const auto& iv : ivs) {
      Answer a;
      a.site = label(q, group);
      a.from = iv.front().from;
      a.to = iv.back().to;
      for (const Period& p : iv) {
        a.from = std::min(a.from, p.from);
        a.to = std::max(a.to, p.to);
      }
      const Merged m = merged(q, src, group, iv, region);
      a.trees = m.trees;
      a.covered_seconds = m.covered;
      answer(q, region, *m.tree, a);
      res.answers.push_back(std::move(a));
    }
  }
  return res;
}

Result run(std::string_view query, const TreeSource& src) {
  return execute(parse(query), src);
}

}  // namespace haystack::flowql
