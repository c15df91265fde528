#include "dataplane/flowtree/flowtree_queries.h"

#include <algorithm>
#include <cmath>

namespace haystack::flowtree {

namespace {

int64_t value_of(const Counters& c, Metric m, bool absolute) {
  const int64_t v = metric(c, m);
  return absolute && v < 0 ? -v : v;
}

// Deterministic report order: larger value first, then more specific, then pre-order.
void sort_ranked(std::vector<Ranked>& r, Metric m, bool absolute) {
  std::stable_sort(r.begin(), r.end(), [&](const Ranked& a, const Ranked& b) {
    const int64_t va = value_of(a.value, m, absolute), vb = value_of(b.value, m, absolute);
    if (va != vb) return va > vb;
    return a.key.depth < b.key.depth;
  });
}

}  // namespace

QueryResult query(const Flowtree& t, const FlowKey& f) {
  QueryResult r;
  const uint32_t i = t.find(f);
  if (i != Flowtree::kNone) {
    r.exact = true;
    r.node = i;
    r.lower = r.estimate = r.upper = t.pop(i);
  } else {
    r.node = t.nearest(f);
    for (uint32_t c : t.children(r.node)) {
      if (t.hierarchy().covers(f, t.node(c).key)) r.lower += t.pop(c);
    }
    r.estimate = r.upper = t.node(r.node).comp_pop + r.lower;
  }
  for (uint32_t a = t.node(r.node).parent; a != Flowtree::kNone; a = t.node(a).parent) {
    r.upper += t.node(a).comp_pop;
  }
  return r;
}

std::vector<Ranked> above_t(const Flowtree& t, int64_t threshold, Metric m) {
  std::vector<Ranked> out;
  if (metric(t.pop(Flowtree::kRoot), m) < threshold) return out;
  // Pop is monotone towards the root (counters from add() are non-negative), so a
  // subtree below the threshold is skipped as a whole.
  std::vector<uint32_t> stack{Flowtree::kRoot};
  while (!stack.empty()) {
    const uint32_t i = stack.back();
    stack.pop_back();
    out.push_back(Ranked{i, t.node(i).key, t.pop(i)});
    for (uint32_t c = t.node(i).first_child; c != Flowtree::kNone; c = t.node(c).next_sibling) {
      if (metric(t.pop(c), m) >= threshold) stack.push_back(c);
    }
  }
  sort_ranked(out, m, false);
  return out;
}

std::vector<Ranked> hhh_threshold(const Flowtree& t, int64_t threshold, Metric m, bool absolute) {
  const auto ord = t.preorder();
  std::vector<Counters> disc(t.size());
  std::vector<uint8_t> is_hhh(t.size(), 0);
  for (uint32_t i : ord) disc[i] = t.node(i).comp_pop;
  // Reverse pre-order visits children before parents.
  for (size_t j = ord.size(); j-- > 0;) {
    const uint32_t i = ord[j];
    if (value_of(disc[i], m, absolute) >= threshold) {
      is_hhh[i] = 1;
    } else if (i != Flowtree::kRoot) {
      disc[t.node(i).parent] += disc[i];
    }
  }
  std::vector<Ranked> out;
  for (uint32_t i : ord) {
    if (is_hhh[i]) out.push_back(Ranked{i, t.node(i).key, disc[i]});
  }
  sort_ranked(out, m, absolute);
  return out;
}

std::vector<Ranked> hhh(const Flowtree& t, double phi, Metric m) {
  const double n = double(metric(t.total(), m));
  const int64_t thr = std::max<int64_t>(1, int64_t(std::ceil(phi * n)));
  return hhh_threshold(t, thr, m, false);
}

std::vector<Ranked> top_k(const Flowtree& t, size_t k, Metric m, std::optional<int> depth, bool absolute) {
  std::vector<Ranked> out;
  if (k == 0) return out;
  if (depth) {
    for (uint32_t i : t.preorder()) {
      if (t.node(i).key.depth == *depth) out.push_back(Ranked{i, t.node(i).key, t.pop(i)});
    }
    sort_ranked(out, m, absolute);
    if (out.size() > k) out.resize(k);
    return out;
  }
  auto heavy = [&](int64_t thr) {
    auto r = hhh_threshold(t, thr, m, absolute);
    std::erase_if(r, [](const Ranked& x) { return x.node == Flowtree::kRoot; });
    return r;
  };
  int64_t max_v = 0;
  for (uint32_t i : t.preorder()) {
    if (i != Flowtree::kRoot) max_v = std::max(max_v, value_of(t.pop(i), m, absolute));
  }
  if (max_v == 0) return out;
  // Largest threshold that still yields k heavy hitters.
  int64_t lo = 1, hi = max_v;
  if (heavy(lo).size() >= k) {
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (heavy(mid).size() >= k) lo = mid; else hi = mid - 1;
    }
  }
  out = heavy(lo);
  if (out.size() > k) out.resize(k);
  return out;
}

std::vector<Ranked> heavy_changers(const Flowtree& before, const Flowtree& after, size_t k, Metric m,
                                   std::optional<int> depth) {
  const Flowtree d = diff(after, before);
  return top_k(d, k, m, depth, true);
}

}  // namespace haystack::flowtree
