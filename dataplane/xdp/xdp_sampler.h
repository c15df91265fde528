// XdpSampler: haystackd's view of the XDP sampler (xdp_sampler.bpf.c) that DPDK net_af_xdp
// attached to a kernel interface with `xdp_prog=`. Through libbpf it finds the program on
// the interface, sets the sampling rate and reads the per-CPU counts of the packets the
// kernel kept back, so port totals stay exact: every packet the program saw is either
// sampled (redirected to haystackd) or counted here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace haystack {

struct XdpSamplerSettings {
  uint32_t rate = 1;           // keep 1 in N packets per CPU
  bool drop_unsampled = true;  // XDP_DROP the rest (mirror port); false: XDP_PASS
};

struct XdpCpuCounts {
  uint64_t sampled = 0, unsampled = 0, no_socket = 0;
};

struct XdpCounts {
  uint64_t sampled = 0;    // redirected to an AF_XDP socket
  uint64_t unsampled = 0;  // kept back by the sampler, counted in the kernel
  uint64_t no_socket = 0;  // sampled but no socket on the RX queue (treated as unsampled)
  std::vector<XdpCpuCounts> per_cpu;
  uint64_t seen() const { return sampled + unsampled + no_socket; }
};

// Sums per-CPU values (pure; unit-tested).
XdpCounts sum_xdp_counts(std::vector<XdpCpuCounts> per_cpu);

// The value of `key=` in a DPDK device string ("net_af_xdp0,iface=eth1,xdp_prog=x.o"),
// empty when absent (pure; unit-tested).
std::string device_arg(std::string_view device, std::string_view key);

class XdpSampler {
 public:
  // Opens the maps of the sampler attached to `ifname`. Throws std::runtime_error naming
  // the interface when nothing is attached or the program is not the Haystack sampler.
  explicit XdpSampler(const std::string& ifname);
  ~XdpSampler();
  XdpSampler(const XdpSampler&) = delete;
  XdpSampler& operator=(const XdpSampler&) = delete;

  void configure(const XdpSamplerSettings& s);
  XdpCounts counts() const;
  uint32_t prog_id() const { return prog_id_; }

 private:
  std::string ifname_;
  uint32_t prog_id_ = 0;
  int config_fd_ = -1;
  int counts_fd_ = -1;
  int ncpus_ = 0;
};

}  // namespace haystack
