#include "control/flowql/region.h"

#include <algorithm>

#include "control/flowql/error.h"

namespace haystack::flowql {

using flowtree::Counters;
using flowtree::Family;
using flowtree::FlowKey;
using flowtree::Flowtree;
using flowtree::Hierarchy;

namespace {

bool same_bits(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int n) {
  for (int i = 0; i < n / 8; ++i) {
    if (a[size_t(i)] != b[size_t(i)]) return false;
  }
  if (n % 8 == 0) return true;
  const uint8_t m = uint8_t(0xff00u >> (n % 8));
  return (a[size_t(n / 8)] & m) == (b[size_t(n / 8)] & m);
}

// a ⊆ b
bool ip_within(const IpPrefix& a, const IpPrefix& b) {
  if (b.any) return true;
  return !a.any && a.len >= b.len && same_bits(a.addr, b.addr, b.len);
}
bool ip_disjoint(const IpPrefix& a, const IpPrefix& b) {
  return !a.any && !b.any && !same_bits(a.addr, b.addr, std::min(a.len, b.len));
}

// The node of the joined hierarchy as a box (features outside the set are unconstrained).
Box node_box(const Hierarchy& h, const FlowKey& k) {
  Box b;
  auto ip = [&](const std::array<uint8_t, 16>& a, Family fam) {
    IpPrefix p;
    if (fam == Family::kAny) return p;
    p.any = false;
    p.addr = a;
    p.len = flowtree::ip_prefix_len(fam, k.depth) + (fam == Family::kV4 ? 96 : 0);
    return p;
  };
  b.src = ip(k.src, k.src_fam);
  b.dst = ip(k.dst, k.dst_fam);
  const uint32_t span = 1u << (16 - flowtree::port_prefix_len(k.depth));
  if (h.has_src_port()) {
    b.sp_lo = k.sport;
    b.sp_hi = uint16_t(k.sport + span - 1);
  }
  if (h.has_dst_port()) {
    b.dp_lo = k.dport;
    b.dp_hi = uint16_t(k.dport + span - 1);
  }
  if (h.with_proto() && k.depth < h.root_depth()) b.proto = k.proto;
  return b;
}

Rel combine(Rel acc, bool within, bool disjoint) {
  if (acc == Rel::kOut || disjoint) return Rel::kOut;
  return within ? acc : Rel::kPartial;
}

// Relation of node box n to query box q.
Rel relate(const Box& n, const Box& q) {
  Rel r = Rel::kIn;
  r = combine(r, ip_within(n.src, q.src), ip_disjoint(n.src, q.src));
  r = combine(r, ip_within(n.dst, q.dst), ip_disjoint(n.dst, q.dst));
  r = combine(r, q.sp_lo <= n.sp_lo && n.sp_hi <= q.sp_hi, n.sp_hi < q.sp_lo || n.sp_lo > q.sp_hi);
  r = combine(r, q.dp_lo <= n.dp_lo && n.dp_hi <= q.dp_hi, n.dp_hi < q.dp_lo || n.dp_lo > q.dp_hi);
  r = combine(r, q.proto < 0 || n.proto == q.proto,
              q.proto >= 0 && n.proto >= 0 && n.proto != q.proto);
  return r;
}

bool box_within(const Box& q, const Box& n) {
  return ip_within(q.src, n.src) && ip_within(q.dst, n.dst) && n.sp_lo <= q.sp_lo &&
         q.sp_hi <= n.sp_hi && n.dp_lo <= q.dp_lo && q.dp_hi <= n.dp_hi &&
         (n.proto < 0 || q.proto == n.proto);
}

std::optional<IpPrefix> intersect(const IpPrefix& a, const IpPrefix& b) {
  if (ip_within(a, b)) return a;
  if (ip_within(b, a)) return b;
  return std::nullopt;
}

std::optional<Box> intersect(const Box& a, const Box& b) {
  Box r;
  const auto s = intersect(a.src, b.src), d = intersect(a.dst, b.dst);
  if (!s || !d) return std::nullopt;
  r.src = *s;
  r.dst = *d;
  r.sp_lo = std::max(a.sp_lo, b.sp_lo);
  r.sp_hi = std::min(a.sp_hi, b.sp_hi);
  r.dp_lo = std::max(a.dp_lo, b.dp_lo);
  r.dp_hi = std::min(a.dp_hi, b.dp_hi);
  if (r.sp_lo > r.sp_hi || r.dp_lo > r.dp_hi) return std::nullopt;
  if (a.proto >= 0 && b.proto >= 0 && a.proto != b.proto) return std::nullopt;
  r.proto = std::max(a.proto, b.proto);
  return r;
}

Region from_predicate(const Predicate& p) {
  Box b;
  switch (p.feature) {
    case Feature::kSrcIp:
      b.src = p.ip;
      break;
    case Feature::kDstIp:
      b.dst = p.ip;
      break;
    case Feature::kSrcPort:
      b.sp_lo = p.lo;
      b.sp_hi = p.hi;
      break;
    case Feature::kDstPort:
      b.dp_lo = p.lo;
      b.dp_hi = p.hi;
      break;
    case Feature::kProto:
      b.proto = p.proto;
      break;
  }
  return Region{{b}};
}

void check_size(const Region& r, const Cond& c) {
  if (r.boxes.size() > kMaxBoxes) {
    throw FlowQLError(c.column, "condition too complex: more than " + std::to_string(kMaxBoxes) +
                                    " AND-terms after expanding OR");
  }
}

}  // namespace

bool Region::everything() const {
  for (const Box& b : boxes) {
    if (b.src.any && b.dst.any && b.sp_lo == 0 && b.sp_hi == 65535 && b.dp_lo == 0 &&
        b.dp_hi == 65535 && b.proto < 0) {
      return true;
    }
  }
  return false;
}

bool Region::uses_proto() const {
  return std::any_of(boxes.begin(), boxes.end(), [](const Box& b) { return b.proto >= 0; });
}

Region compile(const Cond* c) {
  if (c == nullptr) return Region{{Box{}}};
  Region r;
  switch (c->kind) {
    case Cond::Kind::kSite:  // the parser takes these out
    case Cond::Kind::kPred:
      return from_predicate(c->pred);
    case Cond::Kind::kOr:
      for (const Cond& k : c->kids) {
        Region kr = compile(&k);
        r.boxes.insert(r.boxes.end(), kr.boxes.begin(), kr.boxes.end());
        check_size(r, *c);
      }
      return r;
    case Cond::Kind::kAnd:
      r.boxes.push_back(Box{});
      for (const Cond& k : c->kids) {
        const Region kr = compile(&k);
        Region next;
        for (const Box& a : r.boxes) {
          for (const Box& b : kr.boxes) {
            if (auto i = intersect(a, b)) next.boxes.push_back(*i);
            check_size(next, *c);
          }
        }
        r = std::move(next);
      }
      return r;
  }
  return r;
}

Rel classify(const Hierarchy& h, const FlowKey& node, const Region& r) {
  const Box n = node_box(h, node);
  bool all_out = true;
  for (const Box& q : r.boxes) {
    const Rel rel = relate(n, q);
    if (rel == Rel::kIn) return Rel::kIn;
    all_out = all_out && rel == Rel::kOut;
  }
  return all_out ? Rel::kOut : Rel::kPartial;
}

bool region_within(const Hierarchy& h, const Region& r, const FlowKey& node) {
  const Box n = node_box(h, node);
  return std::all_of(r.boxes.begin(), r.boxes.end(),
                     [&](const Box& q) { return box_within(q, n); });
}

RegionEstimate estimate(const Flowtree& t, const Region& r) {
  // Nodes inside give the lower bound (their whole pop, once: their subtrees are inside
  // too). A node partly inside holds comp_pop that may or may not lie in the region: all
  // of it goes to the upper bound; the estimate takes it from the deepest such nodes
  // (no child partly inside) unless the region lies within one of their children, i.e.
  // it attributes to the region the mass of its nearest covering nodes, as query() does.
  RegionEstimate e;
  Counters uncertain, attributed;
  const Hierarchy& h = t.hierarchy();
  std::vector<uint32_t> stack{Flowtree::kRoot};
  while (!stack.empty()) {
    const uint32_t i = stack.back();
    stack.pop_back();
    const Rel rel = classify(h, t.node(i).key, r);
    if (rel == Rel::kIn) {
      e.lower += t.pop(i);
      continue;
    }
    if (rel == Rel::kOut) continue;
    uncertain += t.node(i).comp_pop;
    bool deepest = true, within_child = false;
    for (uint32_t c = t.node(i).first_child; c != Flowtree::kNone; c = t.node(c).next_sibling) {
      const Rel rc = classify(h, t.node(c).key, r);
      deepest = deepest && rc != Rel::kPartial;
      within_child = within_child || (rc == Rel::kIn && region_within(h, r, t.node(c).key));
      if (rc != Rel::kOut) stack.push_back(c);
    }
    if (deepest && !within_child) attributed += t.node(i).comp_pop;
  }
  e.estimate = e.lower + attributed;
  e.upper = e.lower + uncertain;
  return e;
}

Flowtree restrict_to(const Flowtree& t, const Region& r) {
  flowtree::FlowtreeConfig cfg = t.config();
  cfg.budget = std::max(Flowtree::kMinBudget, t.size() + 1);
  Flowtree out(cfg);
  const Hierarchy& h = t.hierarchy();
  // Pre-order with the inherited relation: a node's tree ancestors are inserted first.
  std::vector<std::pair<uint32_t, bool>> stack{{Flowtree::kRoot, false}};
  while (!stack.empty()) {
    const auto [i, parent_in] = stack.back();
    stack.pop_back();
    const Rel rel = parent_in ? Rel::kIn : classify(h, t.node(i).key, r);
    if (rel == Rel::kOut) continue;
    if (rel == Rel::kIn) out.add_node(t.node(i).key, t.node(i).comp_pop);
    for (uint32_t c = t.node(i).first_child; c != Flowtree::kNone; c = t.node(c).next_sibling) {
      stack.push_back({c, rel == Rel::kIn});
    }
  }
  return out;
}

}  // namespace haystack::flowql
