#include "dataplane/flowtree/flowtree.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace haystack::flowtree {

namespace {

__extension__ typedef unsigned __int128 u128;

// wyhash-style multiply-fold: one 64x64->128 multiply mixes two words.
inline uint64_t mum(uint64_t a, uint64_t b) {
  const u128 r = u128(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t abs_metric(const Counters& c, Metric m) {
  const int64_t v = metric(c, m);
  return v < 0 ? -v : v;
}

}  // namespace

uint32_t default_budget(FeatureSet fs) {
  return (fs == FeatureSet::SP || fs == FeatureSet::DP) ? 10000 : 40000;
}

uint64_t Flowtree::hash(const FlowKey& k) {
  uint64_t w[5];
  std::memcpy(w, &k, sizeof w);
  // Three independent multiplies (good ILP); the 5th word carries ports/proto/depth.
  return mum(w[0] ^ 0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull) ^
         mum(w[2] ^ 0x8ebc6af09c88c6e3ull, w[3] ^ 0x589965cc75374cc3ull) ^
         mum(w[4] ^ 0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull);
}

Flowtree::Flowtree(const FlowtreeConfig& cfg) : cfg_(cfg), h_(cfg.feature_set, cfg.with_proto) {
  if (cfg_.budget == 0) cfg_.budget = default_budget(cfg_.feature_set);
  if (cfg_.budget < kMinBudget) {
    throw std::invalid_argument("flowtree budget " + std::to_string(cfg_.budget) + " is below the minimum " +
                                std::to_string(kMinBudget));
  }
  if (!(cfg_.p >= 0.0 && cfg_.p <= 1.0)) throw std::invalid_argument("flowtree p must be in [0, 1]");
  if (!(cfg_.compress_fraction > 0.0 && cfg_.compress_fraction <= 1.0)) {
    throw std::invalid_argument("flowtree compress_fraction must be in (0, 1]");
  }
  rng_ = cfg_.seed;
  coin_threshold_ = cfg_.p >= 1.0 ? ~0ull : uint64_t(std::ldexp(cfg_.p, 64));
  nodes_.resize(cfg_.budget);
  pop_.resize(cfg_.budget);
  dirty_.reserve(cfg_.budget);
  order_.resize(cfg_.budget);
  scratch_.resize(cfg_.budget);
  scratch2_.resize(cfg_.budget);
  slots_.resize(std::bit_ceil(size_t(cfg_.budget) * 2));
  slot_mask_ = slots_.size() - 1;

  nodes_[kRoot] = Node{};
  nodes_[kRoot].key = h_.root();
  size_ = 1;
  index_insert(kRoot, hash(nodes_[kRoot].key));
}

uint32_t Flowtree::target_size() const {
  return std::max<uint32_t>(1, uint32_t(double(cfg_.budget) * cfg_.compress_fraction));
}

bool Flowtree::coin() {
  if (cfg_.p >= 1.0) return true;
  if (cfg_.p <= 0.0) return false;
  return splitmix64(rng_) < coin_threshold_;
}

void Flowtree::index_insert(uint32_t node, uint64_t hv) {
  const uint32_t tag = uint32_t(hv);
  size_t s = tag & slot_mask_;
  while (slots_[s].node != kNone) s = (s + 1) & slot_mask_;
  slots_[s] = Slot{tag, node};
}

void Flowtree::rebuild_index() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  for (uint32_t i = 0; i < size_; ++i) index_insert(i, hash(nodes_[i].key));
}

void Flowtree::link_child(uint32_t parent, uint32_t child) const {
  nodes_[child].parent = parent;
  nodes_[child].next_sibling = nodes_[parent].first_child;
  nodes_[parent].first_child = child;
}

uint32_t Flowtree::insert_under(uint32_t parent, const FlowKey& key, uint64_t hv) {
  const uint32_t idx = uint32_t(size_++);
  nodes_[idx] = Node{};
  nodes_[idx].key = key;
  // A leaf (depth 0) covers nothing else, so the common insertion needs no re-link.
  if (key.depth > 0 && !(nodes_[parent].mark & kDirty)) {
    nodes_[parent].mark |= kDirty;
    dirty_.push_back(parent);
  }
  link_child(parent, idx);
  index_insert(idx, hv);
  stats_valid_ = false;
  order_valid_ = false;
  return idx;
}

void Flowtree::ensure_room(uint32_t n) {
  if (size_ + n <= cfg_.budget) return;
  compress_to(std::min(target_size(), cfg_.budget - n));
}

void Flowtree::add_new(const FlowKey& key, uint64_t hv, const Counters& c) {
  // Worst case this inserts the key plus every level up to (not incl.) the root.
  ensure_room(uint32_t(h_.root_depth() - key.depth));
  FlowKey chain[64];
  int m = 0;
  uint32_t anc = kNone;
  for (int d = key.depth + 1; d <= h_.root_depth(); ++d) {
    const FlowKey a = h_.ancestor(key, d);
    anc = find(a);
    if (anc != kNone) break;
    if (coin()) chain[m++] = a;
  }
  // Insert top-down so that each new node re-links the children it covers.
  for (int j = m - 1; j >= 0; --j) anc = insert_under(anc, chain[j], hash(chain[j]));
  const uint32_t leaf = insert_under(anc, key, hv);
  nodes_[leaf].comp_pop += c;
}

void Flowtree::add_node(const FlowKey& key, const Counters& c) {
  const uint64_t hv = hash(key);
  uint32_t i = find(key, hv);
  if (i == kNone) {
    ensure_room(1);
    i = insert_under(nearest(key), key, hv);
  }
  nodes_[i].comp_pop += c;
  stats_valid_ = false;
}

uint32_t Flowtree::nearest(const FlowKey& key) const {
  for (int d = key.depth; d <= h_.root_depth(); ++d) {
    const uint32_t i = find(d == key.depth ? key : h_.ancestor(key, d));
    if (i != kNone) return i;
  }
  return kRoot;
}

void Flowtree::relink_dirty() const {
  for (uint32_t a : dirty_) {
    nodes_[a].mark &= ~kDirty;
    const int top = nodes_[a].key.depth;
    uint32_t prev = kNone;
    for (uint32_t c = nodes_[a].first_child; c != kNone;) {
      const uint32_t next = nodes_[c].next_sibling;
      // Nearest existing ancestor of c below a, if any (new intermediates included).
      uint32_t to = kNone;
      for (int d = nodes_[c].key.depth + 1; d < top && to == kNone; ++d) to = find(h_.ancestor(nodes_[c].key, d));
      if (to != kNone) {
        (prev == kNone ? nodes_[a].first_child : nodes_[prev].next_sibling) = next;
        link_child(to, c);
      } else {
        prev = c;
      }
      c = next;
    }
  }
  dirty_.clear();
  order_valid_ = false;
}

std::vector<uint32_t> Flowtree::children(uint32_t i) const {
  sync_links();
  std::vector<uint32_t> out;
  for (uint32_t c = nodes_[i].first_child; c != kNone; c = nodes_[c].next_sibling) out.push_back(c);
  return out;
}

std::span<const uint32_t> Flowtree::preorder() const {
  sync_links();
  if (!order_valid_) {
    // Stackless walk over parent / first-child / next-sibling links.
    size_t n = 0;
    uint32_t cur = kRoot;
    order_[n++] = cur;
    for (;;) {
      if (nodes_[cur].first_child != kNone) {
        cur = nodes_[cur].first_child;
      } else {
        while (cur != kRoot && nodes_[cur].next_sibling == kNone) cur = nodes_[cur].parent;
        if (cur == kRoot) break;
        cur = nodes_[cur].next_sibling;
      }
      order_[n++] = cur;
    }
    order_valid_ = true;
  }
  return {order_.data(), size_};
}

void Flowtree::stats() const {
  const auto ord = preorder();
  for (uint32_t i : ord) pop_[i] = nodes_[i].comp_pop;
  for (size_t j = ord.size(); j-- > 1;) pop_[nodes_[ord[j]].parent] += pop_[ord[j]];
  stats_valid_ = true;
}

void Flowtree::compress_to(uint32_t target) {
  target = std::max<uint32_t>(target, 1);
  if (size_ <= target) return;
  stats();
  // Choose the (size - target) least popular non-root nodes; ties remove deeper (more
  // specific) nodes first, then by index so the choice is deterministic.
  const size_t m = size_ - target;
  uint32_t* cand = scratch_.data();
  for (uint32_t i = 1; i < size_; ++i) cand[i - 1] = i;
  const Metric r = cfg_.rank;
  auto less = [&](uint32_t a, uint32_t b) {
    const int64_t pa = abs_metric(pop_[a], r), pb = abs_metric(pop_[b], r);
    if (pa != pb) return pa < pb;
    if (nodes_[a].key.depth != nodes_[b].key.depth) return nodes_[a].key.depth < nodes_[b].key.depth;
    return a < b;
  };
  std::nth_element(cand, cand + m - 1, cand + size_ - 1, less);
  for (size_t j = 0; j < m; ++j) nodes_[cand[j]].mark = kRemove;
  remove_marked();
}

void Flowtree::compress(int64_t thresh_comp_pop, int64_t thresh_pop) {
  stats();
  bool any = false;
  for (uint32_t i = 1; i < size_; ++i) {
    const bool leaf = nodes_[i].first_child == kNone;
    if ((leaf && abs_metric(nodes_[i].comp_pop, cfg_.rank) < thresh_comp_pop) ||
        abs_metric(pop_[i], cfg_.rank) < thresh_pop) {
      nodes_[i].mark = kRemove;
      any = true;
    }
  }
  if (any) remove_marked();
}

void Flowtree::remove_marked() {
  const bool had_stats = stats_valid_;
  const auto ord = preorder();
  nodes_[kRoot].mark = 0;
  uint32_t* up = scratch_.data();
  uint32_t* dest = scratch2_.data();
  // 1. Surviving ancestor of every node (pre-order: parents come first); removed nodes
  //    hand their comp_pop to it, so the pop of every survivor is unchanged.
  for (size_t j = 1; j < ord.size(); ++j) {
    const uint32_t i = ord[j], p = nodes_[i].parent;
    up[i] = nodes_[p].mark ? up[p] : p;
    if (nodes_[i].mark) nodes_[up[i]].comp_pop += nodes_[i].comp_pop;
  }
  // 2. New positions: survivors in pre-order (root stays 0), removed nodes after them.
  uint32_t k = 0;
  for (uint32_t i : ord) if (!nodes_[i].mark) dest[i] = k++;
  uint32_t g = k;
  for (uint32_t i : ord) if (nodes_[i].mark) dest[i] = g++;
  // 3. Parent links in new positions; child lists are rebuilt below.
  for (uint32_t i : ord) {
    if (nodes_[i].mark) continue;
    nodes_[i].parent = i == kRoot ? kNone : dest[up[i]];
    nodes_[i].first_child = nodes_[i].next_sibling = kNone;
  }
  // 4. Apply the permutation in place (each swap settles one node).
  for (uint32_t i = 0; i < size_; ++i) {
    while (dest[i] != i) {
      const uint32_t j = dest[i];
      std::swap(nodes_[i], nodes_[j]);
      std::swap(pop_[i], pop_[j]);
      std::swap(dest[i], dest[j]);
    }
  }
  size_ = k;
  // 5. Children linked in position order: the new pre-order is the identity.
  for (uint32_t i = k; i-- > 1;) link_child(nodes_[i].parent, i);
  for (uint32_t i = 0; i < k; ++i) order_[i] = i;
  order_valid_ = true;
  rebuild_index();
  stats_valid_ = had_stats;
}

void Flowtree::merge(const Flowtree& other, double scale) {
  if (!(h_ == other.h_)) {
    throw std::invalid_argument("cannot merge flowtrees of different hierarchies (" +
                                std::string(feature_set_name(h_.feature_set())) + " vs " +
                                std::string(feature_set_name(other.h_.feature_set())) + ")");
  }
  if (&other == this) {
    const Flowtree copy(other);
    merge(copy, scale);
    return;
  }
  const bool integral = scale == std::trunc(scale) && std::fabs(scale) <= 2147483647.0;
  const int64_t iscale = integral ? int64_t(scale) : 0;
  auto scaled = [&](int64_t v) { return integral ? v * iscale : int64_t(std::llround(double(v) * scale)); };
  // Pre-order: a node's ancestors from `other` are already here when it is inserted.
  for (uint32_t i : other.preorder()) {
    const Counters& c = other.nodes_[i].comp_pop;
    add_node(other.nodes_[i].key, Counters{scaled(c.packets), scaled(c.bytes), scaled(c.flows)});
  }
  stats();
  compress();
}

Flowtree Flowtree::from_nodes(const FlowtreeConfig& cfg, uint64_t rng_state, const std::vector<FlowKey>& keys,
                              const std::vector<uint32_t>& parents, const std::vector<Counters>& comp) {
  Flowtree t(cfg);
  const Hierarchy& h = t.h_;
  if (keys.empty() || keys.size() != parents.size() || keys.size() != comp.size()) {
    throw std::invalid_argument("flowtree node arrays are empty or of different lengths");
  }
  if (keys.size() > t.cfg_.budget) {
    throw std::invalid_argument("flowtree has " + std::to_string(keys.size()) + " nodes, budget is " +
                                std::to_string(t.cfg_.budget));
  }
  if (!(keys[0] == h.root()) || parents[0] != kNone) throw std::invalid_argument("flowtree node 0 is not the root");
  t.nodes_[kRoot].comp_pop = comp[0];
  for (size_t i = 1; i < keys.size(); ++i) {
    const std::string where = "flowtree node " + std::to_string(i) + ": ";
    if (!h.valid(keys[i])) throw std::invalid_argument(where + "malformed key");
    if (parents[i] >= i) throw std::invalid_argument(where + "parent index is not before the node");
    if (!h.covers(keys[parents[i]], keys[i]) || keys[parents[i]] == keys[i]) {
      throw std::invalid_argument(where + "parent does not cover the node");
    }
    if (t.find(keys[i]) != kNone) throw std::invalid_argument(where + "duplicate key " + h.to_string(keys[i]));
    Node& n = t.nodes_[i];
    n = Node{};
    n.key = keys[i];
    n.comp_pop = comp[i];
    n.parent = parents[i];
    t.index_insert(uint32_t(i), hash(keys[i]));
  }
  t.size_ = keys.size();
  for (size_t i = keys.size(); i-- > 1;) t.link_child(parents[i], uint32_t(i));
  t.rng_ = rng_state;
  t.order_valid_ = false;
  t.stats_valid_ = false;
  if (const std::string err = t.check(); !err.empty()) throw std::invalid_argument(err);
  return t;
}

std::string Flowtree::check() const {
  sync_links();
  if (size_ > cfg_.budget) return "size exceeds budget";
  if (!(nodes_[kRoot].key == h_.root())) return "node 0 is not the root";
  for (uint32_t i = 0; i < size_; ++i) {
    const Node& n = nodes_[i];
    const std::string where = "node " + std::to_string(i) + " (" + h_.to_string(n.key) + "): ";
    if (!h_.valid(n.key)) return where + "invalid key";
    if (find(n.key) != i) return where + "index does not find it";
    for (uint32_t c = n.first_child; c != kNone; c = nodes_[c].next_sibling) {
      if (nodes_[c].parent != i) return where + "child with wrong parent link";
    }
    if (i == kRoot) continue;
    if (n.parent >= size_) return where + "bad parent index";
    const Node& p = nodes_[n.parent];
    if (!h_.covers(p.key, n.key) || p.key.depth <= n.key.depth) return where + "parent does not cover it";
    // The parent must be the nearest covering node of the tree.
    for (int d = n.key.depth + 1; d < p.key.depth; ++d) {
      if (find(h_.ancestor(n.key, d)) != kNone) return where + "a closer ancestor exists in the tree";
    }
  }
  // Every node is reachable exactly once from the root.
  std::vector<uint8_t> seen(size_, 0);
  for (uint32_t i : preorder()) {
    if (i >= size_ || seen[i]) return "tree walk visits a node twice or out of range";
    seen[i] = 1;
  }
  return {};
}

Flowtree diff(const Flowtree& a, const Flowtree& b) {
  Flowtree d(a);
  d.merge(b, -1.0);
  return d;
}

}  // namespace haystack::flowtree
