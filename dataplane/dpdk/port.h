// Port: one DPDK ethdev (NIC, net_pcap, net_af_packet, net_af_xdp, net_ring) set up for
// receive-only capture: its own mempool, N RX queues, symmetric RSS when the device
// supports it, driver RX timestamps when offered.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/toeplitz.h"
#include "dataplane/xdp/xdp_sampler.h"

struct rte_mempool;
struct rte_eth_conf;
struct rte_eth_dev_info;

namespace haystack {

struct PortSetup {
  std::string name;     // operator label
  std::string dpdk_name;
  uint16_t rx_queues = 1;
  uint16_t rx_descriptors = 1024;
  bool promiscuous = true;
  uint32_t mbufs = 16383;
  uint32_t mbuf_cache = 256;
  uint32_t data_room = 2176;
  bool want_timestamps = false;  // packet clock: ask the driver for RX timestamps
  // net_af_xdp with xdp_prog=xdp_sampler.bpf.o: the interface the sampler is attached to
  // (empty: no XDP sampler) and its settings, applied once the port has started.
  std::string xdp_iface;
  XdpSamplerSettings xdp;
};

// What was actually configured, reported at startup and in the stats document.
struct PortInfo {
  std::string name;
  std::string dpdk_name;
  std::string driver;
  uint16_t port_id = 0;
  uint16_t rx_queues = 0;
  bool rss = false;
  uint64_t rss_hf = 0;           // hash functions enabled
  std::string rss_key_hex;       // programmed key (empty without RSS)
  uint16_t reta_size = 0;
  bool reta_verified = false;    // RETA read back and matched round-robin
  bool rx_timestamps = false;    // driver fills the RX timestamp dynfield with epoch time
  uint32_t ts_to_ns = 1;         // multiplier from the driver's timestamp unit to ns
  std::string note;              // human-readable remark (e.g. why no RSS)
};

struct PortStats {
  uint64_t ipackets = 0, ibytes = 0, imissed = 0, ierrors = 0, rx_nombuf = 0;
  // Per RX queue, for the queues the driver reports (at most RTE_ETHDEV_QUEUE_STAT_CNTRS).
  std::vector<uint64_t> q_ipackets, q_ibytes;
  // XDP sampler counts from the kernel (xdp false: the port has none).
  bool xdp = false;
  XdpCounts xdp_counts;
};

class Port {
 public:
  // Configures and starts nothing yet; throws std::runtime_error with a clear message.
  explicit Port(const PortSetup& s);
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  void start();
  void stop();
  PortStats stats() const;
  const PortInfo& info() const { return info_; }
  uint16_t id() const { return info_.port_id; }

 private:
  void configure_rss(struct rte_eth_conf& conf, const struct rte_eth_dev_info& dev);
  void program_reta();

  PortSetup setup_;
  PortInfo info_;
  rte_mempool* pool_ = nullptr;
  bool started_ = false;
  std::vector<uint8_t> rss_key_;  // must outlive rte_eth_dev_configure
  std::unique_ptr<XdpSampler> xdp_;  // kept after stop: its maps stay readable
};

// Offset of the RX timestamp dynfield and its flag, -1/0 when not registered.
struct RxTimestampField {
  int offset = -1;
  uint64_t flag = 0;
};
RxTimestampField rx_timestamp_field();

}  // namespace haystack
