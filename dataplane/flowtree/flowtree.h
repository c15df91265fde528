// Flowtree: a self-adjusting hierarchical-heavy-hitter summary over one feature set
// (METHODS §1, dissertation 002 ch. 4.3). Nodes hold complementary popularity (comp_pop,
// what no child covers); pop = comp_pop + Σ pop(children) is recomputed by stats().
//
// Memory: every array is sized from the node budget at construction; add() never
// allocates and the budget is never exceeded — when an insertion could exceed it the tree
// is first compressed to compress_fraction * budget nodes. Deletions only happen in bulk
// (compress): removed nodes are spliced out of the (doubly linked) sibling lists, erased
// from the open-addressing index by backward-shift deletion (each node knows its slot),
// and the last survivors move into the holes; no tree walk or index rebuild. Node indices
// are therefore not in pre-order; nothing observable depends on them (compress breaks
// ties by key hash).
//
// Counters are signed 64-bit so that a diff (merge with subtraction) is an ordinary
// Flowtree; add() only ever adds non-negative values. "flows" is whatever the caller
// counts as a flow (e.g. 1 per flow record, or 1 for the first sampled packet of a flow);
// the tree just sums it.
//
// Not thread-safe: a tree belongs to one core; query caches (pop, DFS order) are mutable.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "dataplane/flowtree/feature_set.h"

namespace haystack::flowtree {

struct Counters {
  int64_t packets = 0;
  int64_t bytes = 0;
  int64_t flows = 0;

  Counters& operator+=(const Counters& o) {
    packets += o.packets;
    bytes += o.bytes;
    flows += o.flows;
    return *this;
  }
  Counters& operator-=(const Counters& o) {
    packets -= o.packets;
    bytes -= o.bytes;
    flows -= o.flows;
    return *this;
  }
  friend Counters operator+(Counters a, const Counters& b) { return a += b; }
  friend Counters operator-(Counters a, const Counters& b) { return a -= b; }
  bool operator==(const Counters&) const = default;
};

// Which counter ranks nodes for compress and the heavy-hitter queries.
enum class Metric : uint8_t { kPackets = 0, kBytes = 1, kFlows = 2 };
inline int64_t metric(const Counters& c, Metric m) {
  return m == Metric::kPackets ? c.packets : m == Metric::kBytes ? c.bytes : c.flows;
}

struct FlowtreeConfig {
  FeatureSet feature_set = FeatureSet::FULL;
  bool with_proto = false;
  uint32_t budget = 0;             // max nodes incl. root; 0 = default_budget(feature_set)
  double p = 0.3;                  // probability of inserting each missing intermediate node
  uint64_t seed = 1;               // seeds the per-tree RNG (deterministic replay)
  double compress_fraction = 0.75; // compress() shrinks to this share of the budget
  Metric rank = Metric::kPackets;  // popularity used to choose what compress() removes
  // Where compress_to() puts the counts of a removed node (see Flowtree::compress_to):
  // kParent: its nearest surviving tree ancestor (the dissertation's form);
  // kAggregate: the deepest prefix it shares with another removed node (created if
  // missing), so light mass collects where it is dense.
  // kThreshold: keep exactly the nodes whose mass, after the lighter nodes below them
  // handed theirs up, reaches a threshold T chosen from the target (see compress_to).
  enum class Compress : uint8_t { kParent = 0, kAggregate = 1, kThreshold = 2 };
  Compress compress_mode = Compress::kThreshold;
  // kAggregate ranks nodes for removal by |comp_pop| + (|pop| - |comp_pop|) >> this
  // (>= 63: comp_pop alone). Smaller values keep more interior nodes (more HHH prefixes at
  // large budgets, fewer leaves at small ones). Not persisted by serialize().
  int aggregate_pop_shift = 64;
  // kThreshold: at most this share of compress's target is reserved for the inner nodes
  // (depth > 0) with the largest spread = |pop| - max |pop| of a tree child (mass that no
  // single child explains: where light flows gather, i.e. HHH candidates). Not persisted.
  double threshold_inner_share = 0.2;
};

// 40k nodes; 10k for the 1-feature port trees (dissertation §4.5).
uint32_t default_budget(FeatureSet fs);

class Flowtree {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kRoot = 0;  // the root is always node 0
  static constexpr uint32_t kMinBudget = 64;
  static constexpr uint8_t kRemove = 1;
  static constexpr uint8_t kDirty = 2;

  // A node as the API shows it (a copy; see node()). Internally a node is split into a
  // hot part (key + comp_pop: one 64-byte cache line, all that add() touches) and its
  // links, so the fast path reads one node line.
  struct Node {
    FlowKey key;
    Counters comp_pop;
    uint32_t parent = kNone;
    uint32_t first_child = kNone;
    uint32_t next_sibling = kNone;
  };

  explicit Flowtree(const FlowtreeConfig& cfg = {});

  const FlowtreeConfig& config() const { return cfg_; }
  const Hierarchy& hierarchy() const { return h_; }
  uint32_t size() const { return uint32_t(size_); }
  uint32_t budget() const { return cfg_.budget; }
  // Node count compress() shrinks to.
  uint32_t target_size() const;

  // Counts one item (packet or flow record) under `key` (normally a leaf key).
  // Fast path: the node exists -> one hash lookup and three adds.
  void add(const FlowKey& key, const Counters& c) {
    const uint64_t hv = hash(key);
    const uint32_t i = find(key, hv);
    if (i != kNone) [[likely]] {
      hot_[i].comp_pop += c;
      stats_valid_ = false;
      return;
    }
    add_new(key, hv, c);
  }
  void add(const ParsedPacket& p, uint32_t bytes, uint32_t flows = 0) {
    add(h_.leaf(p), Counters{1, bytes, flows});
  }

  // Adds c to the node `key` itself, inserting only that node (no intermediates) and
  // re-linking the children it covers. This is merge's primitive.
  void add_node(const FlowKey& key, const Counters& c);

  // Empties the tree (root only, RNG reseeded) without releasing memory: the same state as
  // a freshly constructed tree, at the cost of clearing the index.
  void clear();

  // Orders every child list by key, so pre-order (and therefore serialize() and
  // to_json()) depends only on the node set, not on insertion order. Control calls it on
  // site trees merged from several cores before persisting them.
  void canonicalize();

  // Recomputes pop for every node (one DFS). Queries call it when needed.
  void stats() const;
  bool stats_valid() const { return stats_valid_; }

  // Removes the lowest-pop nodes (by cfg.rank, |pop| so diffs work; ties: deeper first,
  // then by key hash, independent of the pool layout) until size() <= target. A removed
  // node's children move to its nearest surviving ancestor. Its comp_pop moves
  //  - kParent: to that ancestor too;
  //  - kAggregate (nodes ranked by own comp_pop, see aggregate_pop_shift; those with a
  //    non-zero comp_pop): to A, the deepest strict hierarchy ancestor it shares with a removed
  //    neighbour in key order, if A lies below that surviving ancestor and is not a node
  //    yet; A is then inserted (once for all removed nodes sharing it, re-linking the
  //    survivors it covers) and holds their summed comp_pop. Otherwise as kParent.
  //    Since creations are fewer than removals this repeats on the new, smaller tree
  //    (up to kAggregatePasses times, the last pass is kParent) until size() <= target.
  // Either way counts only move up inside the subtree of the surviving ancestor: the pop
  // of every surviving node is unchanged and totals stay exact; a created node's pop is
  // the mass moved into it plus the pop of the survivors it covers. The choice depends
  // only on keys and counts, never on node indices.
  //  - kThreshold: bottom-up, every node's accumulated mass acc = |comp_pop| + the acc of
  //    its removed tree children; a node is removed iff acc < T (its acc then moves to its
  //    nearest surviving ancestor, as in kParent). Up to threshold_inner_share of the
  //    target is first reserved for the inner nodes with the largest spread; they always
  //    survive. T is (to within 1/16) the smallest value for which at most `target` nodes
  //    survive (bisection; T <= N / (target - 1 - reserved) + 1 always works, since the
  //    other survivors hold disjoint mass >= T). So every other surviving node is a
  //    hierarchical heavy hitter of the tree at threshold T, every leaf with own mass
  //    >= T survives, and no removed node held T or more.
  void compress_to(uint32_t target);
  static constexpr int kAggregatePasses = 4;
  void compress() { compress_to(target_size()); }
  // The paper's form: remove tree leaves with |comp_pop| < thresh_comp_pop and any node
  // with |pop| < thresh_pop (root excluded), measured by cfg.rank.
  void compress(int64_t thresh_comp_pop, int64_t thresh_pop);

  // Adds other's comp_pop node-wise (scaled; missing nodes count as zero), then stats and
  // compress if above target. scale -1 subtracts. Throws std::invalid_argument when the
  // hierarchies differ. Integral scales are exact; others round to nearest.
  void merge(const Flowtree& other, double scale = 1.0);

  // Lookup and navigation. Indices are stable until the next insertion-triggered or
  // explicit compress.
  uint32_t find(const FlowKey& key) const { return find(key, hash(key)); }
  Node node(uint32_t i) const {
    sync_links();
    return Node{hot_[i].key, hot_[i].comp_pop, links_[i].parent, links_[i].first_child, links_[i].next_sibling};
  }
  const Counters& pop(uint32_t i) const {
    if (!stats_valid_) stats();
    return pop_[i];
  }
  std::vector<uint32_t> children(uint32_t i) const;  // drill-down
  // Nearest node of the tree that covers key (key itself if present; root at worst).
  uint32_t nearest(const FlowKey& key) const;
  // Node indices in DFS pre-order (root first, children in list order).
  std::span<const uint32_t> preorder() const;

  Counters total() const { return pop(kRoot); }
  uint64_t rng_state() const { return rng_; }

  // Checks structural invariants (every parent is the nearest covering node, links are
  // consistent, index matches); returns an empty string or the first problem. For tests.
  std::string check() const;

  // Rebuilds a tree from serialized parts (used by flowtree_io). Nodes are in pre-order
  // with parent indices (root first, parent index < own index). Throws on inconsistency.
  static Flowtree from_nodes(const FlowtreeConfig& cfg, uint64_t rng_state,
                             const std::vector<FlowKey>& keys, const std::vector<uint32_t>& parents,
                             const std::vector<Counters>& comp);

  static uint64_t hash(const FlowKey& k) {
    uint64_t w[5];
    std::memcpy(w, &k, sizeof w);
    // Three independent multiplies (good ILP); the 5th word carries ports/proto/depth.
    return mum(w[0] ^ 0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull) ^
           mum(w[2] ^ 0x8ebc6af09c88c6e3ull, w[3] ^ 0x589965cc75374cc3ull) ^
           mum(w[4] ^ 0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull);
  }

 private:
  // wyhash-style multiply-fold: one 64x64->128 multiply mixes two words.
  static uint64_t mum(uint64_t a, uint64_t b) {
    __extension__ typedef unsigned __int128 u128;
    const u128 r = u128(a) * b;
    return uint64_t(r) ^ uint64_t(r >> 64);
  }

  struct Slot {
    uint32_t tag = 0;        // low 32 bits of the key hash (also gives the home slot)
    uint32_t node = kNone;   // kNone = empty
  };

  uint32_t find(const FlowKey& key, uint64_t hv) const {
    const uint32_t tag = uint32_t(hv);
    for (size_t s = tag & slot_mask_;; s = (s + 1) & slot_mask_) {
      const Slot& sl = slots_[s];
      if (sl.node == kNone) return kNone;
      if (sl.tag == tag && hot_[sl.node].key == key) return sl.node;
    }
  }
  void index_insert(uint32_t node, uint64_t hv);
  // Removes the entry at slot s (backward-shift deletion, no tombstones).
  void index_erase(size_t s);
  // Node indices sorted by key depth, ascending (leaves first, root last): children
  // always precede their parents, so no child lists are needed to aggregate.
  void depth_order(uint32_t* out) const;
  void add_new(const FlowKey& key, uint64_t hv, const Counters& c);
  // Inserts key as a child of tree node `parent`; the children of `parent` it covers move
  // below it at the next sync_links().
  uint32_t insert_under(uint32_t parent, const FlowKey& key, uint64_t hv);
  void link_child(uint32_t parent, uint32_t child) const;
  void sync_links() const {
    if (!dirty_.empty()) [[unlikely]] relink_dirty();
  }
  void relink_dirty() const;
  bool coin();
  // Deletes every node with mark_ == kRemove (never the root): each removed node's child
  // list is spliced into its place in its parent's list (so the pre-order of survivors is
  // unchanged) and the last survivors move into the holes. O(size) for a few cheap
  // passes plus O(removed) index deletions and moves; no tree walk, no index rebuild.
  // order_ready: by_depth_ already holds depth_order() of the current nodes.
  void remove_marked(bool order_ready = false);
  // Marks the `need` candidates (hash tag << 32 | node) with the smallest (tag, key).
  void select_by_hash(uint64_t* cand, size_t nc, size_t need);
  // Marks the size() - target lightest non-root nodes kRemove (compress_to's order).
  void mark_lightest(uint32_t target);
  // kAggregate: removes the marked nodes, moving their comp_pop to shared prefixes.
  void aggregate_marked();
  // kThreshold: marks the nodes compress_to() removes.
  void mark_threshold(uint32_t target);
  // Smallest depth >= max(a.depth, b.depth) at which a and b have the same ancestor.
  int common_depth(const FlowKey& a, const FlowKey& b) const;
  void ensure_room(uint32_t n);

  FlowtreeConfig cfg_;
  Hierarchy h_;
  uint64_t rng_;
  uint64_t coin_threshold_;
  size_t size_ = 0;
  // Pool, size budget; [0, size_) in use. Mutable because the tree links are a cache of
  // "nearest existing ancestor": inserting an intermediate node only records its parent
  // as dirty, and sync_links() re-links the covered children of all dirty parents in one
  // batch before anything reads the structure. Re-linking eagerly would rescan a popular
  // parent's (possibly thousands of) children on every intermediate insertion.
  struct alignas(64) Hot {
    FlowKey key;
    Counters comp_pop;
  };
  static_assert(sizeof(Hot) == 64, "a node's hot part is one cache line");
  struct Link {
    uint32_t parent = kNone;
    uint32_t first_child = kNone;
    uint32_t next_sibling = kNone;
    uint32_t prev = kNone;  // previous sibling (child lists are doubly linked)
  };
  std::vector<Hot> hot_;
  mutable std::vector<Link> links_;
  std::vector<uint32_t> slot_;  // position of the node's entry in the hash index
  mutable std::vector<uint32_t> dirty_;  // parents that gained an intermediate child
  mutable std::vector<uint8_t> mark_;    // kRemove during compress, kDirty while in dirty_
  mutable std::vector<uint64_t> dmask_;  // dirty parent: bit d set = new child at depth d
  std::vector<uint8_t> depth_;           // key.depth per node, compact for the bulk passes
  std::vector<Slot> slots_;   // open addressing, linear probing, load <= 1/2
  size_t slot_mask_ = 0;

  // Query caches and compress scratch, sized from the budget.
  mutable std::vector<Counters> pop_;
  mutable std::vector<uint32_t> order_;
  mutable std::vector<uint32_t> scratch_;
  std::vector<uint32_t> scratch2_;
  std::vector<uint32_t> hist_;  // compress: histogram of small popularity values
  std::vector<int64_t> vals_;   // compress: popularity values too large for hist_
  std::vector<int64_t> acc_;    // kThreshold: accumulated mass by depth-order position
  struct Agg {
    FlowKey key;     // kAggregate: a prefix to create
    Counters mass;   // the comp_pop moved into it
  };
  std::vector<Agg> agg_;  // kAggregate scratch, budget / 4 + 1 entries (further ones fall back)
  mutable std::vector<uint32_t> by_depth_;  // depth_order() output
  mutable bool stats_valid_ = false;
  mutable bool order_valid_ = false;
};

// a − b as a new tree (merge with subtraction; signed counters).
Flowtree diff(const Flowtree& a, const Flowtree& b);

}  // namespace haystack::flowtree
