/* The contract between the XDP sampler (xdp_sampler.bpf.c, built with clang -target bpf)
 * and haystackd (xdp_sampler.cc): map names and value layouts. Plain C, shared by both. */
#ifndef HAYSTACK_XDP_SAMPLER_ABI_H
#define HAYSTACK_XDP_SAMPLER_ABI_H

#include <linux/types.h>

/* Map names (at most 15 characters: the kernel keeps 16 bytes with the NUL). DPDK's
 * net_af_xdp with xdp_prog= inserts its sockets into the map named xsks_map, keyed by
 * RX queue index. */
#define HS_XDP_XSKS_MAP "xsks_map"
#define HS_XDP_CONFIG_MAP "hs_xdp_config"
#define HS_XDP_COUNTS_MAP "hs_xdp_counts"

/* hs_xdp_config[0], written by haystackd once the program is attached. Until then it is
 * zero: every packet is sampled, so totals are exact from the first packet on. */
struct hs_xdp_config {
  __u32 rate;           /* keep 1 in `rate` packets per CPU; 0 and 1 keep all */
  __u32 drop_unsampled; /* 1: XDP_DROP the rest (mirror port); 0: XDP_PASS to the stack */
};

/* hs_xdp_counts[0], one copy per CPU, written only by that CPU. For every CPU:
 * seen = sampled + unsampled + no_socket, and sampled = ceil(seen_sampling / rate) for a
 * constant rate, where seen_sampling = sampled + unsampled. */
struct hs_xdp_counts {
  __u64 sampled;    /* redirected to the AF_XDP socket of the packet's RX queue */
  __u64 unsampled;  /* passed or dropped by the sampler (counted, never seen by haystackd) */
  __u64 no_socket;  /* sampled, but no socket on that queue: handled like unsampled */
  __u64 countdown;  /* packets to skip before the next sample (sampler state) */
};

#endif
