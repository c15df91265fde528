#include "dataplane/xdp/xdp_sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

extern "C" {
#include "dataplane/xdp/xdp_sampler_abi.h"
}

namespace haystack {

XdpCounts sum_xdp_counts(std::vector<XdpCpuCounts> per_cpu) {
  XdpCounts c;
  for (const auto& p : per_cpu) {
    c.sampled += p.sampled;
    c.unsampled += p.unsampled;
    c.no_socket += p.no_socket;
  }
  c.per_cpu = std::move(per_cpu);
  return c;
}

std::string device_arg(std::string_view device, std::string_view key) {
  size_t pos = device.find(',');
  while (pos != std::string_view::npos) {
    size_t next = device.find(',', pos + 1);
    std::string_view kv =
        device.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
    if (kv.size() > key.size() && kv.substr(0, key.size()) == key && kv[key.size()] == '=') {
      return std::string(kv.substr(key.size() + 1));
    }
    pos = next;
  }
  return {};
}

namespace {

[[noreturn]] void fail(const std::string& ifname, const std::string& what) {
  throw std::runtime_error(fmt::format("XDP sampler on '{}': {}", ifname, what));
}

}  // namespace

XdpSampler::XdpSampler(const std::string& ifname) : ifname_(ifname) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) fail(ifname, fmt::format("no such interface ({})", std::strerror(errno)));
  if (bpf_xdp_query_id(int(ifindex), 0, &prog_id_) != 0 || prog_id_ == 0) {
    fail(ifname, "no XDP program attached (is xdp_prog= set on the net_af_xdp device?)");
  }
  const int prog_fd = bpf_prog_get_fd_by_id(prog_id_);
  if (prog_fd < 0)
    fail(ifname, fmt::format("cannot open program {}: {}", prog_id_, std::strerror(errno)));
  // The first call learns how many maps the program uses, the second fetches their ids.
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  std::vector<uint32_t> ids;
  int rc = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
  if (rc == 0) {
    ids.resize(info.nr_map_ids);
    const uint32_t n = info.nr_map_ids;
    info = {};
    info.nr_map_ids = n;
    info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
    len = sizeof info;
    rc = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
  }
  close(prog_fd);
  if (rc != 0)
    fail(ifname, fmt::format("cannot read program {}: {}", prog_id_, std::strerror(errno)));

  for (uint32_t id : ids) {
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_map_info mi{};
    uint32_t mlen = sizeof mi;
    if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0) {
      if (std::strcmp(mi.name, HS_XDP_CONFIG_MAP) == 0 && config_fd_ < 0 &&
          mi.value_size == sizeof(hs_xdp_config)) {
        config_fd_ = fd;
        continue;
      }
      if (std::strcmp(mi.name, HS_XDP_COUNTS_MAP) == 0 && counts_fd_ < 0 &&
          mi.value_size == sizeof(hs_xdp_counts)) {
        counts_fd_ = fd;
        continue;
      }
    }
    close(fd);
  }
  if (config_fd_ < 0 || counts_fd_ < 0) {
    fail(ifname, fmt::format("program {} is not the Haystack sampler (no maps {} and {})", prog_id_,
                             HS_XDP_CONFIG_MAP, HS_XDP_COUNTS_MAP));
  }
  ncpus_ = libbpf_num_possible_cpus();
  if (ncpus_ <= 0) fail(ifname, "cannot count the possible CPUs");
}

XdpSampler::~XdpSampler() {
  if (config_fd_ >= 0) close(config_fd_);
  if (counts_fd_ >= 0) close(counts_fd_);
}

void XdpSampler::configure(const XdpSamplerSettings& s) {
  const uint32_t key = 0;
  hs_xdp_config cfg{};
  cfg.rate = s.rate;
  cfg.drop_unsampled = s.drop_unsampled ? 1 : 0;
  if (bpf_map_update_elem(config_fd_, &key, &cfg, BPF_ANY) != 0) {
    fail(ifname_, fmt::format("cannot set the sampling rate: {}", std::strerror(errno)));
  }
}

XdpCounts XdpSampler::counts() const {
  const uint32_t key = 0;
  std::vector<hs_xdp_counts> v(static_cast<size_t>(ncpus_));
  if (bpf_map_lookup_elem(counts_fd_, &key, v.data()) != 0) {
    fail(ifname_, fmt::format("cannot read the counts: {}", std::strerror(errno)));
  }
  std::vector<XdpCpuCounts> per_cpu;
  per_cpu.reserve(v.size());
  for (const auto& c : v) per_cpu.push_back({c.sampled, c.unsampled, c.no_socket});
  return sum_xdp_counts(std::move(per_cpu));
}

}  // namespace haystack
