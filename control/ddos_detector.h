// DdosDetector: the amplification-attack alert of Flowyager §4.7. For every completed
// bin it compares the SP and DP site trees with those of the previous bin and raises a
// `ddos_amplification` alert for each configured amplification port whose packet count
// grew by at least the threshold (counts rescaled by the flow sampling rate). A bin that
// does not directly follow the previous one is compared against zero.
#pragma once

#include <optional>
#include <vector>

#include "control/alert_sink.h"
#include "control/config.h"
#include "control/flow_summaries.h"

namespace haystack {

class DdosDetector {
 public:
  explicit DdosDetector(const Config& cfg);
  std::vector<Alert> check(const SiteTrees& bin);

 private:
  struct Side {
    flowtree::FeatureSet fs;
    const char* direction;  // "source" (reflected replies) or "destination" (requests)
    std::optional<flowtree::Flowtree> prev;
    uint64_t prev_start = 0;
  };
  int64_t port_packets(const flowtree::Flowtree& t, uint16_t port) const;

  std::vector<uint16_t> ports_;
  uint64_t threshold_;
  uint32_t rate_;
  uint64_t bin_ns_;
  std::vector<Side> sides_;
};

}  // namespace haystack
