// Worker lcore: polls its RX queues in bursts and runs WorkerCore on each frame.
// Closed bins go to control over an SPSC rte_ring; control returns them over a second
// SPSC ring. Nothing here locks, allocates or logs per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/bin_record.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/worker_core.h"
#include "dataplane/worker_counters.h"

struct rte_ring;

namespace haystack {

// The two rings between one worker and control, plus the record pool behind them.
class RingBinExchange final : public BinExchange {
 public:
  // Every record gets one empty tree per entry of `trees` (per-core Flowtrees).
  RingBinExchange(uint32_t worker_id, uint32_t ring_size, uint32_t records,
                  const std::vector<flowtree::FlowtreeConfig>& trees = {},
                  uint32_t iot_lines = 0, uint32_t eui_entries = 0);
  ~RingBinExchange() override;
  RingBinExchange(const RingBinExchange&) = delete;
  RingBinExchange& operator=(const RingBinExchange&) = delete;

  // Replay: when the pool is empty, acquire() waits for control to return a record
  // instead of widening the bin, so results do not depend on thread timing. It gives up
  // (returning nullptr, counted by the worker) once `abort` is set.
  void set_blocking(const std::atomic<bool>* abort) { abort_ = abort; }
  // Replay: the worker waits before opening a bin that starts after `horizon` (kept by
  // control a few bins beyond the slowest worker), so workers reading separate queues
  // stay close in packet time and control never holds many open bins.
  void set_horizon(const std::atomic<uint64_t>* horizon) { horizon_ = horizon; }

  void entering_bin(uint64_t start_ns) override;
  // Worker side: whether the last poll of all its queues came back empty.
  void set_idle(bool idle) { idle_.store(idle, std::memory_order_release); }

  // Control side: start of the worker's open bin (0 before its first packet) and idleness.
  uint64_t position() const { return position_.load(std::memory_order_acquire); }
  bool idle() const { return idle_.load(std::memory_order_acquire); }

  // Worker side.
  BinRecord* acquire() override;
  bool publish(BinRecord* rec) override;
  void release(BinRecord* rec) override;

  // Control side.
  BinRecord* poll();               // next closed bin, or nullptr
  void give_back(BinRecord* rec);  // return a merged record to the worker

 private:
  rte_ring* to_control_ = nullptr;
  rte_ring* to_worker_ = nullptr;
  std::vector<BinRecord> records_;
  std::vector<BinRecord*> local_free_;  // released by the worker itself; capacity fixed
  const std::atomic<bool>* abort_ = nullptr;
  const std::atomic<uint64_t>* horizon_ = nullptr;
  alignas(64) std::atomic<uint64_t> position_{0};  // own cache line: written by the worker
  std::atomic<bool> idle_{false};
};

struct WorkerQueue {
  uint16_t port_id = 0;
  uint16_t queue = 0;
  std::string port_name;
  uint32_t ts_to_ns = 1;  // multiplier from the driver's RX timestamp unit to ns
};

struct WorkerSpec {
  uint32_t worker_id = 0;
  unsigned lcore = 0;
  std::vector<WorkerQueue> queues;
  uint32_t burst = 32;
  bool packet_clock = false;
  SamplingConfig sampling;
  uint64_t bin_ns = 60'000'000'000ULL;
  uint32_t flow_set_capacity = 0;  // distinct 5-tuples tracked per bin
  IotSettings iot;                 // IoT matching (table nullptr: off)
  LearningSettings learning;       // on-the-wire DNS/SNI learning (enabled false: off)
};

class Worker {
 public:
  Worker(const WorkerSpec& spec, RingBinExchange& exchange);

  // Body of the lcore; returns when `stop` becomes true, after flushing the open bin.
  int run(const std::atomic<bool>& stop);

  const WorkerSpec& spec() const { return spec_; }
  const WorkerCounters& counters() const { return counters_; }
  // Set by the worker when it has flushed and left its loop.
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  WorkerSpec spec_;
  RingBinExchange& exchange_;
  WorkerCounters counters_;
  WorkerCore core_;
  std::atomic<bool> finished_{false};
};

// Wall-clock nanoseconds since the epoch from the TSC, anchored once at startup.
void wall_clock_init();
uint64_t wall_clock_ns();

}  // namespace haystack
