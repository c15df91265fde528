// Flowtree keys: the 11 feature sets, the joined generalisation hierarchy, and the
// conversions between packets, keys and prefix strings ("10.1.2.0/24|80/16").
//
// Joined hierarchy (METHODS §1). A node is a leaf flow generalised `depth` steps; every
// feature steps once per level until it reaches its top, then stays there:
//   IPv4 : /32 -> /31 -> ... -> /0 ("0.0.0.0/0", all IPv4)   -> ANY ("*")   33 steps
//   IPv6 : /128 -> /124 -> ... -> /0 ("::/0", all IPv6)      -> ANY ("*")   33 steps
//          (4 bits per step, so both families need the same 33 steps and /32, /48, /56,
//          /64 are all levels; IPv4 and IPv6 are separated right below ANY)
//   port : /16 -> /15 -> ... -> /0 ("0/0")                                 16 steps
//   proto (optional, per tree): exact at every level except the root, where it becomes
//          ANY ("*"); so the root's children split traffic by protocol first.
// root_depth = 33 if the set has an IP feature else 16, plus 1 with the protocol key.
// The parent of a node is therefore a function of the node alone (prefix masking is
// monotone), which makes the hierarchy a tree.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/packet.h"

namespace haystack::flowtree {

enum class FeatureSet : uint8_t { SI, DI, SP, DP, SIDI, SPDP, SISP, SIDP, DISP, DIDP, FULL };
inline constexpr int kFeatureSetCount = 11;

std::string_view feature_set_name(FeatureSet fs);
std::optional<FeatureSet> parse_feature_set(std::string_view name);

// Address family of one IP feature of a key; kAny once the feature is fully generalised
// (and always for IP features the feature set does not use).
enum class Family : uint8_t { kAny = 0, kV4 = 1, kV6 = 2 };

inline constexpr int kIpSteps = 33;    // levels from a host address to ANY, both families
inline constexpr int kIpv6StepBits = 4;
inline constexpr int kPortSteps = 16;

// A (possibly generalised) flow: a node of the joined hierarchy. 40 bytes, no padding,
// compared and hashed as five 64-bit words. Unused features are zero / kAny. IPv4
// addresses are kept IPv4-mapped (::ffff:a.b.c.d) like IpAddr; host bits below the
// prefix are always zero.
struct FlowKey {
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;
  uint8_t depth = 0;  // generalisation steps above the leaf level (0 = leaf)
  Family src_fam = Family::kAny;
  Family dst_fam = Family::kAny;

  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(FlowKey)) == 0; }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must stay 40 bytes without padding");

// Prefix length of an IP feature at a depth (v4: 0..32, v6: 0..128; -1 = ANY).
int ip_prefix_len(Family fam, int depth);
// Prefix length of a port feature at a depth (16..0).
int port_prefix_len(int depth);

namespace detail {
// Per-level masks of the joined hierarchy, computed at compile time.
// ip[family][depth]: the address bits an IP feature keeps at depth < kIpSteps, as two
// 64-bit words in memory (network) byte order; all zero for Family::kAny.
// port[depth]: the port bits kept at depth 0..16.
struct MaskTables {
  uint64_t ip[3][kIpSteps][2];
  uint16_t port[kPortSteps + 1];
};
constexpr uint64_t be_mask(int bits) {
  const uint64_t m = bits <= 0 ? 0 : bits >= 64 ? ~0ull : ~0ull << (64 - bits);
  return std::endian::native == std::endian::little ? __builtin_bswap64(m) : m;
}
constexpr MaskTables make_masks() {
  MaskTables t{};
  for (int d = 0; d < kIpSteps; ++d) {
    const int v4 = 96 + (32 - d), v6 = 128 - kIpv6StepBits * d;
    t.ip[int(Family::kV4)][d][0] = be_mask(v4);
    t.ip[int(Family::kV4)][d][1] = be_mask(v4 - 64);
    t.ip[int(Family::kV6)][d][0] = be_mask(v6);
    t.ip[int(Family::kV6)][d][1] = be_mask(v6 - 64);
  }
  for (int d = 0; d <= kPortSteps; ++d) t.port[d] = uint16_t(d >= kPortSteps ? 0 : (0xffffu << d) & 0xffffu);
  return t;
}
inline constexpr MaskTables kMasks = make_masks();
}  // namespace detail

// The hierarchy of one tree: which features form the key and whether the protocol does.
class Hierarchy {
  static void mask_ip(std::array<uint8_t, 16>& a, Family fam, int depth) {
    uint64_t w[2];
    std::memcpy(w, a.data(), 16);
    w[0] &= detail::kMasks.ip[int(fam)][depth][0];
    w[1] &= detail::kMasks.ip[int(fam)][depth][1];
    std::memcpy(a.data(), w, 16);
  }

 public:
  explicit Hierarchy(FeatureSet fs = FeatureSet::FULL, bool with_proto = false);

  FeatureSet feature_set() const { return fs_; }
  bool with_proto() const { return with_proto_; }
  bool has_src_ip() const { return sip_; }
  bool has_dst_ip() const { return dip_; }
  bool has_src_port() const { return sp_; }
  bool has_dst_port() const { return dp_; }
  int root_depth() const { return root_depth_; }
  FlowKey root() const;

  // Leaf key (depth 0) from raw fields; features outside the set are ignored.
  FlowKey leaf(const IpAddr& src, const IpAddr& dst, uint16_t sport, uint16_t dport,
               uint8_t proto) const;
  // Leaf key from a parsed packet (ports are 0 when the packet has none).
  FlowKey leaf(const ParsedPacket& p) const;

  // The ancestor of k at `depth` (k.depth <= depth <= root_depth()). A few masks from a
  // precomputed per-level table: the insertion walk calls this once per level.
  FlowKey ancestor(const FlowKey& k, int depth) const {
    FlowKey a = k;
    a.depth = uint8_t(depth);
    if (depth >= kIpSteps) {
      a.src = {};
      a.dst = {};
      a.src_fam = a.dst_fam = Family::kAny;
    } else {
      mask_ip(a.src, a.src_fam, depth);
      mask_ip(a.dst, a.dst_fam, depth);
    }
    const uint16_t pm = detail::kMasks.port[depth < kPortSteps ? depth : kPortSteps];
    a.sport &= pm;
    a.dport &= pm;
    if (depth >= root_depth_) a.proto = 0;
    return a;
  }
  // The hierarchy parent (one step up). Precondition: k is not the root.
  FlowKey parent(const FlowKey& k) const { return ancestor(k, k.depth + 1); }
  // True if b ⊆ a in the hierarchy (a is b or an ancestor of b).
  bool covers(const FlowKey& a, const FlowKey& b) const {
    return b.depth <= a.depth && ancestor(b, a.depth) == a;
  }
  // True if k is a well-formed node of this hierarchy (masked, consistent families).
  bool valid(const FlowKey& k) const;

  // "sip|dip|sport|dport[|proto]" with the set's features in that order, e.g.
  // "10.1.2.0/24|80/16"; ANY IP is "*", ANY protocol "*".
  std::string to_string(const FlowKey& k) const;
  // Inverse of to_string. Prefix lengths must agree on one depth (the joined hierarchy
  // has no node "10.0.0.0/8|80/16"); host bits below a prefix are cleared. Throws
  // std::invalid_argument with the reason.
  FlowKey parse(std::string_view s) const;

  bool operator==(const Hierarchy& o) const { return fs_ == o.fs_ && with_proto_ == o.with_proto_; }

 private:
  FeatureSet fs_;
  bool with_proto_;
  bool sip_, dip_, sp_, dp_;
  int root_depth_;
};

}  // namespace haystack::flowtree
