#include "control/ddos_detector.h"

#include "dataplane/flowtree/flowtree_queries.h"

namespace haystack {

using flowtree::FeatureSet;

DdosDetector::DdosDetector(const Config& cfg)
    : ports_(cfg.ddos.ports),
      threshold_(cfg.ddos.threshold_packets),
      rate_(cfg.sampling.flow_rate),
      bin_ns_(uint64_t(cfg.bin_seconds) * 1'000'000'000ULL) {
  sides_.push_back(Side{FeatureSet::SP, "source", std::nullopt, 0});
  sides_.push_back(Side{FeatureSet::DP, "destination", std::nullopt, 0});
}

// Estimated packets of one port (exact when the port is a node of the tree).
int64_t DdosDetector::port_packets(const flowtree::Flowtree& t, uint16_t port) const {
  const auto& h = t.hierarchy();
  const uint8_t proto = h.with_proto() ? 17 : 0;  // amplification is UDP
  flowtree::FlowKey k = h.leaf(IpAddr{}, IpAddr{}, port, port, proto);
  return flowtree::query(t, k).estimate.packets;
}

std::vector<Alert> DdosDetector::check(const SiteTrees& bin) {
  std::vector<Alert> out;
  for (Side& side : sides_) {
    const flowtree::Flowtree* cur = nullptr;
    for (const auto& t : bin.trees) {
      if (t.config().feature_set == side.fs) cur = &t;
    }
    if (cur == nullptr) continue;  // feature set not enabled
    const bool adjacent = side.prev && side.prev_start + bin_ns_ == bin.start_ns;
    for (uint16_t port : ports_) {
      const int64_t now = port_packets(*cur, port) * int64_t(rate_);
      const int64_t before = adjacent ? port_packets(*side.prev, port) * int64_t(rate_) : 0;
      if (now - before < int64_t(threshold_)) continue;
      Alert a;
      a.time_ns = bin.start_ns + bin_ns_;
      a.type = "ddos_amplification";
      a.severity = Severity::kCritical;
      a.subject = std::string(side.direction) + " port " + std::to_string(port);
      a.details = {{"port", port},
                   {"direction", side.direction},
                   {"bin_start_ns", bin.start_ns},
                   {"previous_packets", before},
                   {"packets", now},
                   {"increase", now - before},
                   {"threshold", threshold_},
                   {"sampling_rate", rate_}};
      out.push_back(std::move(a));
    }
    side.prev = *cur;
    side.prev_start = bin.start_ns;
  }
  return out;
}

}  // namespace haystack
