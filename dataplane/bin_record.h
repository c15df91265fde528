// BinRecord: everything one worker collected during one time bin. Records are
// preallocated, owned by a per-worker pool, travel worker -> control over an SPSC ring
// when the bin closes, and come back through a free ring once control has merged them.
// Later stages (Flowtrees, IoT evidence) hang their per-bin structures here.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/flowtree/flowtree.h"
#include "dataplane/eui64.h"
#include "dataplane/iot_evidence.h"

namespace haystack {

struct BinRecord {
  uint32_t worker = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t ip_packets = 0;
  uint64_t sampled_flow = 0;
  uint64_t sampled_iot = 0;
  uint64_t parse_errors = 0;
  uint64_t new_flows = 0;
  // The hitlist generation the IoT evidence refers to (0: none; see hitlist_source.h).
  uint64_t hitlist_generation = 0;

  // One tree per enabled feature set (config order), sized at startup. Control empties
  // them before handing the record back, so a worker always receives empty trees.
  std::vector<flowtree::Flowtree> trees;
  // Per-line IoT evidence of the bin, sized at startup; control clears it likewise.
  IotEvidenceTable iot;
  // Per-bin (/56, MAC) observations for EUI-64 exposure; control clears it likewise.
  EuiTable eui;

  // Resets the scalar fields; the trees are left alone (see above).
  void reset(uint32_t w, uint64_t start, uint64_t end) {
    worker = w;
    start_ns = start;
    end_ns = end;
    packets = bytes = ip_packets = sampled_flow = sampled_iot = parse_errors = new_flows = 0;
    hitlist_generation = 0;
  }
};

// How a worker hands closed bins to control; implemented over rte_ring in the DPDK
// adapter and over plain containers in unit tests. Called once per bin, never per packet.
class BinExchange {
 public:
  virtual ~BinExchange() = default;
  // A fresh record from the worker's pool, or nullptr when control has not returned any.
  virtual BinRecord* acquire() = 0;
  // Hands a closed record to control; false when the ring is full (the caller keeps it).
  virtual bool publish(BinRecord* rec) = 0;
  // Returns an unused record to the worker's own pool.
  virtual void release(BinRecord* rec) = 0;
  // The worker is about to open the bin starting at start_ns (after publishing the
  // previous one). Replay uses it to keep workers within a few bins of each other.
  virtual void entering_bin(uint64_t start_ns) { (void)start_ns; }
};

}  // namespace haystack
