#include "dataplane/flowtree/flowtree_io.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

namespace haystack::flowtree {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'H', 'F', 'T', 'R'};
constexpr size_t kHeaderSize = 4 + 2 + 2 + 8 + 1 + 1 + 2 + 4 + 8 + 8 + 8 + 8 + 4;
constexpr uint32_t kMaxBudget = 1u << 26;  // refuse absurd allocations from a bad file

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // Castagnoli
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

class Writer {
 public:
  std::vector<uint8_t> out;
  template <typename T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  void bytes(const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); }
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    uint8_t b[sizeof(T)];
    std::memcpy(b, in_.data() + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    pos_ += sizeof(T);
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
  }
  void bytes(uint8_t* p, size_t n) {
    need(n);
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  size_t pos() const { return pos_; }

 private:
  void need(size_t n) const {
    if (pos_ + n > in_.size()) throw FlowtreeFormatError("flowtree: truncated node data");
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

nlohmann::json counters_json(const Counters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"flows", c.flows}};
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::vector<uint8_t> serialize(const Flowtree& t) {
  const FlowtreeConfig& cfg = t.config();
  const Hierarchy& h = t.hierarchy();
  const auto ord = t.preorder();
  std::vector<uint32_t> pos(t.size());
  for (size_t j = 0; j < ord.size(); ++j) pos[ord[j]] = uint32_t(j);

  Writer w;
  w.bytes(kMagic.data(), kMagic.size());
  w.put<uint16_t>(kFormatVersion);
  w.put<uint16_t>(cfg.with_proto ? 1 : 0);
  w.put<uint64_t>(0);  // total size, patched below
  w.put<uint8_t>(uint8_t(cfg.feature_set));
  w.put<uint8_t>(uint8_t(cfg.rank));
  w.put<uint8_t>(uint8_t(cfg.compress_mode));  // v2; v1 had kAggregate as bit 7 of the rank byte
  w.put<uint8_t>(0);
  w.put<uint32_t>(cfg.budget);
  w.put<uint64_t>(std::bit_cast<uint64_t>(cfg.p));
  w.put<uint64_t>(std::bit_cast<uint64_t>(cfg.compress_fraction));
  w.put<uint64_t>(cfg.seed);
  w.put<uint64_t>(t.rng_state());
  w.put<uint32_t>(t.size());
  for (uint32_t i : ord) {
    const Flowtree::Node& n = t.node(i);
    w.put<uint32_t>(i == Flowtree::kRoot ? Flowtree::kNone : pos[n.parent]);
    w.put<uint8_t>(n.key.depth);
    w.put<uint8_t>(uint8_t(uint8_t(n.key.src_fam) | (uint8_t(n.key.dst_fam) << 4)));
    w.put<uint8_t>(n.key.proto);
    if (h.has_src_ip()) w.bytes(n.key.src.data(), 16);
    if (h.has_dst_ip()) w.bytes(n.key.dst.data(), 16);
    if (h.has_src_port()) w.put<uint16_t>(n.key.sport);
    if (h.has_dst_port()) w.put<uint16_t>(n.key.dport);
    w.put<int64_t>(n.comp_pop.packets);
    w.put<int64_t>(n.comp_pop.bytes);
    w.put<int64_t>(n.comp_pop.flows);
  }
  const uint64_t total = w.out.size() + 4;
  for (int b = 0; b < 8; ++b) w.out[8 + b] = uint8_t(total >> (8 * b));
  w.put<uint32_t>(crc32c(w.out));
  return std::move(w.out);
}

Flowtree deserialize(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize + 4) {
    throw FlowtreeFormatError("flowtree: truncated (" + std::to_string(bytes.size()) +
                              " bytes, header alone needs " + std::to_string(kHeaderSize + 4) + ")");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    throw FlowtreeFormatError("flowtree: bad magic (not a flowtree)");
  }
  Reader r(bytes);
  uint8_t magic[4];
  r.bytes(magic, 4);
  const uint16_t version = r.get<uint16_t>();
  if (version != kFormatVersion && version != 1) {
    throw FlowtreeFormatError("flowtree: unsupported format version " + std::to_string(version) + " (expected " +
                              std::to_string(kFormatVersion) + ")");
  }
  const uint16_t flags = r.get<uint16_t>();
  const uint64_t total = r.get<uint64_t>();
  if (bytes.size() < total) {
    throw FlowtreeFormatError("flowtree: truncated (" + std::to_string(bytes.size()) + " of " +
                              std::to_string(total) + " bytes)");
  }
  if (bytes.size() > total) {
    throw FlowtreeFormatError("flowtree: " + std::to_string(bytes.size() - total) + " trailing bytes");
  }
  uint32_t stored_crc;
  {
    Reader tail(bytes.subspan(bytes.size() - 4));
    stored_crc = tail.get<uint32_t>();
  }
  if (crc32c(bytes.first(bytes.size() - 4)) != stored_crc) {
    throw FlowtreeFormatError("flowtree: checksum mismatch (corrupted data)");
  }

  FlowtreeConfig cfg;
  cfg.with_proto = flags & 1;
  const uint8_t fs = r.get<uint8_t>();
  const uint8_t rank_byte = r.get<uint8_t>();
  const uint8_t mode_byte = r.get<uint8_t>();
  r.get<uint8_t>();
  // v1: bit 7 of the rank byte = kAggregate, else kParent; v2: its own byte.
  const uint8_t rank = version == 1 ? uint8_t(rank_byte & 0x7f) : rank_byte;
  const uint8_t mode = version == 1 ? uint8_t(rank_byte >> 7) : mode_byte;
  if (mode > uint8_t(FlowtreeConfig::Compress::kThreshold)) {
    throw FlowtreeFormatError("flowtree: unknown compress mode " + std::to_string(mode));
  }
  if (fs >= kFeatureSetCount) throw FlowtreeFormatError("flowtree: unknown feature set " + std::to_string(fs));
  if (rank > 2) throw FlowtreeFormatError("flowtree: unknown rank metric " + std::to_string(rank));
  cfg.feature_set = FeatureSet(fs);
  cfg.rank = Metric(rank);
  cfg.compress_mode = FlowtreeConfig::Compress(mode);
  cfg.budget = r.get<uint32_t>();
  if (cfg.budget > kMaxBudget) throw FlowtreeFormatError("flowtree: budget " + std::to_string(cfg.budget) + " too large");
  cfg.p = std::bit_cast<double>(r.get<uint64_t>());
  cfg.compress_fraction = std::bit_cast<double>(r.get<uint64_t>());
  cfg.seed = r.get<uint64_t>();
  const uint64_t rng = r.get<uint64_t>();
  const uint32_t n = r.get<uint32_t>();
  if (n == 0 || n > cfg.budget) {
    throw FlowtreeFormatError("flowtree: node count " + std::to_string(n) + " outside [1, budget]");
  }

  const Hierarchy h(cfg.feature_set, cfg.with_proto);
  Reader body(bytes.first(bytes.size() - 4));
  std::vector<uint8_t> skip(r.pos());
  body.bytes(skip.data(), skip.size());
  std::vector<FlowKey> keys(n);
  std::vector<uint32_t> parents(n);
  std::vector<Counters> comp(n);
  for (uint32_t i = 0; i < n; ++i) {
    parents[i] = body.get<uint32_t>();
    FlowKey& k = keys[i];
    k.depth = body.get<uint8_t>();
    const uint8_t fam = body.get<uint8_t>();
    k.src_fam = Family(fam & 0xf);
    k.dst_fam = Family(fam >> 4);
    k.proto = body.get<uint8_t>();
    if (h.has_src_ip()) body.bytes(k.src.data(), 16);
    if (h.has_dst_ip()) body.bytes(k.dst.data(), 16);
    if (h.has_src_port()) k.sport = body.get<uint16_t>();
    if (h.has_dst_port()) k.dport = body.get<uint16_t>();
    comp[i].packets = body.get<int64_t>();
    comp[i].bytes = body.get<int64_t>();
    comp[i].flows = body.get<int64_t>();
  }
  if (body.pos() != bytes.size() - 4) throw FlowtreeFormatError("flowtree: node data length mismatch");
  try {
    Flowtree t = Flowtree::from_nodes(cfg, rng, keys, parents, comp);
    t.stats();
    return t;
  } catch (const std::invalid_argument& e) {
    throw FlowtreeFormatError(std::string("flowtree: ") + e.what());
  }
}

nlohmann::json to_json(const Flowtree& t) {
  const Hierarchy& h = t.hierarchy();
  const auto ord = t.preorder();
  std::vector<uint32_t> pos(t.size());
  for (size_t j = 0; j < ord.size(); ++j) pos[ord[j]] = uint32_t(j);
  nlohmann::json nodes = nlohmann::json::array();
  for (uint32_t i : ord) {
    const Flowtree::Node& n = t.node(i);
    nodes.push_back({{"id", pos[i]},
                     {"parent", i == Flowtree::kRoot ? nlohmann::json(nullptr) : nlohmann::json(pos[n.parent])},
                     {"key", h.to_string(n.key)},
                     {"depth", n.key.depth},
                     {"comp_pop", counters_json(n.comp_pop)},
                     {"pop", counters_json(t.pop(i))}});
  }
  return {{"feature_set", std::string(feature_set_name(h.feature_set()))},
          {"protocol", h.with_proto()},
          {"budget", t.budget()},
          {"size", t.size()},
          {"total", counters_json(t.total())},
          {"nodes", std::move(nodes)}};
}

}  // namespace haystack::flowtree
