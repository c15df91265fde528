// What Haystack exports over IPFIX, as templates and data records (docs/ipfix.md):
//  - Flowtree nodes of a completed site tree as aggregated flow records, one template per
//    record shape (which prefix IEs a node has: a fully generalised IP is omitted);
//  - IoT detection summaries under an enterprise-specific template (PEN 32473);
//  - an options template with the sampling configuration (PSAMP and legacy IEs).
// Records are plain structs built on the control thread; encoding happens on the
// exporter thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/ipfix/message.h"
#include "dataplane/flowtree/flowtree.h"
#include "dataplane/worker_core.h"

namespace haystack::detection {
struct WindowReport;
}

namespace haystack::ipfix {

// Shape bits of a flow record: which features it carries. Template id = 256 + shape.
enum Shape : uint8_t {
  kSrcV4 = 1,
  kSrcV6 = 2,
  kDstV4 = 4,
  kDstV6 = 8,
  kSrcPort = 16,
  kDstPort = 32,
  kProto = 64
};
inline constexpr uint16_t kFlowTemplateBase = 256;
inline constexpr uint16_t kDetectionTemplateId = 400;
inline constexpr uint16_t kSamplingTemplateId = 401;
inline constexpr uint16_t kEuiWindowTemplateId = 402;
inline constexpr uint16_t kEuiExposureTemplateId = 403;

// One Flowtree node: its prefixes and its complementary popularity (comp_pop), so the
// records of a tree are disjoint and sum to the tree total.
struct NodeRecord {
  std::array<uint8_t, 16> src{}, dst{};  // IPv4: the first 4 bytes
  uint16_t sport = 0, dport = 0;
  uint8_t shape = 0;
  uint8_t feature_set = 0;  // flowtree::FeatureSet value
  uint8_t src_len = 0, dst_len = 0, port_len = 0, proto = 0;
  uint64_t packets = 0, bytes = 0, flows = 0;
};

struct TreeBatch {
  uint32_t start_s = 0, end_s = 0;  // bin (or roll-up) start and end, Unix seconds
  std::vector<NodeRecord> nodes;
};

struct DetectionRecord {
  uint32_t start_s = 0, end_s = 0;  // detection window
  uint8_t window_kind = 0;          // 0 hour, 1 day
  std::string line, service;
  uint8_t level = 0;
  uint32_t domains_contacted = 0, domains_required = 0, domains_total = 0, active_hours = 0;
  bool active = false;
  uint64_t packets = 0, bytes = 0;
};

// EUI-64 exposure (docs/ipfix.md): one window record with the prefix counts, then one
// record per (exposed prefix, MAC), both pseudonymised as in eui64.jsonl.
struct EuiWindowRecord {
  uint32_t start_s = 0, end_s = 0;
  uint8_t window_kind = 0;  // 0 hour, 1 day
  uint32_t prefixes_seen = 0, prefixes_exposed = 0;
};
struct EuiExposureRecord {
  uint32_t start_s = 0, end_s = 0;
  uint8_t window_kind = 0;
  std::string prefix, mac, manufacturer;
  bool iot_only = false;
};
struct EuiBatch {
  EuiWindowRecord window;
  std::vector<EuiExposureRecord> exposures;
};

struct SamplingRecord {
  uint64_t selector_id = 0;  // 1: Flowtree (flow_rate), 2: IoT matching (iot_rate)
  uint16_t selector_algorithm = 0;
  uint32_t packet_interval = 0, packet_space = 0;
  uint32_t interval = 0;  // legacy samplingInterval
  uint8_t algorithm = 0;  // legacy samplingAlgorithm
};

Template flow_template(uint8_t shape);
// Every shape a tree of this hierarchy can produce, ascending.
std::vector<uint8_t> shapes_of(const flowtree::Hierarchy& h);
// Appends the nodes of `t` with a non-zero comp_pop, in pre-order.
void append_nodes(const flowtree::Flowtree& t, std::vector<NodeRecord>& out);
void encode_node(const TreeBatch& b, const NodeRecord& n, std::vector<uint8_t>& out);

Template detection_template();
// Detections of closed windows; strings longer than kMaxString bytes are truncated.
inline constexpr size_t kMaxString = 200;
std::vector<DetectionRecord> detection_records(const detection::WindowReport& w);
void encode_detection(const DetectionRecord& d, std::vector<uint8_t>& out);

Template eui_window_template();
Template eui_exposure_template();
// From the report Eui64Pipeline writes per closed window (throws std::exception when the
// report lacks a field it always has).
EuiBatch eui_records(const nlohmann::ordered_json& report);
void encode_eui_window(const EuiWindowRecord& r, std::vector<uint8_t>& out);
void encode_eui_exposure(const EuiExposureRecord& r, std::vector<uint8_t>& out);

Template sampling_template();
std::vector<SamplingRecord> sampling_records(const SamplingConfig& s);
void encode_sampling(const SamplingRecord& r, std::vector<uint8_t>& out);

}  // namespace haystack::ipfix
