#include "dataplane/dpdk/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <fmt/format.h>

#include <ctime>
#include <stdexcept>

namespace haystack {

namespace {
uint64_t g_wall_base_ns = 0;
uint64_t g_tsc_base = 0;
uint64_t g_tsc_hz = 1;
}  // namespace

void wall_clock_init() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  g_tsc_base = rte_get_tsc_cycles();
  g_tsc_hz = rte_get_tsc_hz();
  g_wall_base_ns = uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec);
}

uint64_t wall_clock_ns() {
  uint64_t d = rte_get_tsc_cycles() - g_tsc_base;
  return g_wall_base_ns + uint64_t((__uint128_t)d * 1'000'000'000ULL / g_tsc_hz);
}

RingBinExchange::RingBinExchange(uint32_t worker_id, uint32_t ring_size, uint32_t records,
                                 const std::vector<flowtree::FlowtreeConfig>& trees,
                                 uint32_t iot_lines, uint32_t eui_entries)
    : records_(records) {
  for (auto& r : records_) {
    r.iot = IotEvidenceTable(iot_lines);
    r.eui = EuiTable(eui_entries);
    r.trees.reserve(trees.size());
    for (const auto& c : trees) r.trees.emplace_back(c);
  }
  auto name = [&](const char* what) { return fmt::format("hs_{}_{}", what, worker_id); };
  // RING_F_EXACT_SZ: capacity is exactly ring_size even when it is not a power of two.
  unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
  to_control_ = rte_ring_create(name("bins").c_str(), ring_size, SOCKET_ID_ANY, flags);
  to_worker_ = rte_ring_create(name("free").c_str(), ring_size, SOCKET_ID_ANY, flags);
  if (to_control_ == nullptr || to_worker_ == nullptr) {
    throw std::runtime_error(fmt::format("worker {}: cannot create bin rings of {} entries: {}",
                                         worker_id, ring_size, rte_strerror(rte_errno)));
  }
  local_free_.reserve(records);
  for (auto& r : records_) {
    if (rte_ring_enqueue(to_worker_, &r) != 0) local_free_.push_back(&r);
  }
}

RingBinExchange::~RingBinExchange() {
  rte_ring_free(to_control_);
  rte_ring_free(to_worker_);
}

BinRecord* RingBinExchange::acquire() {
  if (!local_free_.empty()) {
    BinRecord* r = local_free_.back();
    local_free_.pop_back();
    return r;
  }
  void* obj = nullptr;
  while (rte_ring_dequeue(to_worker_, &obj) != 0) {
    if (abort_ == nullptr || abort_->load(std::memory_order_relaxed)) return nullptr;
    rte_pause();
  }
  return static_cast<BinRecord*>(obj);
}

bool RingBinExchange::publish(BinRecord* rec) { return rte_ring_enqueue(to_control_, rec) == 0; }

void RingBinExchange::release(BinRecord* rec) { local_free_.push_back(rec); }

void RingBinExchange::entering_bin(uint64_t start_ns) {
  position_.store(start_ns, std::memory_order_release);
  if (horizon_ == nullptr) return;
  while (start_ns > horizon_->load(std::memory_order_acquire)) {
    if (abort_ != nullptr && abort_->load(std::memory_order_relaxed)) return;
    rte_pause();
  }
}

BinRecord* RingBinExchange::poll() {
  void* obj = nullptr;
  return rte_ring_dequeue(to_control_, &obj) == 0 ? static_cast<BinRecord*>(obj) : nullptr;
}

void RingBinExchange::give_back(BinRecord* rec) {
  // Capacity equals the record count, so this cannot fail.
  rte_ring_enqueue(to_worker_, rec);
}

Worker::Worker(const WorkerSpec& spec, RingBinExchange& exchange)
    : spec_(spec),
      exchange_(exchange),
      core_(spec.worker_id, uint32_t(spec.queues.size()), spec.sampling, spec.bin_ns, exchange,
            counters_, spec.flow_set_capacity, spec.iot, spec.learning) {}

int Worker::run(const std::atomic<bool>& stop) {
  constexpr uint32_t kMaxBurst = 512;
  rte_mbuf* bufs[kMaxBurst];
  const uint32_t burst = spec_.burst > kMaxBurst ? kMaxBurst : spec_.burst;
  const RxTimestampField ts = rx_timestamp_field();
  const bool packet_clock = spec_.packet_clock;
  ParsedPacket pkt;
  bool idle = false;

  while (!stop.load(std::memory_order_relaxed)) {
    uint32_t got = 0;
    for (uint32_t qi = 0; qi < spec_.queues.size(); ++qi) {
      const WorkerQueue& q = spec_.queues[qi];
      uint16_t n = rte_eth_rx_burst(q.port_id, q.queue, bufs, uint16_t(burst));
      if (n == 0) continue;
      got += n;
      if (idle) [[unlikely]] {  // before any packet moves the bin position
        idle = false;
        exchange_.set_idle(false);
      }
      uint64_t now = packet_clock ? 0 : wall_clock_ns();
      // Frame data two ahead, hitlist slots one ahead (its data arrived meanwhile).
      rte_prefetch0(rte_pktmbuf_mtod(bufs[0], void*));
      if (n > 1) rte_prefetch0(rte_pktmbuf_mtod(bufs[1], void*));
      for (uint16_t i = 0; i < n; ++i) {
        if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(bufs[i + 2], void*));
        if (i + 1 < n) {
          core_.prefetch_next(rte_pktmbuf_mtod(bufs[i + 1], const uint8_t*), bufs[i + 1]->data_len);
        }
        rte_mbuf* m = bufs[i];
        uint64_t t = now;
        if (packet_clock) {
          if (ts.offset >= 0 && (m->ol_flags & ts.flag)) [[likely]] {
            t = *RTE_MBUF_DYNFIELD(m, ts.offset, rte_mbuf_timestamp_t*) * q.ts_to_ns;
          } else {
            counters_.missing_timestamp.add();
            t = wall_clock_ns();
          }
        }
        core_.on_packet(qi, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, t,
                        pkt);
      }
      rte_pktmbuf_free_bulk(bufs, n);
    }
    if (got == 0) {
      if (!packet_clock) {
        core_.advance(wall_clock_ns());  // the wall clock closes bins on time
      } else if (!idle) {
        // Replay input exhausted (a pcap queue returns nothing only at its end): hand the
        // open bin over now, then tell control not to wait for this worker.
        core_.flush();
        idle = true;
        exchange_.set_idle(true);
      }
    }
  }
  core_.flush();
  finished_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace haystack
