#include "control/ipfix/records.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "control/alert_sink.h"
#include "control/detection.h"

namespace haystack::ipfix {

namespace fl = flowtree;

Template flow_template(uint8_t shape) {
  Template t;
  t.id = uint16_t(kFlowTemplateBase + shape);
  auto& f = t.fields;
  f.push_back({ie::flowStartSeconds, 4});
  f.push_back({ie::flowEndSeconds, 4});
  // The same times in milliseconds: collectors such as nfdump 1.7 read only these.
  f.push_back({ie::flowStartMilliseconds, 8});
  f.push_back({ie::flowEndMilliseconds, 8});
  f.push_back({ie::hsFeatureSet, 1, kHaystackPen});
  if (shape & kSrcV4) {
    f.push_back({ie::sourceIPv4Prefix, 4});
    f.push_back({ie::sourceIPv4PrefixLength, 1});
  }
  if (shape & kSrcV6) {
    f.push_back({ie::sourceIPv6Prefix, 16});
    f.push_back({ie::sourceIPv6PrefixLength, 1});
  }
  if (shape & kDstV4) {
    f.push_back({ie::destinationIPv4Prefix, 4});
    f.push_back({ie::destinationIPv4PrefixLength, 1});
  }
  if (shape & kDstV6) {
    f.push_back({ie::destinationIPv6Prefix, 16});
    f.push_back({ie::destinationIPv6PrefixLength, 1});
  }
  if (shape & kSrcPort) {
    f.push_back({ie::sourceTransportPort, 2});
    f.push_back({ie::hsSourcePortPrefixLength, 1, kHaystackPen});
  }
  if (shape & kDstPort) {
    f.push_back({ie::destinationTransportPort, 2});
    f.push_back({ie::hsDestinationPortPrefixLength, 1, kHaystackPen});
  }
  if (shape & kProto) f.push_back({ie::protocolIdentifier, 1});
  f.push_back({ie::packetDeltaCount, 8});
  f.push_back({ie::octetDeltaCount, 8});
  f.push_back({ie::deltaFlowCount, 8});
  return t;
}

std::vector<uint8_t> shapes_of(const fl::Hierarchy& h) {
  std::vector<uint8_t> out;
  const uint8_t ports = (h.has_src_port() ? kSrcPort : 0) | (h.has_dst_port() ? kDstPort : 0);
  const std::vector<uint8_t> src =
      h.has_src_ip() ? std::vector<uint8_t>{0, kSrcV4, kSrcV6} : std::vector<uint8_t>{0};
  const std::vector<uint8_t> dst =
      h.has_dst_ip() ? std::vector<uint8_t>{0, kDstV4, kDstV6} : std::vector<uint8_t>{0};
  for (uint8_t s : src) {
    for (uint8_t d : dst) {
      out.push_back(uint8_t(s | d | ports));
      if (h.with_proto()) out.push_back(uint8_t(s | d | ports | kProto));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
// The prefix bytes and length of one IP feature; adds its shape bit.
void ip_feature(fl::Family fam, int depth, const std::array<uint8_t, 16>& a, uint8_t v4bit,
                uint8_t v6bit, std::array<uint8_t, 16>& out, uint8_t& len, uint8_t& shape) {
  const int plen = fl::ip_prefix_len(fam, depth);
  if (plen < 0) return;  // fully generalised (ANY): the IE is left out
  len = uint8_t(plen);
  if (fam == fl::Family::kV4) {
    std::copy(a.begin() + 12, a.end(), out.begin());
    shape |= v4bit;
  } else {
    out = a;
    shape |= v6bit;
  }
}
}  // namespace

void append_nodes(const fl::Flowtree& t, std::vector<NodeRecord>& out) {
  const fl::Hierarchy& h = t.hierarchy();
  for (uint32_t i : t.preorder()) {
    const fl::Flowtree::Node& n = t.node(i);
    const fl::Counters& c = n.comp_pop;
    if (c.packets <= 0 && c.bytes <= 0 && c.flows <= 0) continue;  // nothing of its own
    NodeRecord r;
    const fl::FlowKey& k = n.key;
    r.feature_set = uint8_t(h.feature_set());
    if (h.has_src_ip())
      ip_feature(k.src_fam, k.depth, k.src, kSrcV4, kSrcV6, r.src, r.src_len, r.shape);
    if (h.has_dst_ip())
      ip_feature(k.dst_fam, k.depth, k.dst, kDstV4, kDstV6, r.dst, r.dst_len, r.shape);
    r.port_len = uint8_t(fl::port_prefix_len(k.depth));
    if (h.has_src_port()) {
      r.sport = k.sport;
      r.shape |= kSrcPort;
    }
    if (h.has_dst_port()) {
      r.dport = k.dport;
      r.shape |= kDstPort;
    }
    if (h.with_proto() && k.depth < h.root_depth()) {
      r.proto = k.proto;
      r.shape |= kProto;
    }
    r.packets = uint64_t(std::max<int64_t>(c.packets, 0));
    r.bytes = uint64_t(std::max<int64_t>(c.bytes, 0));
    r.flows = uint64_t(std::max<int64_t>(c.flows, 0));
    out.push_back(r);
  }
}

void encode_node(const TreeBatch& b, const NodeRecord& n, std::vector<uint8_t>& out) {
  RecordWriter w(out);
  w.u32(b.start_s);
  w.u32(b.end_s);
  w.u64(uint64_t(b.start_s) * 1000);
  w.u64(uint64_t(b.end_s) * 1000);
  w.u8(n.feature_set);
  if (n.shape & kSrcV4) w.bytes(n.src.data(), 4);
  if (n.shape & kSrcV6) w.bytes(n.src.data(), 16);
  if (n.shape & (kSrcV4 | kSrcV6)) w.u8(n.src_len);
  if (n.shape & kDstV4) w.bytes(n.dst.data(), 4);
  if (n.shape & kDstV6) w.bytes(n.dst.data(), 16);
  if (n.shape & (kDstV4 | kDstV6)) w.u8(n.dst_len);
  if (n.shape & kSrcPort) {
    w.u16(n.sport);
    w.u8(n.port_len);
  }
  if (n.shape & kDstPort) {
    w.u16(n.dport);
    w.u8(n.port_len);
  }
  if (n.shape & kProto) w.u8(n.proto);
  w.u64(n.packets);
  w.u64(n.bytes);
  w.u64(n.flows);
}

Template detection_template() {
  Template t;
  t.id = kDetectionTemplateId;
  t.fields = {{ie::flowStartSeconds, 4},
              {ie::flowEndSeconds, 4},
              {ie::hsWindowKind, 1, kHaystackPen},
              {ie::hsSubscriberLine, kVariableLength, kHaystackPen},
              {ie::hsServiceKey, kVariableLength, kHaystackPen},
              {ie::hsDetectionLevel, 1, kHaystackPen},
              {ie::hsDomainsContacted, 4, kHaystackPen},
              {ie::hsDomainsRequired, 4, kHaystackPen},
              {ie::hsDomainsTotal, 4, kHaystackPen},
              {ie::hsActiveHours, 4, kHaystackPen},
              {ie::hsActive, 1, kHaystackPen},
              {ie::packetDeltaCount, 8},
              {ie::octetDeltaCount, 8}};
  return t;
}

std::vector<DetectionRecord> detection_records(const detection::WindowReport& w) {
  std::vector<DetectionRecord> out;
  for (const auto& d : w.detections) {
    DetectionRecord r;
    r.start_s = uint32_t(w.start_ns / 1'000'000'000ULL);
    r.end_s = uint32_t(w.end_ns / 1'000'000'000ULL);
    r.window_kind = uint8_t(w.kind);
    r.line = d.line.substr(0, kMaxString);
    r.service = d.service_key.substr(0, kMaxString);
    r.level = uint8_t(d.level);
    r.domains_contacted = uint32_t(d.domains.size());
    r.domains_required = d.domains_required;
    r.domains_total = d.domains_total;
    r.active_hours = d.active_hours;
    r.active = d.active;
    r.packets = d.packets;
    r.bytes = d.bytes;
    out.push_back(std::move(r));
  }
  return out;
}

void encode_detection(const DetectionRecord& d, std::vector<uint8_t>& out) {
  RecordWriter w(out);
  w.u32(d.start_s);
  w.u32(d.end_s);
  w.u8(d.window_kind);
  w.string(d.line);
  w.string(d.service);
  w.u8(d.level);
  w.u32(d.domains_contacted);
  w.u32(d.domains_required);
  w.u32(d.domains_total);
  w.u32(d.active_hours);
  w.boolean(d.active);
  w.u64(d.packets);
  w.u64(d.bytes);
}

Template eui_window_template() {
  Template t;
  t.id = kEuiWindowTemplateId;
  t.fields = {{ie::flowStartSeconds, 4},
              {ie::flowEndSeconds, 4},
              {ie::hsWindowKind, 1, kHaystackPen},
              {ie::hsPrefixesSeen, 4, kHaystackPen},
              {ie::hsPrefixesExposed, 4, kHaystackPen}};
  return t;
}

Template eui_exposure_template() {
  Template t;
  t.id = kEuiExposureTemplateId;
  t.fields = {{ie::flowStartSeconds, 4},
              {ie::flowEndSeconds, 4},
              {ie::hsWindowKind, 1, kHaystackPen},
              {ie::hsPrefixId, kVariableLength, kHaystackPen},
              {ie::hsMacId, kVariableLength, kHaystackPen},
              {ie::hsManufacturer, kVariableLength, kHaystackPen},
              {ie::hsIotOnly, 1, kHaystackPen}};
  return t;
}

namespace {

// window_start as format_time_ns writes it -> Unix seconds.
uint32_t report_seconds(const std::string& s) {
  const std::optional<uint64_t> t = parse_time_seconds(s);
  if (!t) throw std::invalid_argument("EUI-64 report: bad window_start '" + s + "'");
  return uint32_t(*t);
}

}  // namespace

EuiBatch eui_records(const nlohmann::ordered_json& report) {
  EuiBatch b;
  EuiWindowRecord& w = b.window;
  const bool daily = report.at("window").get<std::string>() == "day";
  w.window_kind = daily ? 1 : 0;
  w.start_s = report_seconds(report.at("window_start").get<std::string>());
  w.end_s = w.start_s + (daily ? 86400 : 3600);
  w.prefixes_seen = report.at("prefixes_seen").get<uint32_t>();
  w.prefixes_exposed = report.at("prefixes_exposed").get<uint32_t>();
  std::map<std::string, bool> iot_only;
  for (const auto& m : report.at("manufacturers")) {
    iot_only[m.at("manufacturer").get<std::string>()] = m.at("iot_only").get<bool>();
  }
  for (const auto& p : report.at("prefixes")) {
    for (const auto& m : p.at("macs")) {
      EuiExposureRecord r;
      r.start_s = w.start_s;
      r.end_s = w.end_s;
      r.window_kind = w.window_kind;
      r.prefix = p.at("prefix").get<std::string>().substr(0, kMaxString);
      r.mac = m.at("mac").get<std::string>().substr(0, kMaxString);
      const std::string maker = m.at("manufacturer").get<std::string>();
      r.manufacturer = maker.substr(0, kMaxString);
      r.iot_only = iot_only[maker];
      b.exposures.push_back(std::move(r));
    }
  }
  return b;
}

void encode_eui_window(const EuiWindowRecord& r, std::vector<uint8_t>& out) {
  RecordWriter w(out);
  w.u32(r.start_s);
  w.u32(r.end_s);
  w.u8(r.window_kind);
  w.u32(r.prefixes_seen);
  w.u32(r.prefixes_exposed);
}

void encode_eui_exposure(const EuiExposureRecord& r, std::vector<uint8_t>& out) {
  RecordWriter w(out);
  w.u32(r.start_s);
  w.u32(r.end_s);
  w.u8(r.window_kind);
  w.string(r.prefix);
  w.string(r.mac);
  w.string(r.manufacturer);
  w.boolean(r.iot_only);
}

Template sampling_template() {
  Template t;
  t.id = kSamplingTemplateId;
  t.scope_fields = 1;
  t.fields = {
      {ie::selectorId, 8},          {ie::selectorAlgorithm, 2}, {ie::samplingPacketInterval, 4},
      {ie::samplingPacketSpace, 4}, {ie::samplingInterval, 4},  {ie::samplingAlgorithm, 1}};
  return t;
}

// count: systematic count-based (PSAMP 1, legacy 1 deterministic), 1 selected then N-1
// skipped. hash: a keyed hash keeps a pseudo-random 1/N of packets; IANA has no code for
// our hash, so it is reported as uniform probabilistic (PSAMP 4, legacy 2 random) with the
// same mean interval.
std::vector<SamplingRecord> sampling_records(const SamplingConfig& s) {
  std::vector<SamplingRecord> out;
  const bool count = s.method == SampleMethod::kCount;
  uint64_t id = 1;
  for (uint32_t rate : {s.flow_rate, s.iot_rate}) {
    SamplingRecord r;
    r.selector_id = id++;
    r.selector_algorithm = count ? 1 : 4;
    r.packet_interval = 1;
    r.packet_space = rate - 1;
    r.interval = rate;
    r.algorithm = count ? 1 : 2;
    out.push_back(r);
  }
  return out;
}

void encode_sampling(const SamplingRecord& r, std::vector<uint8_t>& out) {
  RecordWriter w(out);
  w.u64(r.selector_id);
  w.u16(r.selector_algorithm);
  w.u32(r.packet_interval);
  w.u32(r.packet_space);
  w.u32(r.interval);
  w.u8(r.algorithm);
}

}  // namespace haystack::ipfix
