#include "control/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "control/tree_store.h"

namespace haystack {

namespace {

std::string error_text(const std::string& file, int line, const std::string& key,
                       const std::string& msg) {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  s += msg;
  return s;
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string key, const std::string& msg)
    : std::runtime_error(error_text(file, line, key, msg)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)) {}

// ---------------------------------------------------------------------------------------
std::string_view mode_name(Mode m) {
  return m == Mode::kIsp ? "isp" : "ixp";
}

std::string_view clock_name(ClockSource c) {
  switch (c) {
    case ClockSource::kAuto:
      return "auto";
    case ClockSource::kPacket:
      return "packet";
    case ClockSource::kWall:
      return "wall";
  }
  return "?";
}

std::string_view store_backend_name(StoreBackend b) {
  switch (b) {
    case StoreBackend::kNone:
      return "none";
    case StoreBackend::kSqlite:
      return "sqlite";
    case StoreBackend::kClickHouse:
      return "clickhouse";
  }
  return "?";
}

uint32_t default_retention_days(uint32_t seconds) {
  if (seconds <= 60) return 7;
  if (seconds <= 900) return 30;
  if (seconds <= 3600) return 180;
  return 1826;
}

uint32_t observation_domain_for(const std::string& site_id) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : site_id) h = (h ^ ch) * 16777619u;
  return h == 0 ? 1 : h;
}

// ---------------------------------------------------------------------------------------
// YAML reading helpers

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours each cost 1.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The closest candidate within edit distance 2 (ignoring case), or else a candidate the
// word starts with ("warning" -> "warn"); empty when nothing is close.
std::string suggest(std::string_view word, std::initializer_list<std::string_view> candidates) {
  const std::string w = lower(word);
  std::string best;
  size_t best_d = 3;
  for (std::string_view c : candidates) {
    const size_t d = edit_distance(w, c);
    // At most 2 edits, and fewer than half the word: "foo" is not a typo of "log".
    if (d < best_d && 2 * d < w.size()) {
      best_d = d;
      best = std::string(c);
    }
  }
  if (best.empty()) {
    for (std::string_view c : candidates) {
      if (c.size() >= 3 && w.size() > c.size() && w.compare(0, c.size(), c) == 0) {
        return std::string(c);
      }
    }
  }
  return best;
}

std::string join(std::initializer_list<std::string_view> items) {
  std::string s;
  for (std::string_view i : items) {
    if (!s.empty()) s += ", ";
    s += i;
  }
  return s;
}

std::string quote(const std::string& s) {
  std::string q = "\"";
  const size_t limit = 80;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      q += "\\x";
      q += hex[c >> 4];
      q += hex[c & 15];
    } else {
      q += static_cast<char>(c);
    }
  }
  if (s.size() > limit) q += "...";
  return q + "\"";
}

// How a node reads in an error message: `got "abc"`, `got a list`, ...
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return n.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
      return n.size() == 0 ? "an empty map" : "a map";
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    default:
      return "nothing";
  }
}

int mark_line(const YAML::Node& n) {
  const int l = n.Mark().line;
  return l >= 0 ? l + 1 : 0;
}

// A value with its dotted key path and the line it is reported at. Never assigned to:
// assigning to a bound YAML::Node rewrites the node it refers to.
struct Item {
  Item(const YAML::Node& n, std::string k, int l) : node(n), key(std::move(k)), line(l) {}
  Item(const Item&) = default;
  Item& operator=(const Item&) = delete;

  YAML::Node node;
  std::string key;
  int line = 0;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(int line, const std::string& key, const std::string& msg) const {
    throw ConfigError(file_, line, key, msg);
  }
  [[noreturn]] void fail(const Item& it, const std::string& msg) const {
    fail(it.line, it.key, msg);
  }
  [[noreturn]] void expected(const Item& it, const std::string& what) const {
    fail(it, "expected " + what + ", got " + describe(it.node));
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// A validated YAML map: rejects unknown and duplicate keys up front, then hands out
// the present values by name.
class MapReader {
 public:
  MapReader(const Reader& r, const Item& map, std::initializer_list<std::string_view> allowed)
      : r_(r), map_(map) {
    if (map.node.IsNull()) return;  // an empty section: every key takes its default
    if (!map.node.IsMap()) r.expected(map, "a map with keys " + join(allowed));
    for (auto it = map.node.begin(); it != map.node.end(); ++it) {
      const YAML::Node k = it->first;
      const int kline = mark_line(k);
      if (!k.IsScalar()) r.fail(kline, map.key, "expected a plain key, got " + describe(k));
      const std::string name = k.Scalar();
      const std::string path = child_key(name);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        const std::string s = suggest(name, allowed);
        r.fail(kline, path,
               s.empty() ? "unknown key; allowed keys are " + join(allowed)
                         : "unknown key; did you mean '" + s + "'?");
      }
      if (auto dup = entries_.find(name); dup != entries_.end()) {
        r.fail(kline, path,
               "duplicate key (first given on line " + std::to_string(dup->second.first) + ")");
      }
      // A null value has no position of its own: yaml-cpp marks the next token instead.
      const YAML::Node v = it->second;
      int vline = v.IsNull() ? kline : mark_line(v);
      if (vline == 0) vline = kline;
      entries_.emplace(name, std::make_pair(kline, Item(v, path, vline)));
    }
  }

  const Item* get(std::string_view name) const {
    auto it = entries_.find(std::string(name));
    return it == entries_.end() ? nullptr : &it->second.second;
  }
  // Line of the key itself (the value may start on a later line), or 0 when absent.
  int key_line(std::string_view name) const {
    auto it = entries_.find(std::string(name));
    return it == entries_.end() ? 0 : it->second.first;
  }
  const Item& require(std::string_view name) const {
    const Item* i = get(name);
    if (i == nullptr) r_.fail(map_.line, child_key(name), "required key is missing");
    return *i;
  }
  std::string child_key(std::string_view name) const {
    return map_.key.empty() ? std::string(name) : map_.key + "." + std::string(name);
  }
  int line() const { return map_.line; }

 private:
  const Reader& r_;
  const Item& map_;
  std::map<std::string, std::pair<int, Item>> entries_;  // name -> (key line, value)
};

// The elements of a list, each with its `key[i]` path.
std::vector<Item> list_items(const Reader& r, const Item& list, const std::string& what) {
  std::vector<Item> out;
  if (list.node.IsNull()) return out;
  if (!list.node.IsSequence()) r.expected(list, "a list of " + what);
  size_t i = 0;
  for (auto it = list.node.begin(); it != list.node.end(); ++it, ++i) {
    const YAML::Node n = *it;
    int line = n.IsNull() ? list.line : mark_line(n);
    if (line == 0) line = list.line;
    out.emplace_back(n, list.key + "[" + std::to_string(i) + "]", line);
  }
  return out;
}

// A scalar written without quotes (quoted scalars are strings in YAML).
bool plain_scalar(const YAML::Node& n) {
  return n.IsScalar() && (n.Tag() == "?" || n.Tag() == "tag:yaml.org,2002:int");
}

std::optional<uint64_t> parse_decimal(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || p != s.data() + s.size() || s[0] == '-' || s[0] == '+') {
    return std::nullopt;
  }
  return v;
}

std::string range_text(uint64_t lo, uint64_t hi) {
  return std::to_string(lo) + ".." + std::to_string(hi);
}

std::string quoted_hint(const Item& it) {
  return it.node.IsScalar() && !plain_scalar(it.node) ? " (remove the quotes)" : "";
}

uint64_t get_uint(const Reader& r, const Item& it, uint64_t lo, uint64_t hi) {
  std::optional<uint64_t> v;
  if (plain_scalar(it.node)) v = parse_decimal(it.node.Scalar());
  if (!v || *v < lo || *v > hi) {
    r.fail(it, "expected an integer in " + range_text(lo, hi) + ", got " + describe(it.node) +
                   quoted_hint(it));
  }
  return *v;
}

uint64_t get_pow2(const Reader& r, const Item& it, uint64_t lo, uint64_t hi) {
  std::optional<uint64_t> v;
  if (plain_scalar(it.node)) v = parse_decimal(it.node.Scalar());
  if (!v || *v < lo || *v > hi || (*v & (*v - 1)) != 0) {
    r.fail(it, "expected a power of two in " + range_text(lo, hi) + ", got " + describe(it.node) +
                   quoted_hint(it));
  }
  return *v;
}

uint64_t get_u64_any_base(const Reader& r, const Item& it) {
  std::optional<uint64_t> v;
  if (plain_scalar(it.node)) {
    const std::string& s = it.node.Scalar();
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      if (s.size() <= 18) {
        uint64_t x = 0;
        auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), x, 16);
        if (ec == std::errc() && p == s.data() + s.size()) v = x;
      }
    } else {
      v = parse_decimal(s);
    }
  }
  if (!v) {
    r.fail(it, "expected an unsigned 64-bit integer (decimal or 0x hex), got " + describe(it.node) +
                   quoted_hint(it));
  }
  return *v;
}

double get_double(const Reader& r, const Item& it, double lo, double hi) {
  if (plain_scalar(it.node)) {
    const std::string& s = it.node.Scalar();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && v >= lo && v <= hi) return v;
  }
  r.fail(it, "expected a number in " + std::to_string(lo).substr(0, 3) + ".." +
                 std::to_string(hi).substr(0, 3) + ", got " + describe(it.node) + quoted_hint(it));
}

bool get_bool(const Reader& r, const Item& it) {
  if (plain_scalar(it.node) || (it.node.IsScalar() && it.node.Tag() == "tag:yaml.org,2002:bool")) {
    const std::string& s = it.node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  r.fail(it, "expected true or false, got " + describe(it.node));
}

std::string get_string(const Reader& r, const Item& it, const std::string& what = "a string") {
  if (!it.node.IsScalar()) r.expected(it, what);
  return it.node.Scalar();
}

std::string get_path(const Reader& r, const Item& it) {
  std::string s = get_string(r, it, "a file or directory path");
  if (s.empty()) r.expected(it, "a non-empty path");
  if (s.find('\0') != std::string::npos) r.expected(it, "a path without NUL characters");
  return s;
}

// One of a fixed set of words; returns its index.
size_t get_enum(const Reader& r, const Item& it, std::initializer_list<std::string_view> words) {
  if (it.node.IsScalar()) {
    const std::string& s = it.node.Scalar();
    size_t i = 0;
    for (std::string_view w : words) {
      if (s == w) return i;
      ++i;
    }
    std::string msg = "expected one of " + join(words) + ", got " + describe(it.node);
    const std::string sug = suggest(s, words);
    if (!sug.empty()) msg += "; did you mean '" + sug + "'?";
    r.fail(it, msg);
  }
  r.expected(it, "one of " + join(words));
}

bool name_chars_ok(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "0000:3b:00.0" or "3b:00.0" (domain 0000 implied). Returns the canonical lower-case
// form with the domain, as DPDK names the device, or empty when `s` is not a PCI address.
std::string canonical_pci(std::string s) {
  if (s.size() == 7) s = "0000:" + s;
  if (s.size() != 12) return {};
  static constexpr std::string_view shape = "hhhh:hh:hh.f";
  for (size_t i = 0; i < shape.size(); ++i) {
    const char c = s[i];
    switch (shape[i]) {
      case 'h':
        if (!is_hex(c)) return {};
        break;
      case 'f':
        if (c < '0' || c > '7') return {};
        break;
      default:
        if (c != shape[i]) return {};
    }
  }
  return lower(s);
}

// Number of RX queues a net_pcap vdev spec creates: one per rx_pcap / rx_iface /
// rx_iface_in / iface argument.
size_t pcap_rx_queue_args(const std::string& device) {
  size_t n = 0;
  size_t pos = device.find(',');
  while (pos != std::string::npos) {
    const size_t next = device.find(',', pos + 1);
    const std::string arg =
        device.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    const std::string k = arg.substr(0, arg.find('='));
    if (k == "rx_pcap" || k == "rx_iface" || k == "rx_iface_in" || k == "iface") ++n;
    pos = next;
  }
  return n;
}

// Where a port's name and device were given, for duplicate errors.
struct PortLines {
  int name = 0;
  int device = 0;
};

PortConfig parse_port(const Reader& r, const Item& item, PortLines& lines) {
  if (!item.node.IsMap()) {
    r.expected(item,
               "a map with keys name, device, rx_queues, rx_descriptors, promiscuous, "
               "xdp_sample_rate, xdp_unsampled");
  }
  MapReader m(r, item, {"name", "device", "rx_queues", "rx_descriptors", "promiscuous",
                        "xdp_sample_rate", "xdp_unsampled"});
  PortConfig p;
  p.line = item.line;

  const Item& name = m.require("name");
  lines.name = name.line;
  p.name = get_string(r, name);
  if (!name_chars_ok(p.name)) r.expected(name, "1..64 characters from [A-Za-z0-9_.-]");

  const Item& dev = m.require("device");
  lines.device = dev.line;
  p.device = get_string(r, dev);
  if (p.is_vdev()) {
    const std::string n = p.dpdk_name();
    const bool ok = n.size() > 4 && std::all_of(n.begin() + 4, n.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_';
                    });
    if (!ok) {
      r.expected(dev, "a DPDK vdev spec such as \"net_pcap0,rx_pcap=file.pcap\"");
    }
  } else {
    const std::string pci = canonical_pci(p.dpdk_name());
    if (pci.empty()) {
      r.expected(dev,
                 "a PCI address such as \"0000:3b:00.0\" or a DPDK vdev spec starting with "
                 "\"net_\"");
    }
    // DPDK names PCI ethdevs in this form; keep any device arguments after the comma.
    const size_t comma = p.device.find(',');
    p.device = pci + (comma == std::string::npos ? "" : p.device.substr(comma));
  }

  if (const Item* i = m.get("rx_queues"))
    p.rx_queues = static_cast<uint16_t>(get_uint(r, *i, 1, 128));
  if (const Item* i = m.get("rx_descriptors")) {
    p.rx_descriptors = static_cast<uint16_t>(get_pow2(r, *i, 64, 16384));
  }
  if (const Item* i = m.get("promiscuous")) p.promiscuous = get_bool(r, *i);

  // XDP sampler (dataplane/xdp/): only on net_af_xdp devices that load it with xdp_prog=.
  if (const Item* i = m.get("xdp_sample_rate")) {
    p.xdp_sample_rate = static_cast<uint32_t>(get_uint(r, *i, 1, 1u << 30));
    if (p.dpdk_name().rfind("net_af_xdp", 0) != 0 || p.device.find(",iface=") == std::string::npos ||
        p.device.find(",xdp_prog=") == std::string::npos) {
      r.fail(i->line, m.child_key("xdp_sample_rate"),
             "needs a net_af_xdp device with iface= and xdp_prog=<xdp_sampler.bpf.o>, got \"" +
                 p.device + "\"");
    }
  }
  if (const Item* i = m.get("xdp_unsampled")) {
    const std::string v = get_string(r, *i);
    if (v != "drop" && v != "pass") r.expected(*i, "drop or pass");
    if (p.xdp_sample_rate == 0) {
      r.fail(i->line, m.child_key("xdp_unsampled"), "needs xdp_sample_rate");
    }
    p.xdp_drop_unsampled = v == "drop";
  }

  if (p.dpdk_name().rfind("net_pcap", 0) == 0) {
    const size_t n = pcap_rx_queue_args(p.device);
    if (n != p.rx_queues) {
      const Item* q = m.get("rx_queues");
      r.fail(q ? q->line : item.line, m.child_key("rx_queues"),
             "net_pcap device \"" + p.dpdk_name() + "\" has " + std::to_string(n) +
                 " rx_pcap/rx_iface arguments (one per RX queue) but rx_queues is " +
                 std::to_string(p.rx_queues));
    }
  }
  return p;
}

void parse_flowtree(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i,
              {"feature_sets", "node_budget", "port_node_budget", "insert_probability",
               "protocol_key", "flow_table_size", "rollups", "persist"});
  FlowtreeSettings& f = c.flowtree;
  if (const Item* v = s.get("feature_sets")) {
    f.feature_sets.clear();
    for (const Item& e : list_items(r, *v, "feature sets such as SI, DP, FULL")) {
      const std::string name = get_string(r, e, "a feature set name");
      auto fs = flowtree::parse_feature_set(name);
      if (!fs) {
        r.fail(e, "unknown feature set \"" + name +
                      "\"; expected SI, DI, SP, DP, SIDI, SPDP, SISP, SIDP, DISP, DIDP or FULL");
      }
      if (std::find(f.feature_sets.begin(), f.feature_sets.end(), *fs) != f.feature_sets.end()) {
        r.fail(e, "feature set " + name + " is listed twice");
      }
      f.feature_sets.push_back(*fs);
    }
  }
  if (const Item* v = s.get("node_budget"))
    f.node_budget = static_cast<uint32_t>(get_uint(r, *v, 64, 10'000'000));
  if (const Item* v = s.get("port_node_budget"))
    f.port_node_budget = static_cast<uint32_t>(get_uint(r, *v, 64, 10'000'000));
  if (const Item* v = s.get("insert_probability")) f.insert_probability = get_double(r, *v, 0.0, 1.0);
  if (const Item* v = s.get("protocol_key")) f.protocol_key = get_bool(r, *v);
  if (const Item* v = s.get("flow_table_size"))
    f.flow_table_size = static_cast<uint32_t>(get_uint(r, *v, 0, 1u << 28));
  if (const Item* v = s.get("persist")) f.persist = get_bool(r, *v);
  if (const Item* v = s.get("rollups")) {
    f.rollup_seconds.clear();
    for (const Item& e : list_items(r, *v, "roll-up lengths in seconds")) {
      const uint32_t sec = static_cast<uint32_t>(get_uint(r, e, 60, 7 * 86400));
      const uint32_t prev = f.rollup_seconds.empty() ? c.bin_seconds : f.rollup_seconds.back();
      if (sec <= prev || sec % prev != 0) {
        r.fail(e, "roll-up of " + std::to_string(sec) + " s must be a multiple of, and longer "
                  "than, the previous level (" + std::to_string(prev) + " s)");
      }
      f.rollup_seconds.push_back(sec);
    }
  } else {
    // Default 15 min, 1 h, 1 d: keep the levels longer than (and multiples of) the bin.
    std::vector<uint32_t> keep;
    for (uint32_t sec : f.rollup_seconds) {
      uint32_t prev = keep.empty() ? c.bin_seconds : keep.back();
      if (sec > prev && sec % prev == 0) keep.push_back(sec);
    }
    f.rollup_seconds = keep;
  }
}

void parse_ddos(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"enabled", "ports", "threshold_packets"});
  if (const Item* v = s.get("enabled")) c.ddos.enabled = get_bool(r, *v);
  if (const Item* v = s.get("ports")) {
    c.ddos.ports.clear();
    for (const Item& e : list_items(r, *v, "UDP/TCP port numbers")) {
      c.ddos.ports.push_back(static_cast<uint16_t>(get_uint(r, e, 0, 65535)));
    }
  }
  if (const Item* v = s.get("threshold_packets"))
    c.ddos.threshold_packets = get_uint(r, *v, 1, uint64_t{1} << 62);
}

void parse_iot(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"hitlist", "lines_per_worker", "policy", "fraction", "require_primary",
                     "scanner_max_backend_ips", "active_min_packets",
                     "scan_alert_min_destinations", "pseudonymize", "outage_alert",
                     "outage_drop_percent", "outage_min_lines"});
  IotConfig& o = c.iot;
  if (const Item* v = s.get("hitlist")) o.hitlist = get_path(r, *v);
  if (const Item* v = s.get("lines_per_worker"))
    o.lines_per_worker = static_cast<uint32_t>(get_uint(r, *v, 16, 1u << 24));
  if (const Item* v = s.get("policy")) {
    o.detection.policy = get_enum(r, *v, {"fraction", "guo-heidemann"}) == 0
                             ? detection::ThresholdPolicy::kFraction
                             : detection::ThresholdPolicy::kGuoHeidemann;
  }
  if (const Item* v = s.get("fraction")) {
    o.detection.fraction_d = get_double(r, *v, 0.0, 1.0);
    if (o.detection.fraction_d <= 0.0) r.fail(*v, "expected a number in (0, 1], got 0");
  }
  if (const Item* v = s.get("require_primary")) o.detection.require_primary = get_bool(r, *v);
  // The workers keep up to 128 server IPs and 32 scan targets per line and bin, so these
  // thresholds must stay below those bounds for every decision to be exact.
  if (const Item* v = s.get("scanner_max_backend_ips"))
    o.detection.scanner_max_backend_ips = get_uint(r, *v, 1, 127);
  if (const Item* v = s.get("active_min_packets"))
    o.detection.active_min_packets = get_uint(r, *v, 1, uint64_t{1} << 40);
  if (const Item* v = s.get("scan_alert_min_destinations"))
    o.detection.scan_alert_min_destinations = get_uint(r, *v, 1, 31);
  if (const Item* v = s.get("pseudonymize")) o.pseudonymize = get_bool(r, *v);
  if (const Item* v = s.get("outage_alert")) o.outage.enabled = get_bool(r, *v);
  if (const Item* v = s.get("outage_drop_percent")) {
    o.outage.drop_percent = get_double(r, *v, 0.0, 100.0);
    if (o.outage.drop_percent <= 0.0) r.fail(*v, "expected a percentage in (0, 100], got 0");
  }
  if (const Item* v = s.get("outage_min_lines"))
    o.outage.min_lines = get_uint(r, *v, 1, uint64_t{1} << 40);
  if (!o.hitlist.empty() && 3600 % c.bin_seconds != 0) {
    r.fail(i.line, "iot", "IoT detection needs bins that divide an hour (bins.seconds is " +
                              std::to_string(c.bin_seconds) + ")");
  }
}

void parse_eui64(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"enabled", "entries_per_worker", "oui_files", "iot_manufacturers"});
  Eui64Config& e = c.eui64;
  e.line = i.line;
  if (const Item* v = s.get("enabled")) e.enabled = get_bool(r, *v);
  if (const Item* v = s.get("entries_per_worker"))
    e.entries_per_worker = static_cast<uint32_t>(get_uint(r, *v, 16, 1u << 24));
  if (const Item* v = s.get("oui_files")) {
    e.oui_files.clear();
    for (const Item& f : list_items(r, *v, "registry CSV file paths")) e.oui_files.push_back(get_path(r, f));
  }
  if (const Item* v = s.get("iot_manufacturers")) {
    e.iot_manufacturers.clear();
    for (const Item& f : list_items(r, *v, "organisation-name substrings"))
      e.iot_manufacturers.push_back(get_string(r, f));
  }
}

void parse_learning(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"enabled", "every_packet", "dns", "sni", "backend_patterns",
                     "digit_wildcards", "psl", "ring_size", "max_bindings", "add_to_hitlist"});
  LearningConfig& l = c.learning;
  l.line = i.line;
  if (const Item* v = s.get("enabled")) l.enabled = get_bool(r, *v);
  if (const Item* v = s.get("every_packet")) l.every_packet = get_bool(r, *v);
  if (const Item* v = s.get("dns")) l.dns = get_bool(r, *v);
  if (const Item* v = s.get("sni")) l.sni = get_bool(r, *v);
  if (const Item* v = s.get("backend_patterns")) l.backend_patterns = get_path(r, *v);
  if (const Item* v = s.get("digit_wildcards")) l.digit_wildcards = get_bool(r, *v);
  if (const Item* v = s.get("psl")) l.psl = get_path(r, *v);
  if (const Item* v = s.get("ring_size"))
    l.ring_size = static_cast<uint32_t>(get_uint(r, *v, 64, 1u << 20));
  if (const Item* v = s.get("max_bindings"))
    l.max_bindings = static_cast<uint32_t>(get_uint(r, *v, 1, 1u << 26));
  if (const Item* v = s.get("add_to_hitlist")) l.add_to_hitlist = get_bool(r, *v);
}

void parse_telemetry(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"prometheus", "prometheus_listen", "dpdk_commands"});
  TelemetryConfig& t = c.telemetry;
  if (const Item* v = s.get("prometheus")) t.prometheus = get_bool(r, *v);
  if (const Item* v = s.get("prometheus_listen")) {
    std::string a = get_string(r, *v, "an IPv4 address and port, e.g. 127.0.0.1:9109");
    size_t colon = a.rfind(':');
    in_addr addr{};
    unsigned long port = 0;
    bool ok = colon != std::string::npos && colon + 1 < a.size() && a.size() - colon <= 6 &&
              inet_pton(AF_INET, a.substr(0, colon).c_str(), &addr) == 1 &&
              a.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
              (port = std::stoul(a.substr(colon + 1))) <= 65535;
    if (!ok) r.fail(*v, "expected an IPv4 address and port, e.g. 127.0.0.1:9109, got '" + a + "'");
    t.prometheus_host = a.substr(0, colon);
    t.prometheus_port = static_cast<uint16_t>(port);
  }
  if (const Item* v = s.get("dpdk_commands")) t.dpdk_commands = get_bool(r, *v);
}

// "host:port" or "[v6]:port"; the host is resolved when the exporter connects.
void parse_collector(const Reader& r, const Item& v, IpfixConfig& x) {
  const std::string a = get_string(r, v, "host:port, e.g. 192.0.2.10:4739");
  const size_t colon = a.rfind(':');
  std::string host = colon == std::string::npos ? "" : a.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = colon == std::string::npos ? "" : a.substr(colon + 1);
  const std::optional<uint64_t> pn = parse_decimal(port);
  const bool host_ok = !host.empty() && host.size() <= 253 &&
                       host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789.-:") == std::string::npos;
  if (!host_ok || !pn || *pn < 1 || *pn > 65535) {
    r.fail(v, "expected host:port (IPv6 as [addr]:port, port 1..65535), got '" + a + "'");
  }
  x.host = host;
  x.port = static_cast<uint16_t>(*pn);
}

void parse_ipfix(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i,
              {"enabled", "collector", "transport", "mtu", "observation_domain", "feature_sets",
               "granularities", "detections", "eui64", "template_refresh", "options_refresh",
               "queue_records", "reconnect_max"});
  IpfixConfig& x = c.ipfix;
  if (const Item* v = s.get("enabled")) x.enabled = get_bool(r, *v);
  // Given lists replace the defaults; an empty feature_sets list exports no trees.
  if (s.get("feature_sets")) x.feature_sets = {};
  if (s.get("granularities")) x.granularities = {};
  if (const Item* v = s.get("collector")) parse_collector(r, *v, x);
  if (const Item* v = s.get("transport")) x.tcp = get_enum(r, *v, {"udp", "tcp"}) == 1;
  if (const Item* v = s.get("mtu")) x.mtu = static_cast<uint32_t>(get_uint(r, *v, 576, 65535));
  if (const Item* v = s.get("observation_domain"))
    x.observation_domain = static_cast<uint32_t>(get_uint(r, *v, 1, 0xffffffffu));
  if (const Item* v = s.get("feature_sets")) {
    for (const Item& e : list_items(r, *v, "feature sets such as SI, DP, FULL")) {
      const std::string name = get_string(r, e, "a feature set name");
      auto fs = flowtree::parse_feature_set(name);
      const auto& have = c.flowtree.feature_sets;
      if (!fs || std::find(have.begin(), have.end(), *fs) == have.end()) {
        r.fail(e, "feature set \"" + name + "\" is not one of flowtree.feature_sets");
      }
      if (std::find(x.feature_sets.begin(), x.feature_sets.end(), *fs) != x.feature_sets.end()) {
        r.fail(e, "feature set " + name + " is listed twice");
      }
      x.feature_sets.push_back(*fs);
    }
  }
  if (const Item* v = s.get("granularities")) {
    for (const Item& e : list_items(r, *v, "bin or roll-up lengths in seconds")) {
      const uint32_t sec = static_cast<uint32_t>(get_uint(r, e, 1, 7 * 86400));
      const auto& ru = c.flowtree.rollup_seconds;
      if (sec != c.bin_seconds && std::find(ru.begin(), ru.end(), sec) == ru.end()) {
        std::string have = std::to_string(c.bin_seconds);
        for (uint32_t x2 : ru) have += ", " + std::to_string(x2);
        r.fail(e, std::to_string(sec) + " s is neither the bin length nor a roll-up (have " +
                      have + ")");
      }
      if (std::find(x.granularities.begin(), x.granularities.end(), sec) != x.granularities.end())
        r.fail(e, std::to_string(sec) + " s is listed twice");
      x.granularities.push_back(sec);
    }
  }
  if (const Item* v = s.get("detections")) x.detections = get_bool(r, *v);
  if (const Item* v = s.get("eui64")) x.eui64 = get_bool(r, *v);
  if (const Item* v = s.get("template_refresh"))
    x.template_refresh_seconds = static_cast<uint32_t>(get_uint(r, *v, 1, 86400));
  if (const Item* v = s.get("options_refresh"))
    x.options_refresh_seconds = static_cast<uint32_t>(get_uint(r, *v, 1, 86400));
  if (const Item* v = s.get("queue_records"))
    x.queue_records = static_cast<uint32_t>(get_uint(r, *v, 1024, 1u << 26));
  if (const Item* v = s.get("reconnect_max"))
    x.reconnect_max_seconds = static_cast<uint32_t>(get_uint(r, *v, 1, 3600));
}

// store.clickhouse (docs/clickhouse.md).
void parse_clickhouse_store(const Reader& r, const Item& i, ClickHouseStoreConfig& ch) {
  MapReader s(r, i,
              {"url", "database", "user", "password_file", "batch_rows", "flush_ms",
               "queue_rows", "queue_bytes", "retry_max_seconds", "retry_backoff_max_ms",
               "timeout_ms", "flush_timeout_ms", "create_tables"});
  if (const Item* v = s.get("url")) {
    ch.url = get_string(r, *v, "an http:// URL such as http://127.0.0.1:8123");
    const bool scheme = ch.url.rfind("http://", 0) == 0 || ch.url.rfind("https://", 0) == 0;
    const size_t host = ch.url.find("://") + 3;
    if (!scheme || ch.url.size() <= host ||
        ch.url.find_first_of(" \t\r\n?#") != std::string::npos) {
      r.fail(*v, "expected an http:// or https:// URL without query, e.g. "
                 "http://127.0.0.1:8123, got '" + ch.url + "'");
    }
  }
  if (const Item* v = s.get("database")) {
    ch.database = get_string(r, *v, "a database name");
    const bool ok = !ch.database.empty() && ch.database.size() <= 64 &&
                    (ch.database[0] < '0' || ch.database[0] > '9') &&
                    std::all_of(ch.database.begin(), ch.database.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_';
                    });
    if (!ok) r.expected(*v, "1..64 characters from [A-Za-z0-9_], not starting with a digit");
  }
  if (const Item* v = s.get("user")) ch.user = get_string(r, *v, "a user name");
  if (const Item* v = s.get("password_file")) ch.password_file = get_path(r, *v);
  if (const Item* v = s.get("batch_rows"))
    ch.batch_rows = static_cast<uint32_t>(get_uint(r, *v, 1, 1000000));
  if (const Item* v = s.get("flush_ms"))
    ch.flush_ms = static_cast<uint32_t>(get_uint(r, *v, 1, 3600000));
  if (const Item* v = s.get("queue_rows"))
    ch.queue_rows = static_cast<uint32_t>(get_uint(r, *v, 1, 100000000));
  if (const Item* v = s.get("queue_bytes")) ch.queue_bytes = get_uint(r, *v, 4096, 64ULL << 30);
  if (const Item* v = s.get("retry_max_seconds"))
    ch.retry_max_seconds = static_cast<uint32_t>(get_uint(r, *v, 0, 7 * 86400));
  if (const Item* v = s.get("retry_backoff_max_ms"))
    ch.retry_backoff_max_ms = static_cast<uint32_t>(get_uint(r, *v, 100, 3600000));
  if (const Item* v = s.get("timeout_ms"))
    ch.timeout_ms = static_cast<uint32_t>(get_uint(r, *v, 100, 3600000));
  if (const Item* v = s.get("flush_timeout_ms"))
    ch.flush_timeout_ms = static_cast<uint32_t>(get_uint(r, *v, 0, 3600000));
  if (const Item* v = s.get("create_tables")) ch.create_tables = get_bool(r, *v);
  if (ch.batch_rows > ch.queue_rows) {
    const Item* v = s.get("batch_rows");
    r.fail(v ? v->line : i.line, s.child_key("batch_rows"),
           "batch_rows (" + std::to_string(ch.batch_rows) + ") exceeds queue_rows (" +
               std::to_string(ch.queue_rows) + ")");
  }
}

// "1m", "15m", "1h", "1d", "1w" (TreeStore::granularity_label) of the bin length or a
// roll-up -> seconds; fails naming the labels that exist.
uint32_t granularity_key(const Reader& r, const Item& at, const std::string& label,
                         const Config& c) {
  std::vector<uint32_t> all{c.bin_seconds};
  all.insert(all.end(), c.flowtree.rollup_seconds.begin(), c.flowtree.rollup_seconds.end());
  std::string have;
  for (uint32_t s : all) {
    if (TreeStore::granularity_label(s) == label) return s;
    have += (have.empty() ? "" : ", ") + TreeStore::granularity_label(s);
  }
  r.fail(at, "\"" + label + "\" is neither the bin length nor a roll-up (have " + have + ")");
}

// store: which backend keeps trees, detections and alerts (docs/storage.md).
void parse_store(const Reader& r, const Item& i, Config& c) {
  MapReader s(r, i, {"backend", "sqlite", "clickhouse"});
  c.store.line = i.line;
  if (const Item* v = s.get("backend")) {
    static constexpr StoreBackend kBackends[] = {StoreBackend::kSqlite, StoreBackend::kClickHouse,
                                                 StoreBackend::kNone};
    c.store.backend = kBackends[get_enum(r, *v, {"sqlite", "clickhouse", "none"})];
  }
  if (const Item* v = s.get("clickhouse")) parse_clickhouse_store(r, *v, c.store.clickhouse);
  SqliteStoreConfig& q = c.store.sqlite;
  if (const Item* v = s.get("sqlite")) {
    MapReader m(r, *v,
                {"path", "synchronous", "retention", "event_retention_days", "max_bytes",
                 "retention_interval"});
    if (const Item* x = m.get("path")) q.path = get_path(r, *x);
    if (const Item* x = m.get("synchronous"))
      q.synchronous_full = get_enum(r, *x, {"normal", "full"}) == 1;
    if (const Item* x = m.get("retention")) {
      if (!x->node.IsMap()) r.expected(*x, "a map of granularity (1m, 15m, 1h, 1d, 1w) to days");
      for (auto it = x->node.begin(); it != x->node.end(); ++it) {
        const std::string label = it->first.Scalar();
        const Item day(it->second, x->key + "." + label,
                       mark_line(it->second) ? mark_line(it->second) : mark_line(it->first));
        const uint32_t sec = granularity_key(r, day, label, c);
        if (q.retention_days.count(sec)) r.fail(day, "granularity given twice");
        q.retention_days[sec] = static_cast<uint32_t>(get_uint(r, day, 0, 36600));
      }
    }
    if (const Item* x = m.get("event_retention_days"))
      q.event_retention_days = static_cast<uint32_t>(get_uint(r, *x, 0, 36600));
    if (const Item* x = m.get("max_bytes")) q.max_bytes = get_uint(r, *x, 0, uint64_t{1} << 50);
    if (const Item* x = m.get("retention_interval"))
      q.retention_interval_seconds = static_cast<uint32_t>(get_uint(r, *x, 1, 86400));
  }
}

Config parse_root(const Reader& r, const YAML::Node& doc) {
  const Item root(doc, "", 0);
  if (!doc.IsNull() && !doc.IsMap()) {
    r.expected(Item(doc, "", mark_line(doc)), "a map of settings at the top level");
  }
  MapReader m(r, root,
              {"site_id", "mode", "subscriber_prefixes", "subscriber_prefix_length", "ports",
               "workers", "mempool", "burst_size", "rings", "sampling", "bins", "clock",
               "state_dir", "alert_file", "log", "flowtree", "ddos", "iot", "telemetry",
               "eui64", "ipfix", "control", "store", "learning"});
  Config c;

  if (const Item* i = m.get("site_id")) {
    c.site_id = get_string(r, *i);
    if (!name_chars_ok(c.site_id)) r.expected(*i, "1..64 characters from [A-Za-z0-9_.-]");
  }
  if (const Item* i = m.get("mode")) {
    c.mode = get_enum(r, *i, {"isp", "ixp"}) == 0 ? Mode::kIsp : Mode::kIxp;
  }

  const Item* prefixes = m.get("subscriber_prefixes");
  if (prefixes != nullptr) {
    std::map<std::string, std::string> seen;  // canonical prefix -> key of first entry
    for (const Item& e : list_items(r, *prefixes, "prefixes such as 192.0.2.0/24")) {
      const std::string text = get_string(r, e, "a prefix such as 192.0.2.0/24");
      Prefix p;
      std::string why;
      if (!parse_prefix(text, p, why)) r.fail(e, why);
      auto [it, fresh] = seen.emplace(p.str(), e.key);
      if (!fresh) r.fail(e, "duplicate prefix " + p.str() + " (also " + it->second + ")");
      c.subscriber_prefixes.push_back(p);
    }
  }

  if (const Item* i = m.get("subscriber_prefix_length")) {
    MapReader s(r, *i, {"ipv4", "ipv6"});
    if (const Item* v = s.get("ipv4"))
      c.subscriber_ipv4_len = static_cast<uint8_t>(get_uint(r, *v, 1, 32));
    if (const Item* v = s.get("ipv6"))
      c.subscriber_ipv6_len = static_cast<uint8_t>(get_uint(r, *v, 1, 128));
  }

  // Ports.
  const Item& ports = m.require("ports");
  const std::vector<Item> port_items = list_items(r, ports, "ports");
  if (port_items.empty()) r.expected(ports, "a non-empty list of ports");
  for (size_t i = 0; i < port_items.size(); ++i) {
    PortLines lines;
    PortConfig p = parse_port(r, port_items[i], lines);
    const std::string key = port_items[i].key;
    for (const PortConfig& q : c.ports) {
      if (q.name == p.name) {
        r.fail(lines.name, key + ".name",
               "duplicate port name \"" + p.name + "\" (port defined on line " +
                   std::to_string(q.line) + ")");
      }
      // Device arguments do not make a second device: DPDK knows one ethdev per name.
      if (q.dpdk_name() == p.dpdk_name()) {
        r.fail(lines.device, key + ".device",
               "device \"" + p.dpdk_name() + "\" is already used by port \"" + q.name +
                   "\" (line " + std::to_string(q.line) + ")");
      }
    }
    c.ports.push_back(std::move(p));
  }

  if (const Item* i = m.get("workers")) {
    c.workers_line = m.key_line("workers");
    std::map<uint32_t, std::string> seen;
    for (const Item& e : list_items(r, *i, "lcore ids")) {
      const uint32_t id = static_cast<uint32_t>(get_uint(r, e, 0, 1023));
      auto [it, fresh] = seen.emplace(id, e.key);
      if (!fresh)
        r.fail(e, "lcore " + std::to_string(id) + " is listed twice (also " + it->second + ")");
      c.workers.push_back(id);
    }
  }

  int mbufs_line = 0;  // where mempool.mbufs was given; 0 when defaulted
  if (const Item* i = m.get("mempool")) {
    MapReader s(r, *i, {"mbufs", "cache", "data_room"});
    if (const Item* v = s.get("mbufs")) {
      c.mempool_mbufs = static_cast<uint32_t>(get_uint(r, *v, 1023, 16777215));
      mbufs_line = v->line;
    }
    if (const Item* v = s.get("cache"))
      c.mempool_cache = static_cast<uint32_t>(get_uint(r, *v, 0, 512));
    if (const Item* v = s.get("data_room"))
      c.mbuf_data_room = static_cast<uint32_t>(get_uint(r, *v, 1024, 65535));
  }
  // Each port's RX rings are filled from its mempool when the port starts.
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& p = c.ports[i];
    const uint64_t need = uint64_t{p.rx_queues} * p.rx_descriptors;
    if (c.mempool_mbufs > need) continue;
    const std::string msg =
        std::to_string(c.mempool_mbufs) + " mbufs" + (mbufs_line != 0 ? "" : " (the default)") +
        " cannot fill the RX rings of port \"" + p.name + "\" (rx_queues " +
        std::to_string(p.rx_queues) + " x rx_descriptors " + std::to_string(p.rx_descriptors) +
        " = " + std::to_string(need) + "); set mempool.mbufs above " + std::to_string(need);
    if (mbufs_line != 0) r.fail(mbufs_line, "mempool.mbufs", msg);
    r.fail(p.line, port_items[i].key, msg);
  }

  if (const Item* i = m.get("burst_size"))
    c.burst_size = static_cast<uint32_t>(get_uint(r, *i, 1, 512));

  if (const Item* i = m.get("rings")) {
    MapReader s(r, *i, {"bin_ring_size", "bin_records"});
    if (const Item* v = s.get("bin_ring_size"))
      c.bin_ring_size = static_cast<uint32_t>(get_pow2(r, *v, 2, 65536));
    const Item* rec = s.get("bin_records");
    if (rec != nullptr) c.bin_records = static_cast<uint32_t>(get_uint(r, *rec, 2, 1024));
    if (c.bin_records >= c.bin_ring_size) {
      const Item* v = rec ? rec : s.get("bin_ring_size");
      r.fail(v ? v->line : i->line, "rings.bin_records",
             "bin_records (" + std::to_string(c.bin_records) +
                 ") must be less than bin_ring_size (" + std::to_string(c.bin_ring_size) +
                 "): a ring of size N holds N-1 entries");
    }
  }

  if (const Item* i = m.get("sampling")) {
    MapReader s(r, *i, {"method", "flow_rate", "iot_rate", "hash_seed"});
    if (const Item* v = s.get("method")) {
      c.sampling.method =
          get_enum(r, *v, {"count", "hash"}) == 0 ? SampleMethod::kCount : SampleMethod::kHash;
    }
    if (const Item* v = s.get("flow_rate"))
      c.sampling.flow_rate = static_cast<uint32_t>(get_uint(r, *v, 1, 16777216));
    if (const Item* v = s.get("iot_rate"))
      c.sampling.iot_rate = static_cast<uint32_t>(get_uint(r, *v, 1, 16777216));
    if (const Item* v = s.get("hash_seed")) c.sampling.hash_seed = get_u64_any_base(r, *v);
  }

  if (const Item* i = m.get("bins")) {
    MapReader s(r, *i, {"seconds"});
    if (const Item* v = s.get("seconds")) {
      std::optional<uint64_t> n;
      if (plain_scalar(v->node)) n = parse_decimal(v->node.Scalar());
      if (!n || *n < 1 || *n > 86400 || 86400 % *n != 0) {
        r.fail(*v,
               "expected an integer in 1..86400 that divides 86400 (bins must tile a day), got " +
                   describe(v->node) + quoted_hint(*v));
      }
      c.bin_seconds = static_cast<uint32_t>(*n);
    }
  }

  if (const Item* i = m.get("clock")) {
    static constexpr ClockSource kClocks[] = {ClockSource::kAuto, ClockSource::kPacket,
                                              ClockSource::kWall};
    c.clock = kClocks[get_enum(r, *i, {"auto", "packet", "wall"})];
  }
  if (const Item* i = m.get("state_dir")) c.state_dir = get_path(r, *i);
  if (const Item* i = m.get("alert_file")) c.alert_file = get_path(r, *i);
  if (c.alert_file.empty()) {
    c.alert_file = c.state_dir + (c.state_dir.back() == '/' ? "" : "/") + "alerts.jsonl";
  }

  if (const Item* i = m.get("log")) {
    MapReader s(r, *i, {"level", "format", "file", "max_file_mb", "max_files", "repeat_limit"});
    if (const Item* v = s.get("level")) {
      static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
      c.log.level = std::string(
          kLevels[get_enum(r, *v, {"trace", "debug", "info", "warn", "error", "critical", "off"})]);
    }
    if (const Item* v = s.get("format")) {
      c.log.format = get_enum(r, *v, {"text", "json"}) == 0 ? LogFormat::kText : LogFormat::kJson;
    }
    if (const Item* v = s.get("file")) c.log.file = get_path(r, *v);
    if (const Item* v = s.get("max_file_mb"))
      c.log.max_file_mb = static_cast<uint32_t>(get_uint(r, *v, 1, 4096));
    if (const Item* v = s.get("max_files"))
      c.log.max_files = static_cast<uint32_t>(get_uint(r, *v, 1, 100));
    if (const Item* v = s.get("repeat_limit"))
      c.log.repeat_limit = static_cast<uint32_t>(get_uint(r, *v, 0, 1000000));
  }

  if (const Item* i = m.get("control")) {
    MapReader s(r, *i, {"socket", "max_clients"});
    if (const Item* v = s.get("socket")) {
      c.control.socket = get_path(r, *v);
      // sockaddr_un holds 107 bytes plus the terminator.
      if (c.control.socket.size() > 107) r.fail(*v, "a Unix socket path has at most 107 bytes");
    }
    if (const Item* v = s.get("max_clients"))
      c.control.max_clients = static_cast<uint32_t>(get_uint(r, *v, 1, 1024));
  }
  if (c.control.socket.empty()) {
    c.control.socket =
        c.state_dir + (c.state_dir.back() == '/' ? "" : "/") + "haystackd.sock";
  }

  if (const Item* i = m.get("flowtree")) parse_flowtree(r, *i, c);
  if (const Item* i = m.get("ddos")) parse_ddos(r, *i, c);
  if (const Item* i = m.get("iot")) parse_iot(r, *i, c);
  if (const Item* i = m.get("telemetry")) parse_telemetry(r, *i, c);
  if (const Item* i = m.get("eui64")) parse_eui64(r, *i, c);
  if (const Item* i = m.get("learning")) parse_learning(r, *i, c);
  c.ipfix.feature_sets = c.flowtree.feature_sets;
  c.ipfix.granularities = {c.bin_seconds};
  if (const Item* i = m.get("ipfix")) parse_ipfix(r, *i, c);
  if (c.ipfix.observation_domain == 0) c.ipfix.observation_domain = observation_domain_for(c.site_id);
  if (const Item* i = m.get("store")) parse_store(r, *i, c);
  if (c.store.sqlite.path.empty()) {
    c.store.sqlite.path =
        c.state_dir + (c.state_dir.back() == '/' ? "" : "/") + "haystack.sqlite";
  }
  c.store.sqlite.retention_days.try_emplace(c.bin_seconds, default_retention_days(c.bin_seconds));
  for (uint32_t sec : c.flowtree.rollup_seconds)
    c.store.sqlite.retention_days.try_emplace(sec, default_retention_days(sec));

  // Checks across sections.
  if (c.mode == Mode::kIsp && c.subscriber_prefixes.empty()) {
    const Item* mode = m.get("mode");
    const int line = prefixes ? prefixes->line : mode ? mode->line : 0;
    r.fail(line, "subscriber_prefixes",
           "mode isp needs subscriber_prefixes (the address ranges of subscriber lines)");
  }
  return c;
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& name) {
  const Reader r(name);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml_text);
  } catch (const YAML::ParserException& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    std::string msg = "invalid YAML: " + e.msg;
    if (e.mark.column >= 0) msg += " (column " + std::to_string(e.mark.column + 1) + ")";
    throw ConfigError(name, line, "", msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(name, 0, "", std::string("invalid YAML: ") + e.what());
  }
  if (docs.size() > 1) {
    r.fail(mark_line(docs[1]), "",
           "expected one YAML document, found " + std::to_string(docs.size()) +
               " (remove the '---' separator)");
  }
  Config c = parse_root(r, docs.empty() ? YAML::Node() : docs[0]);
  c.source_file = name;
  return c;
}

Config load_config(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw ConfigError(path, 0, "",
                      std::string("cannot open configuration file: ") + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw ConfigError(path, 0, "",
                        std::string("cannot read configuration file: ") + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (16u << 20)) {
      ::close(fd);
      throw ConfigError(path, 0, "", "configuration file is larger than 16 MiB");
    }
  }
  ::close(fd);
  return parse_config(text, path);
}

}  // namespace haystack
