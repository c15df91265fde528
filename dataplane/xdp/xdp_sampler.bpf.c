/* XDP sampler for AF_XDP capture on kernel NICs (docs/deployment.md, "AF_XDP").
 * Keeps a deterministic 1-in-N of the packets on each CPU and redirects them to the
 * AF_XDP socket of their RX queue; counts the rest per CPU so haystackd's totals stay
 * exact (sampled seen in user space + unsampled counted here). Load it with DPDK
 * net_af_xdp `xdp_prog=<this object>`; haystackd then finds the maps by name on the
 * attached program and sets the rate. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_sampler_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hs_xdp_config);
} hs_xdp_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hs_xdp_counts);
} hs_xdp_counts SEC(".maps");

SEC("xdp")
int hs_xdp_sampler(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct hs_xdp_counts* c = bpf_map_lookup_elem(&hs_xdp_counts, &zero);
  struct hs_xdp_config* cfg = bpf_map_lookup_elem(&hs_xdp_config, &zero);
  if (!c || !cfg) return XDP_PASS; /* cannot happen for array maps; keeps the verifier happy */
  const int rest = cfg->drop_unsampled ? XDP_DROP : XDP_PASS;

  /* Count-based: sample the first packet, then skip rate-1. Per CPU, so no atomics. */
  if (c->countdown != 0) {
    c->countdown--;
    c->unsampled++;
    return rest;
  }
  c->countdown = cfg->rate > 1 ? cfg->rate - 1 : 0;

  __u32 queue = ctx->rx_queue_index;
  if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
    c->no_socket++;
    return rest;
  }
  c->sampled++;
  return bpf_redirect_map(&xsks_map, queue, rest);
}

char _license[] SEC("license") = "Dual BSD/GPL";
