// Read-only Flowtree operators (METHODS §1, dissertation 002 §4.3.4): query estimates,
// above-t, hierarchical heavy hitters, top-k and heavy changers. All of them call
// stats() when counters changed since the last one.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/flowtree/flowtree.h"

namespace haystack::flowtree {

// Answer for one generalised flow f, per counter.
// If f is a node (exact = true, node = f): lower = estimate = pop(f).
// Otherwise node = p, f's nearest tree ancestor; C_f = p's children inside f, C_o the rest
// (disjoint from f, since p is f's nearest ancestor):
//   lower    = Σ_{c∈C_f} pop(c)
//   estimate = pop(p) − Σ_{c∈C_o} pop(c) = comp_pop(p) + Σ_{c∈C_f} pop(c)
//              (the paper's two estimates; they coincide because pop is kept exact).
// upper = estimate + Σ comp_pop of p's strict ancestors. Bounds on the true count T(f):
// lower <= T(f) <= upper always. (An item can sit at an ancestor's comp_pop when compress
// pushed it up before a node between them was (re)inserted, so pop(f) itself is a lower
// bound; without compression estimate is an upper bound and pop(f) is exact.)
struct QueryResult {
  bool exact = false;
  uint32_t node = Flowtree::kNone;
  Counters lower;
  Counters estimate;
  Counters upper;
};
QueryResult query(const Flowtree& t, const FlowKey& f);

// One reported node and the counters it is reported with (pop, or discounted count).
struct Ranked {
  uint32_t node;
  FlowKey key;
  Counters value;
};

// Every node with metric(pop) >= t, pruning subtrees below t; sorted by value
// descending (ties: more specific first, then pre-order).
std::vector<Ranked> above_t(const Flowtree& t, int64_t threshold, Metric m = Metric::kPackets);

// Hierarchical heavy hitters: bottom-up, a node's discounted count is its comp_pop plus
// the discounted counts of its non-HHH children; it is an HHH when that count is
// >= phi * N (N = root pop). value = discounted counters. The root is included if it
// qualifies. With absolute=true the test uses |count| (for diff trees).
std::vector<Ranked> hhh(const Flowtree& t, double phi, Metric m = Metric::kPackets);
std::vector<Ranked> hhh_threshold(const Flowtree& t, int64_t threshold, Metric m = Metric::kPackets,
                                  bool absolute = false);

// Top-k. With `depth`: the k most popular nodes at that level of the hierarchy (depth 0 =
// the most specific flows; same-level nodes are disjoint, so no discounting is needed).
// Without: the k heaviest hierarchical heavy hitters excluding the root — each reported
// node's contribution is removed from its ancestors (HHH discounting) and the threshold
// is the largest one yielding >= k of them (binary search); value = discounted count.
std::vector<Ranked> top_k(const Flowtree& t, size_t k, Metric m = Metric::kPackets,
                          std::optional<int> depth = std::nullopt, bool absolute = false);

// Heavy changers: top-k by |change| of diff(after, before) (after − before).
std::vector<Ranked> heavy_changers(const Flowtree& before, const Flowtree& after, size_t k,
                                   Metric m = Metric::kPackets, std::optional<int> depth = std::nullopt);

}  // namespace haystack::flowtree
