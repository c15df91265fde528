// WorkerCore: the per-packet pipeline of one worker, free of DPDK types so it can be
// unit-tested and benchmarked on plain buffers: bin clock -> parse -> counters ->
// sampling (flow and IoT rates). The DPDK worker loop feeds it bursts.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/bin_clock.h"
#include "dataplane/bin_record.h"
#include "dataplane/flow_set.h"
#include "dataplane/name_learning.h"
#include "dataplane/parser.h"
#include "dataplane/sampler.h"
#include "dataplane/worker_counters.h"
#include "signatures/hitlist_table.h"

namespace haystack {

struct SamplingConfig {
  SampleMethod method = SampleMethod::kCount;
  uint32_t flow_rate = 1;  // 1-in-N for flow summaries
  uint32_t iot_rate = 1;   // 1-in-N for IoT matching
  uint64_t hash_seed = 0;
};

// Outcome of one packet, for the stages that later plug in after sampling.
struct PacketVerdict {
  ParseError error = ParseError::kOk;
  bool ip = false;
  bool flow_sampled = false;
  bool iot_sampled = false;
};

class WorkerCore {
 public:
  // Takes the first record from `exchange` (throws std::runtime_error if there is none).
  // flow_set_capacity bounds the distinct 5-tuples tracked per bin (0: flows not counted).
  WorkerCore(uint32_t worker_id, uint32_t queues, const SamplingConfig& sampling,
             uint64_t bin_ns, BinExchange& exchange, WorkerCounters& counters,
             uint32_t flow_set_capacity = 0, IotSettings iot = {},
             const LearningSettings& learning = {});

  // Processes one frame received on local queue index `queue` at time `ts_ns`.
  PacketVerdict on_packet(uint32_t queue, const uint8_t* data, uint32_t caplen,
                          uint32_t wire_len, uint64_t ts_ns, ParsedPacket& pkt);

  // Called for the next frame of a burst before on_packet() of the current one: when IoT
  // matching is on, peeks at the addresses of an untagged IPv4/IPv6 frame and prefetches
  // their hitlist slots, so the lookups of the next packet do not wait on memory. Only a
  // hint: other frames are looked up as usual, just without the head start.
  void prefetch_next(const uint8_t* data, uint32_t caplen) const {
    if (iot_.table == nullptr || caplen < 14 + 40) return;
    const uint16_t type = uint16_t(data[12] << 8 | data[13]);
    if (type == 0x0800 && (data[14] >> 4) == 4) {
      iot_.table->prefetch(IpAddr::from_v4(data + 14 + 12));
      iot_.table->prefetch(IpAddr::from_v4(data + 14 + 16));
    } else if (type == 0x86dd) {
      iot_.table->prefetch(IpAddr::from_v6(data + 14 + 8));
      iot_.table->prefetch(IpAddr::from_v6(data + 14 + 24));
    }
  }

  // Wall-clock mode: closes the open bin once `now_ns` has passed its end.
  void advance(uint64_t now_ns);
  // Hands the open bin to control (input exhausted, or shutdown); the next packet opens
  // a new record. Keeps the bin open if it cannot be handed over (counted).
  void flush();

  const BinClock& clock() const { return clock_; }
  uint32_t worker_id() const { return id_; }

 private:
  void roll_bin(uint64_t ts_ns);
  bool publish_current();

  uint32_t id_;
  std::vector<Sampler> flow_samplers_;  // one per local queue: count mode is per queue
  std::vector<Sampler> iot_samplers_;
  bool hash_mode_;
  uint64_t hash_seed_;
  BinClock clock_;
  BinExchange& exchange_;
  WorkerCounters& c_;
  BinRecord* bin_ = nullptr;
  FlowSet flows_;
  IotSettings iot_;
  NameLearner learner_;
};

}  // namespace haystack
