// The part of a Flowtree that a WHERE condition selects. The condition is compiled to a
// union of boxes (one per term of its disjunctive normal form); a tree node, itself a box
// of the joined hierarchy, is then inside the region, outside it, or partly inside.
// "Inside" and "outside" are exact; a node inside the union of two boxes but neither one
// alone counts as partly inside, which only widens the bounds.
#pragma once

#include <vector>

#include "control/flowql/ast.h"
#include "dataplane/flowtree/flowtree.h"

namespace haystack::flowql {

struct Box {
  IpPrefix src, dst;
  uint16_t sp_lo = 0, sp_hi = 65535;
  uint16_t dp_lo = 0, dp_hi = 65535;
  int proto = -1;  // -1 = any
};

struct Region {
  std::vector<Box> boxes;  // union; no boxes = nothing, one unconstrained box = everything
  bool everything() const;
  bool uses_proto() const;
};

inline constexpr size_t kMaxBoxes = 256;

// Whole flow space when cond is absent. Throws FlowQLError at cond's column when the
// normal form would exceed kMaxBoxes boxes.
Region compile(const Cond* cond);

enum class Rel { kIn, kOut, kPartial };
Rel classify(const flowtree::Hierarchy& h, const flowtree::FlowKey& node, const Region& r);

// Point answer for the region (docs/flowql.md "Bounds"). For a region that is one node
// of the hierarchy this equals flowtree::query().
struct RegionEstimate {
  flowtree::Counters lower, estimate, upper;
  bool exact() const { return lower == upper; }
};
RegionEstimate estimate(const flowtree::Flowtree& t, const Region& r);

// A tree holding only the nodes inside the region (with their comp_pop), for the ranking
// operators. Mass of nodes partly inside is left out: it is the estimate's uncertainty.
flowtree::Flowtree restrict_to(const flowtree::Flowtree& t, const Region& r);

// True if the region lies within the node (every box inside it).
bool region_within(const flowtree::Hierarchy& h, const Region& r, const flowtree::FlowKey& node);

}  // namespace haystack::flowql
