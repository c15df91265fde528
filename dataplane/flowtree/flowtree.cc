#include "dataplane/flowtree/flowtree.h"

#include <cstring>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace haystack::flowtree {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// compress_to() finds its popularity threshold with a histogram when it is below this
// (the common case: most removed nodes have tiny counts), else with nth_element.
constexpr uint32_t kSmallValues = 4096;
constexpr int kTagBucketBits = 12;
constexpr uint32_t kTagBuckets = 1u << kTagBucketBits;
static_assert(kTagBuckets <= kSmallValues, "hist_ holds both histograms");

int64_t abs_metric(const Counters& c, Metric m) {
  const int64_t v = metric(c, m);
  return v < 0 ? -v : v;
}

}  // namespace

uint32_t default_budget(FeatureSet fs) {
  return (fs == FeatureSet::SP || fs == FeatureSet::DP) ? 10000 : 40000;
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
  if (!(cfg_.threshold_inner_share >= 0.0 && cfg_.threshold_inner_share < 1.0)) {
    throw std::invalid_argument("flowtree threshold_inner_share must be in [0, 1)");
  }
  if (cfg_.aggregate_pop_shift < 0) throw std::invalid_argument("flowtree aggregate_pop_shift must be >= 0");
  rng_ = cfg_.seed;
  coin_threshold_ = cfg_.p >= 1.0 ? ~0ull : uint64_t(std::ldexp(cfg_.p, 64));
  hot_.resize(cfg_.budget);
  links_.resize(cfg_.budget);
  slot_.resize(cfg_.budget);
  pop_.resize(cfg_.budget);
  dirty_.reserve(cfg_.budget);
  order_.resize(cfg_.budget);
  scratch_.resize(cfg_.budget);
  scratch2_.resize(cfg_.budget);
  mark_.assign(cfg_.budget, 0);
  dmask_.assign(cfg_.budget, 0);
  depth_.assign(cfg_.budget, 0);
  hist_.resize(kSmallValues);
  vals_.resize(cfg_.budget);
  if (cfg_.compress_mode == FlowtreeConfig::Compress::kThreshold) acc_.resize(cfg_.budget);
  if (cfg_.compress_mode == FlowtreeConfig::Compress::kAggregate) agg_.resize(cfg_.budget / 4 + 1);
  by_depth_.resize(cfg_.budget);
  // Load <= 2/3 when full (0.61 at the default 40k and 10k budgets).
  slots_.resize(std::bit_ceil(size_t(cfg_.budget) + cfg_.budget / 2));
  slot_mask_ = slots_.size() - 1;

  hot_[kRoot] = Hot{h_.root(), {}};
  links_[kRoot] = Link{};
  depth_[kRoot] = hot_[kRoot].key.depth;
  size_ = 1;
  index_insert(kRoot, hash(hot_[kRoot].key));
}

void Flowtree::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  std::fill_n(mark_.begin(), size_, uint8_t{0});
  std::fill_n(dmask_.begin(), size_, uint64_t{0});
  dirty_.clear();
  rng_ = cfg_.seed;
  hot_[kRoot] = Hot{h_.root(), {}};
  links_[kRoot] = Link{};
  depth_[kRoot] = hot_[kRoot].key.depth;
  size_ = 1;
  index_insert(kRoot, hash(hot_[kRoot].key));
  stats_valid_ = false;
  order_valid_ = false;
}

void Flowtree::canonicalize() {
  sync_links();
  std::vector<uint32_t> kids;
  for (size_t p = 0; p < size_; ++p) {
    kids.clear();
    for (uint32_t c = links_[p].first_child; c != kNone; c = links_[c].next_sibling) kids.push_back(c);
    if (kids.size() < 2) continue;
    std::sort(kids.begin(), kids.end(), [&](uint32_t a, uint32_t b) {
      return std::memcmp(&hot_[a].key, &hot_[b].key, sizeof(FlowKey)) < 0;
    });
    links_[p].first_child = kids[0];
    for (size_t i = 0; i < kids.size(); ++i) {
      links_[kids[i]].next_sibling = i + 1 < kids.size() ? kids[i + 1] : kNone;
      links_[kids[i]].prev = i > 0 ? kids[i - 1] : kNone;
    }
  }
  order_valid_ = false;
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
  slot_[node] = uint32_t(s);
}

void Flowtree::index_erase(size_t s) {
  // Backward-shift deletion: pull later entries of the cluster into the gap when their
  // home slot does not lie between the gap and their position.
  size_t gap = s;
  for (size_t j = (s + 1) & slot_mask_; slots_[j].node != kNone; j = (j + 1) & slot_mask_) {
    const size_t home = slots_[j].tag & slot_mask_;
    if (((j - home) & slot_mask_) >= ((j - gap) & slot_mask_)) {
      slots_[gap] = slots_[j];
      slot_[slots_[gap].node] = uint32_t(gap);
      gap = j;
    }
  }
  slots_[gap] = Slot{};
}

void Flowtree::depth_order(uint32_t* out) const {
  uint32_t pos[64] = {};
  for (size_t i = 0; i < size_; ++i) ++pos[depth_[i]];
  uint32_t sum = 0;
  for (uint32_t& p : pos) {
    const uint32_t c = p;
    p = sum;
    sum += c;
  }
  for (uint32_t i = 0; i < size_; ++i) out[pos[depth_[i]]++] = i;
}

void Flowtree::link_child(uint32_t parent, uint32_t child) const {
  const uint32_t first = links_[parent].first_child;
  links_[child].parent = parent;
  links_[child].next_sibling = first;
  links_[child].prev = kNone;
  if (first != kNone) links_[first].prev = child;
  links_[parent].first_child = child;
}

uint32_t Flowtree::insert_under(uint32_t parent, const FlowKey& key, uint64_t hv) {
  const uint32_t idx = uint32_t(size_++);
  hot_[idx] = Hot{key, {}};
  links_[idx] = Link{};
  depth_[idx] = key.depth;
  // A leaf (depth 0) covers nothing else, so the common insertion needs no re-link.
  if (key.depth > 0) {
    if (!(mark_[parent] & kDirty)) {
      mark_[parent] |= kDirty;
      dirty_.push_back(parent);
    }
    dmask_[parent] |= 1ull << key.depth;
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
  // Walk up to the first existing ancestor (the root at worst), flipping a coin for each
  // missing level. Levels are generalised and hashed kAhead at a time and their index
  // slots prefetched, so the probes of one block overlap their cache misses.
  constexpr int kAhead = 8;
  const int root = h_.root_depth();
  FlowKey lv[kAhead];
  uint64_t lh[kAhead];
  FlowKey chain[64];
  uint64_t chash[64];
  int m = 0;
  uint32_t anc = kNone;
  for (int d0 = key.depth + 1; anc == kNone; d0 += kAhead) {
    const int n = std::min(kAhead, root - d0 + 1);
    for (int j = 0; j < n; ++j) {
      lv[j] = h_.ancestor(key, d0 + j);
      lh[j] = hash(lv[j]);
      __builtin_prefetch(&slots_[uint32_t(lh[j]) & slot_mask_]);
    }
    for (int j = 0; j < n; ++j) {
      anc = find(lv[j], lh[j]);
      if (anc != kNone) break;
      if (coin()) {
        chain[m] = lv[j];
        chash[m++] = lh[j];
      }
    }
  }
  // Insert top-down so that each new node re-links the children it covers.
  for (int j = m - 1; j >= 0; --j) anc = insert_under(anc, chain[j], chash[j]);
  const uint32_t leaf = insert_under(anc, key, hv);
  hot_[leaf].comp_pop += c;
}

void Flowtree::add_node(const FlowKey& key, const Counters& c) {
  const uint64_t hv = hash(key);
  uint32_t i = find(key, hv);
  if (i == kNone) {
    ensure_room(1);
    i = insert_under(nearest(key), key, hv);
  }
  hot_[i].comp_pop += c;
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
  // Every node inserted since the last sync set its depth's bit in its insertion parent's
  // dmask_. A child c of a dirty parent a must move to its nearest existing ancestor,
  // which is either a or a node inserted since the last sync (before it, c's parent was
  // the nearest node), i.e. at a depth of the union of all pending dmask_ bits, between
  // c and a. Probing exactly those depths (nearest first) moves c straight to its final
  // parent, whatever order the parents are processed in. (Probing only a's own bits
  // misses a node inserted below another new node, e.g. a /25 inserted under a /21 before
  // a /23 was inserted between them and c, if the /23's parent was processed first.)
  uint64_t all = 0;
  for (uint32_t a : dirty_) all |= dmask_[a];
  for (uint32_t a : dirty_) {
    mark_[a] &= uint8_t(~kDirty);
    dmask_[a] = 0;
    const uint64_t levels = all & ((1ull << depth_[a]) - 1);
    uint32_t prev = kNone;
    for (uint32_t c = links_[a].first_child; c != kNone;) {
      const uint32_t next = links_[c].next_sibling;
      const FlowKey& ck = hot_[c].key;
      uint32_t to = kNone;
      for (uint64_t l = levels & ~((2ull << ck.depth) - 1); l != 0 && to == kNone; l &= l - 1) {
        to = find(h_.ancestor(ck, std::countr_zero(l)));
      }
      if (to != kNone) {
        (prev == kNone ? links_[a].first_child : links_[prev].next_sibling) = next;
        if (next != kNone) links_[next].prev = prev;
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
  for (uint32_t c = links_[i].first_child; c != kNone; c = links_[c].next_sibling) out.push_back(c);
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
      if (links_[cur].first_child != kNone) {
        cur = links_[cur].first_child;
      } else {
        while (cur != kRoot && links_[cur].next_sibling == kNone) cur = links_[cur].parent;
        if (cur == kRoot) break;
        cur = links_[cur].next_sibling;
      }
      order_[n++] = cur;
    }
    order_valid_ = true;
  }
  return {order_.data(), size_};
}

void Flowtree::stats() const {
  // Children are shallower than their parents, so visiting nodes by ascending depth
  // aggregates bottom-up from the parent links alone (no pointer-chasing tree walk).
  sync_links();
  uint32_t* ord = by_depth_.data();
  depth_order(ord);
  for (size_t i = 0; i < size_; ++i) pop_[i] = hot_[i].comp_pop;
  for (size_t j = 0; j + 1 < size_; ++j) pop_[links_[ord[j]].parent] += pop_[ord[j]];  // root is last
  stats_valid_ = true;
}

void Flowtree::select_by_hash(uint64_t* cand, size_t nc, size_t need) {
  // Final tie-break of compress: among nodes of equal popularity and depth, remove those
  // with the smallest key hash (then key bytes). Unlike the node index it does not depend
  // on the pool layout, so a deserialized copy compresses exactly like the original.
  // Radix step on the top 12 tag bits, then nth_element inside one bucket.
  auto mark = [&](uint64_t c) { mark_[uint32_t(c)] = kRemove; };
  if (need >= nc) {
    for (size_t j = 0; j < nc; ++j) mark(cand[j]);
    return;
  }
  if (need == 0) return;
  uint32_t* hist = hist_.data();
  std::fill(hist, hist + kTagBuckets, 0u);
  for (size_t j = 0; j < nc; ++j) ++hist[cand[j] >> (64 - kTagBucketBits)];
  uint32_t b = 0;
  while (need >= hist[b]) need -= hist[b++];  // need < nc, so b stays in range
  size_t nb = 0;
  for (size_t j = 0; j < nc; ++j) {
    const uint64_t bucket = cand[j] >> (64 - kTagBucketBits);
    if (bucket < b) mark(cand[j]);
    else if (bucket == b) cand[nb++] = cand[j];
  }
  if (need == 0) return;
  auto less = [&](uint64_t x, uint64_t y) {
    if ((x >> 32) != (y >> 32)) return (x >> 32) < (y >> 32);
    return std::memcmp(&hot_[uint32_t(x)].key, &hot_[uint32_t(y)].key, sizeof(FlowKey)) < 0;
  };
  std::nth_element(cand, cand + need - 1, cand + nb, less);
  for (size_t j = 0; j < need; ++j) mark(cand[j]);
}

void Flowtree::compress_to(uint32_t target) {
  target = std::max<uint32_t>(target, 1);
  if (size_ <= target) return;
  if (cfg_.compress_mode == FlowtreeConfig::Compress::kThreshold) {
    mark_threshold(target);
    remove_marked(/*order_ready=*/true);
    return;
  }
  const bool agg = cfg_.compress_mode == FlowtreeConfig::Compress::kAggregate;
  for (int pass = 0; size_ > target; ++pass) {
    mark_lightest(target);
    if (agg && pass + 1 < kAggregatePasses) aggregate_marked();
    else remove_marked();
  }
}

int Flowtree::common_depth(const FlowKey& a, const FlowKey& b) const {
  int lo = std::max(a.depth, b.depth), hi = h_.root_depth();
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (h_.ancestor(a, mid) == h_.ancestor(b, mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

void Flowtree::aggregate_marked() {
  sync_links();
  mark_[kRoot] = 0;
  // 1. The removed nodes in key-byte order: nodes of one prefix are (nearly) contiguous,
  //    so a node's deepest shared prefix with another removed node is the one with a
  //    neighbour in this order.
  uint32_t* r = scratch_.data();
  size_t nr = 0;
  for (uint32_t i = 1; i < size_; ++i) {
    // A removed node without own mass has nothing to move (e.g. a p-coin intermediate).
    if (mark_[i] && !(hot_[i].comp_pop == Counters{})) r[nr++] = i;
  }
  auto key_less = [&](const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof(FlowKey)) < 0; };
  std::sort(r, r + nr, [&](uint32_t a, uint32_t b) { return key_less(hot_[a].key, hot_[b].key); });
  // 2. Destinations. A removed node whose comp_pop goes to a new prefix gives it up here,
  //    so remove_marked() hands zero to its surviving ancestor.
  size_t na = 0;
  for (size_t j = 0; j < nr && na < agg_.size(); ++j) {
    const uint32_t x = r[j];
    const FlowKey& k = hot_[x].key;
    uint32_t s = links_[x].parent;
    while (mark_[s]) s = links_[s].parent;
    int best = 255;
    for (size_t nb : {j - 1, j + 1}) {
      if (nb >= nr) continue;  // j - 1 wraps for j == 0
      const int d = common_depth(k, hot_[r[nb]].key);
      if (d > k.depth) best = std::min(best, d);
    }
    if (best >= depth_[s]) continue;
    const FlowKey a = h_.ancestor(k, best);
    if (find(a) != kNone) continue;
    agg_[na++] = Agg{a, hot_[x].comp_pop};
    hot_[x].comp_pop = Counters{};
  }
  // 3. One entry per prefix, shallowest first so nested new prefixes link below each other.
  std::sort(agg_.begin(), agg_.begin() + ptrdiff_t(na), [&](const Agg& a, const Agg& b) {
    if (a.key.depth != b.key.depth) return a.key.depth > b.key.depth;
    return key_less(a.key, b.key);
  });
  size_t nu = 0;
  for (size_t j = 0; j < na; ++j) {
    if (nu > 0 && agg_[nu - 1].key == agg_[j].key) agg_[nu - 1].mass += agg_[j].mass;
    else agg_[nu++] = agg_[j];
  }
  remove_marked();
  // 4. Fewer nodes are created than were removed, so the budget holds.
  for (size_t j = 0; j < nu; ++j) {
    const uint32_t i = insert_under(nearest(agg_[j].key), agg_[j].key, hash(agg_[j].key));
    hot_[i].comp_pop = agg_[j].mass;
  }
  stats_valid_ = false;
}

void Flowtree::mark_threshold(uint32_t target) {
  stats();  // also leaves the depth order in by_depth_ (reused by remove_marked)
  const size_t n = size_;
  const Metric r = cfg_.rank;
  // Depth order (leaves first, root last) puts every node before its tree parent, so one
  // forward pass over compact arrays accumulates the mass of removed nodes upwards.
  const uint32_t* ord = by_depth_.data();
  uint32_t* pos = scratch_.data();
  for (size_t j = 0; j < n; ++j) pos[ord[j]] = uint32_t(j);
  uint32_t* up = scratch2_.data();  // position of the tree parent
  int64_t* val = vals_.data();      // own mass by position
  int64_t* acc = acc_.data();
  for (size_t j = 0; j < n; ++j) {
    up[j] = j + 1 < n ? pos[links_[ord[j]].parent] : 0;
    acc[j] = 0;  // max |pop| of a child
  }
  for (size_t j = 0; j + 1 < n; ++j) acc[up[j]] = std::max(acc[up[j]], abs_metric(pop_[ord[j]], r));
  // Reserved inner nodes: spread >= thr_in, at most q of them (never the root).
  const size_t q = std::min<size_t>(target - 1, size_t(double(target) * cfg_.threshold_inner_share));
  int64_t thr_in = std::numeric_limits<int64_t>::max();
  uint8_t* keep = mark_.data();  // by position: 1 = reserved inner node (cleared below)
  {
    size_t nc = 0;
    // Spread values of the inner nodes, written over acc (not needed after this block).
    for (size_t j = 0; j + 1 < n; ++j) {
      const int64_t s = abs_metric(pop_[ord[j]], r) - acc[j];
      acc[j] = depth_[ord[j]] > 0 && s > 0 ? s : 0;
      if (acc[j] > 0) ++nc;
    }
    if (q > 0 && nc > 0) {
      if (nc <= q) {
        thr_in = 1;
      } else {
        // (q+1)-th largest spread v: reserve spread > v, i.e. >= v + 1 (at most q nodes).
        int64_t* tmp = vals_.data();  // val is filled after this block
        size_t m = 0;
        for (size_t j = 0; j + 1 < n; ++j) if (acc[j] > 0) tmp[m++] = acc[j];
        std::nth_element(tmp, tmp + q, tmp + m, std::greater<int64_t>());
        thr_in = tmp[q] + 1;
      }
    }
    for (size_t j = 0; j < n; ++j) keep[j] = j + 1 < n && acc[j] >= thr_in;
  }

  int64_t total = 0;
  for (size_t j = 0; j < n; ++j) {
    val[j] = abs_metric(hot_[ord[j]].comp_pop, r);
    total += val[j];
  }
  size_t reserved = 0;
  for (size_t j = 0; j + 1 < n; ++j) reserved += keep[j];
  // Survivors (root included) when unreserved nodes with acc < thr are removed.
  auto survivors = [&](int64_t thr) {
    std::memcpy(acc, val, n * sizeof(int64_t));
    size_t kept = 1;
    for (size_t j = 0; j + 1 < n; ++j) {
      const bool k = keep[j] | (acc[j] >= thr);
      kept += k;
      acc[up[j]] += k ? 0 : acc[j];
    }
    return kept;
  };
  // Unreserved non-root survivors hold disjoint mass >= thr each, so
  // thr = total / (target - 1 - reserved) + 1 leaves at most target - 1 - reserved of them;
  // thr = 0 keeps all n > target.
  const size_t room = target > 1 + reserved ? target - 1 - reserved : 0;
  int64_t lo = 0, hi = room > 0 ? total / int64_t(room) + 1 : std::numeric_limits<int64_t>::max();

  // Bisection in log space, to within 1/16 of T (not further: each probe is a pass over
  // all nodes, and a slightly larger T only removes a little more, which also makes the
  // next compress come later). Deterministic: the probes depend on the tree alone.
  if (hi > 1 && survivors(1) > target) {
    lo = 1;
    while (hi - lo > 1 && hi - lo > hi / 16) {
      const int64_t mid = std::clamp<int64_t>(int64_t(std::sqrt(double(lo) * double(hi))), lo + 1, hi - 1);
      (survivors(mid) <= target ? hi : lo) = mid;
    }
  } else if (hi > 1) {
    hi = 1;
  }
  survivors(hi);
  for (size_t j = 0; j < n; ++j) keep[j] = keep[j] || acc[j] >= hi || j + 1 == n;
  // keep is by position, mark_ by node: translate through vals_.
  for (size_t j = 0; j < n; ++j) vals_[j] = keep[j];
  for (size_t j = 0; j < n; ++j) mark_[ord[j]] = vals_[j] ? 0 : kRemove;
}

void Flowtree::mark_lightest(uint32_t target) {
  if (size_ <= target) return;
  stats();
  // Mark the m least popular non-root nodes in the order (rank value, depth, key hash):
  // ties remove deeper (more specific) nodes first, then by key hash, so the choice is
  // deterministic. Instead of sorting, find the threshold value T (histogram of small
  // values, nth_element over the rest), then the depth cut among the nodes at T.
  const size_t n = size_, m = n - target;
  const Metric r = cfg_.rank;
  // kParent ranks by |pop|; kAggregate by |comp_pop| (the node's own, uncovered mass)
  // plus (|pop| - |comp_pop|) >> aggregate_pop_shift (none for shifts >= 63).
  const bool by_pop = cfg_.compress_mode == FlowtreeConfig::Compress::kParent;
  const int shift = cfg_.aggregate_pop_shift;
  auto rank_of = [&](size_t i) -> int64_t {
    if (by_pop) return abs_metric(pop_[i], r);
    const int64_t c = abs_metric(hot_[i].comp_pop, r);
    if (shift >= 63) return c;
    return c + (std::max<int64_t>(0, abs_metric(pop_[i], r) - c) >> shift);
  };
  uint32_t* hist = hist_.data();
  std::fill(hist, hist + kSmallValues, 0u);
  for (size_t i = 1; i < n; ++i) {
    const int64_t v = rank_of(i);
    if (v < int64_t(kSmallValues)) ++hist[v];
  }
  int64_t thr = -1;
  size_t below = 0;  // nodes with value < thr
  for (uint32_t v = 0; v < kSmallValues; ++v) {
    if (below + hist[v] >= m) {
      thr = v;
      break;
    }
    below += hist[v];
  }
  if (thr < 0) {
    size_t nb = 0;
    for (size_t i = 1; i < n; ++i) {
      const int64_t v = rank_of(i);
      if (v >= int64_t(kSmallValues)) vals_[nb++] = v;
    }
    const size_t k = m - below;  // rank (1-based) of thr among the large values
    std::nth_element(vals_.begin(), vals_.begin() + ptrdiff_t(k - 1), vals_.begin() + ptrdiff_t(nb));
    thr = vals_[k - 1];
    for (size_t j = 0; j < nb; ++j) below += vals_[j] < thr;
  }
  size_t need = m - below;  // to remove among the nodes with value == thr
  uint32_t dh[64] = {};
  for (size_t i = 1; i < n; ++i) {
    if (rank_of(i) == thr) ++dh[depth_[i]];
  }
  int cut = 0;  // remove all of value thr below depth `cut`, `need` of those at `cut`
  while (need > dh[cut]) need -= dh[cut++];
  // Mark everything below the cut; collect the nodes at the cut as (hash tag, index).
  uint64_t* cand = reinterpret_cast<uint64_t*>(vals_.data());
  size_t nc = 0;
  for (size_t i = 1; i < n; ++i) {
    const int64_t v = rank_of(i);
    if (v > thr) continue;
    const int d = depth_[i];
    if (v < thr || d < cut) {
      mark_[i] = kRemove;
    } else if (d == cut) {
      cand[nc++] = uint64_t(slots_[slot_[i]].tag) << 32 | i;
    }
  }
  select_by_hash(cand, nc, need);
}

void Flowtree::compress(int64_t thresh_comp_pop, int64_t thresh_pop) {
  stats();
  bool any = false;
  for (uint32_t i = 1; i < size_; ++i) {
    const bool leaf = links_[i].first_child == kNone;
    if ((leaf && abs_metric(hot_[i].comp_pop, cfg_.rank) < thresh_comp_pop) ||
        abs_metric(pop_[i], cfg_.rank) < thresh_pop) {
      mark_[i] = kRemove;
      any = true;
    }
  }
  if (any) remove_marked();
}

void Flowtree::remove_marked(bool order_ready) {
  sync_links();
  const bool had_stats = stats_valid_;
  const uint32_t n = uint32_t(size_);
  mark_[kRoot] = 0;
  uint32_t* ord = by_depth_.data();
  if (!order_ready) depth_order(ord);
  uint32_t* remap = scratch2_.data();
  // 1. Top-down (descending depth; ord[n - 1] is the root), so a removed node's parent is
  //    already a survivor: hand it the comp_pop (the pop of every survivor is unchanged)
  //    and splice the children into the removed node's place in the sibling list.
  uint32_t removed = 0;
  for (size_t j = n - 1; j-- > 0;) {
    const uint32_t x = ord[j];
    if (!mark_[x]) continue;
    ++removed;
    Link& nx = links_[x];
    const uint32_t p = nx.parent, before = nx.prev, after = nx.next_sibling;
    hot_[p].comp_pop += hot_[x].comp_pop;
    uint32_t first = after, last = before;
    if (nx.first_child != kNone) {
      first = nx.first_child;
      for (uint32_t c = first; c != kNone; c = links_[c].next_sibling) {
        links_[c].parent = p;
        last = c;
      }
      links_[first].prev = before;
      links_[last].next_sibling = after;
    }
    (before == kNone ? links_[p].first_child : links_[before].next_sibling) = first;
    if (after != kNone) links_[after].prev = last;
  }
  for (uint32_t i = 1; i < n; ++i) {
    if (mark_[i]) index_erase(slot_[i]);
  }
  // 2. Compaction plan: the last survivors fill the holes below the new size k.
  const uint32_t k = n - removed;
  for (uint32_t i = 0; i < n; ++i) remap[i] = i;
  for (uint32_t i = 1, hi = n; i < k; ++i) {
    if (!mark_[i]) continue;
    do --hi; while (mark_[hi]);
    remap[hi] = i;
  }
  // 3. Links of survivors in new positions, then the moves.
  auto rm = [&](uint32_t v) { return v == kNone ? kNone : remap[v]; };
  for (uint32_t i = 0; i < n; ++i) {
    if (mark_[i]) continue;
    Link& nd = links_[i];
    nd.parent = rm(nd.parent);
    nd.first_child = rm(nd.first_child);
    nd.next_sibling = rm(nd.next_sibling);
    nd.prev = rm(nd.prev);
  }
  for (uint32_t i = 1, hi = n; i < k; ++i) {
    if (!mark_[i]) continue;
    do --hi; while (mark_[hi]);
    hot_[i] = hot_[hi];
    links_[i] = links_[hi];
    slot_[i] = slot_[hi];
    pop_[i] = pop_[hi];
    depth_[i] = depth_[hi];
    slots_[slot_[i]].node = i;
  }
  std::fill(mark_.begin(), mark_.begin() + n, uint8_t(0));
  size_ = k;
  order_valid_ = false;
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
    const Counters& c = other.hot_[i].comp_pop;
    add_node(other.hot_[i].key, Counters{scaled(c.packets), scaled(c.bytes), scaled(c.flows)});
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
  t.hot_[kRoot].comp_pop = comp[0];
  for (size_t i = 1; i < keys.size(); ++i) {
    const std::string where = "flowtree node " + std::to_string(i) + ": ";
    if (!h.valid(keys[i])) throw std::invalid_argument(where + "malformed key");
    if (parents[i] >= i) throw std::invalid_argument(where + "parent index is not before the node");
    if (!h.covers(keys[parents[i]], keys[i]) || keys[parents[i]] == keys[i]) {
      throw std::invalid_argument(where + "parent does not cover the node");
    }
    if (t.find(keys[i]) != kNone) throw std::invalid_argument(where + "duplicate key " + h.to_string(keys[i]));
    t.hot_[i] = Hot{keys[i], comp[i]};
    t.links_[i] = Link{};
    t.links_[i].parent = parents[i];
    t.depth_[i] = keys[i].depth;
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
  if (!(hot_[kRoot].key == h_.root())) return "node 0 is not the root";
  for (uint32_t i = 0; i < size_; ++i) {
    const Node n = node(i);
    const std::string where = "node " + std::to_string(i) + " (" + h_.to_string(n.key) + "): ";
    if (!h_.valid(n.key)) return where + "invalid key";
    if (find(n.key) != i) return where + "index does not find it";
    if (slot_[i] > slot_mask_ || slots_[slot_[i]].node != i) return where + "stale index slot";
    for (uint32_t c = n.first_child, pc = kNone; c != kNone; pc = c, c = links_[c].next_sibling) {
      if (links_[c].parent != i) return where + "child with wrong parent link";
      if (links_[c].prev != pc) return where + "child with wrong previous-sibling link";
    }
    if (i == kRoot) continue;
    if (n.parent >= size_) return where + "bad parent index";
    const Node p = node(n.parent);
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
