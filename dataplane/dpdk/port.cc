#include "dataplane/dpdk/port.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <stdexcept>

namespace haystack {

namespace {

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

[[noreturn]] void fail(const PortSetup& s, const std::string& what, int rc) {
  throw std::runtime_error(fmt::format("port '{}' ({}): {}: {}", s.name, s.dpdk_name, what,
                                       rte_strerror(rc < 0 ? -rc : rc)));
}

// The tuple kinds Haystack wants hashed; each is masked by what the device offers.
constexpr uint64_t kWantedRssHf = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;

}  // namespace

RxTimestampField rx_timestamp_field() {
  RxTimestampField f;
  f.offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
  int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
  f.flag = bit >= 0 ? (uint64_t{1} << bit) : 0;
  return f;
}

Port::Port(const PortSetup& s) : setup_(s) {
  info_.name = s.name;
  info_.dpdk_name = s.dpdk_name;
  uint16_t pid = 0;
  int rc = rte_eth_dev_get_port_by_name(s.dpdk_name.c_str(), &pid);
  if (rc != 0) {
    throw std::runtime_error(fmt::format(
        "port '{}': DPDK device '{}' not found (is the device spec right, the PCI device "
        "bound to vfio-pci, the pcap file readable?)",
        s.name, s.dpdk_name));
  }
  info_.port_id = pid;

  rte_eth_dev_info dev{};
  rc = rte_eth_dev_info_get(pid, &dev);
  if (rc != 0) fail(s, "cannot read device info", rc);
  info_.driver = dev.driver_name ? dev.driver_name : "?";
  if (s.rx_queues > dev.max_rx_queues) {
    throw std::runtime_error(fmt::format(
        "port '{}' ({}): rx_queues {} exceeds the device maximum of {} (for net_pcap, give "
        "one rx_pcap= per queue)",
        s.name, s.dpdk_name, s.rx_queues, dev.max_rx_queues));
  }
  info_.rx_queues = s.rx_queues;

  rte_eth_conf conf{};
  configure_rss(conf, dev);
  if (s.want_timestamps && info_.driver == "net_pcap") {
    // net_pcap stamps every mbuf with the capture time in microseconds since the epoch
    // (DPDK 22.11), without advertising the offload. NIC hardware timestamps count a
    // free-running device clock, not epoch time, so only pcap replay has packet time.
    info_.rx_timestamps = true;
    info_.ts_to_ns = 1000;
  }

  int socket = rte_eth_dev_socket_id(pid);
  if (socket < 0) socket = 0;
  std::string pool_name = fmt::format("hs_pool_{}", pid);
  pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), s.mbufs, s.mbuf_cache, 0,
                                  uint16_t(s.data_room), socket);
  if (pool_ == nullptr) {
    throw std::runtime_error(fmt::format(
        "port '{}': cannot allocate {} mbufs of {} bytes: {} (raise EAL -m / hugepages or "
        "lower mempool.mbufs)",
        s.name, s.mbufs, s.data_room, rte_strerror(rte_errno)));
  }

  // net_af_xdp pairs every RX queue with a TX queue (one AF_XDP socket each); they stay
  // unused. Every other driver gets RX queues only.
  const uint16_t tx_queues = info_.driver == "net_af_xdp" ? s.rx_queues : 0;
  rc = rte_eth_dev_configure(pid, s.rx_queues, tx_queues, &conf);
  if (rc != 0) fail(s, "rte_eth_dev_configure failed", rc);
  uint16_t nb_rxd = s.rx_descriptors, nb_txd = tx_queues ? 512 : 0;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
  if (rc != 0) fail(s, "cannot adjust descriptor counts", rc);
  for (uint16_t q = 0; q < s.rx_queues; ++q) {
    rte_eth_rxconf rxq = dev.default_rxconf;
    rxq.offloads = conf.rxmode.offloads;
    rc = rte_eth_rx_queue_setup(pid, q, nb_rxd, socket, &rxq, pool_);
    if (rc != 0) fail(s, fmt::format("RX queue {} setup failed", q), rc);
  }
  for (uint16_t q = 0; q < tx_queues; ++q) {
    rc = rte_eth_tx_queue_setup(pid, q, nb_txd, socket, nullptr);
    if (rc != 0) fail(s, fmt::format("TX queue {} setup failed", q), rc);
  }
}

Port::~Port() {
  stop();
  if (info_.port_id < RTE_MAX_ETHPORTS) rte_eth_dev_close(info_.port_id);
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

void Port::configure_rss(rte_eth_conf& conf, const rte_eth_dev_info& dev) {
  if (setup_.rx_queues <= 1) {
    info_.note = "single RX queue: RSS not needed";
    return;
  }
  uint64_t hf = kWantedRssHf & dev.flow_type_rss_offloads;
  if (hf == 0) {
    // Software devices (net_pcap, net_ring) fill each queue themselves, e.g. one pcap per
    // queue; use haystack-pcap-split to spread a capture the way a NIC would.
    info_.note = fmt::format("driver {} offers no RSS: each queue is fed by the device itself",
                             info_.driver);
    return;
  }
  size_t key_len = dev.hash_key_size ? dev.hash_key_size : kRssKeyLen;
  if (key_len != kRssKeyLen) {
    // Some NICs take 52-byte keys; the repeating pattern stays symmetric at any length.
    info_.note = fmt::format("device key size {} bytes", key_len);
  }
  auto& key = rss_key_;
  key.assign(key_len, 0);
  for (size_t i = 0; i < key_len; ++i) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
  conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
  conf.rx_adv_conf.rss_conf.rss_key = key.data();
  conf.rx_adv_conf.rss_conf.rss_key_len = uint8_t(key_len);
  conf.rx_adv_conf.rss_conf.rss_hf = hf;
  info_.rss = true;
  info_.rss_hf = hf;
  info_.rss_key_hex = hex(key.data(), key_len);
  info_.reta_size = dev.reta_size;
}

void Port::program_reta() {
  if (!info_.rss || info_.reta_size == 0) return;
  uint16_t n = info_.reta_size;
  std::vector<rte_eth_rss_reta_entry64> reta(n / RTE_ETH_RETA_GROUP_SIZE + 1);
  for (uint16_t i = 0; i < n; ++i) {
    auto& g = reta[i / RTE_ETH_RETA_GROUP_SIZE];
    g.mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
    g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = uint16_t(i % info_.rx_queues);
  }
  int rc = rte_eth_dev_rss_reta_update(info_.port_id, reta.data(), n);
  if (rc != 0) {
    info_.note += fmt::format("; RETA update not supported ({}), driver default kept",
                              rte_strerror(-rc));
    return;
  }
  std::vector<rte_eth_rss_reta_entry64> back(reta.size());
  for (auto& g : back) g.mask = ~uint64_t{0};
  rc = rte_eth_dev_rss_reta_query(info_.port_id, back.data(), n);
  bool ok = rc == 0;
  for (uint16_t i = 0; ok && i < n; ++i) {
    ok = back[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] ==
         uint16_t(i % info_.rx_queues);
  }
  info_.reta_verified = ok;
  if (!ok) {
    throw std::runtime_error(fmt::format(
        "port '{}': RSS redirection table read back differs from what was programmed",
        setup_.name));
  }
}

void Port::start() {
  if (started_) return;
  int rc = rte_eth_dev_start(info_.port_id);
  if (rc != 0) fail(setup_, "rte_eth_dev_start failed", rc);
  started_ = true;
  if (setup_.promiscuous) rte_eth_promiscuous_enable(info_.port_id);  // not all vdevs can
  program_reta();
  if (!setup_.xdp_iface.empty() && xdp_ == nullptr) {
    xdp_ = std::make_unique<XdpSampler>(setup_.xdp_iface);
    xdp_->configure(setup_.xdp);
    spdlog::info("port '{}': XDP sampler (program {}) on {} keeps 1 in {} packets per CPU, "
                 "{} the rest",
                 info_.name, xdp_->prog_id(), setup_.xdp_iface, setup_.xdp.rate,
                 setup_.xdp.drop_unsampled ? "drops" : "passes");
  }
  if (info_.rss) {
    spdlog::info("port '{}' ({}, driver {}): {} RX queues, symmetric RSS key {}…, hash "
                 "functions 0x{:x}, RETA {} entries round-robin{}",
                 info_.name, info_.dpdk_name, info_.driver, info_.rx_queues,
                 info_.rss_key_hex.substr(0, 8), info_.rss_hf, info_.reta_size,
                 info_.reta_verified ? ", verified" : "");
  } else {
    spdlog::info("port '{}' ({}, driver {}): {} RX queue(s); {}", info_.name, info_.dpdk_name,
                 info_.driver, info_.rx_queues, info_.note);
  }
}

void Port::stop() {
  if (!started_) return;
  rte_eth_dev_stop(info_.port_id);
  started_ = false;
}

PortStats Port::stats() const {
  rte_eth_stats st{};
  PortStats out;
  if (rte_eth_stats_get(info_.port_id, &st) == 0) {
    out.ipackets = st.ipackets;
    out.ibytes = st.ibytes;
    out.imissed = st.imissed;
    out.ierrors = st.ierrors;
    out.rx_nombuf = st.rx_nombuf;
    for (uint16_t q = 0; q < info_.rx_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q) {
      out.q_ipackets.push_back(st.q_ipackets[q]);
      out.q_ibytes.push_back(st.q_ibytes[q]);
    }
  }
  if (xdp_ != nullptr) {
    try {
      out.xdp_counts = xdp_->counts();
      out.xdp = true;
    } catch (const std::exception& e) {
      spdlog::warn("port '{}': {}", info_.name, e.what());
    }
  }
  return out;
}

}  // namespace haystack
