// Per-worker counters. One cache-line-aligned block per worker, written only by it.
// The X-macro is the single list of names: stats JSON, /metrics and telemetry all
// iterate it, so a counter cannot be added without being exported.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/parser.h"
#include "dataplane/tls_sni.h"
#include "telemetry/counter.h"

namespace haystack {

#define HAYSTACK_WORKER_COUNTERS(X)                                                        \
  X(rx_packets, "frames received from the RX queues")                                     \
  X(rx_bytes, "bytes received (wire length)")                                              \
  X(ipv4_packets, "IPv4 packets")                                                          \
  X(ipv6_packets, "IPv6 packets")                                                          \
  X(non_ip_packets, "frames without an IP header (ARP, LLDP, ...), not errors")            \
  X(tcp_packets, "TCP packets")                                                            \
  X(udp_packets, "UDP packets")                                                            \
  X(icmp_packets, "ICMP packets")                                                          \
  X(icmpv6_packets, "ICMPv6 packets")                                                      \
  X(gre_packets, "GRE packets (counted by outer header)")                                  \
  X(other_l4_packets, "IP packets with another L4 protocol")                               \
  X(fragments, "IP fragments (first and later)")                                           \
  X(non_first_fragments, "IP fragments without L4 ports")                                  \
  X(vlan_packets, "frames with at least one 802.1Q/802.1ad tag")                           \
  X(mpls_packets, "frames with an MPLS label stack")                                       \
  X(pppoe_packets, "PPPoE session frames")                                                 \
  X(vxlan_packets, "VXLAN-encapsulated packets (outer headers accounted)")                 \
  X(geneve_packets, "GENEVE-encapsulated packets (outer headers accounted)")               \
  X(parse_errors, "frames rejected by the parser (sum of all reasons)")                    \
  X(sampled_flow, "IP packets kept by the flow-summary sampler")                           \
  X(sampled_iot, "IP packets kept by the IoT-matching sampler")                            \
  X(new_flows, "distinct 5-tuples first seen in their bin among flow-sampled packets")      \
  X(flow_set_full, "flow-sampled packets whose 5-tuple could not be tracked (not counted as new flows)") \
  X(iot_matches, "IoT-sampled packets attributed to a subscriber line and a hitlist endpoint") \
  X(iot_lines_full, "IoT packets not recorded because the per-bin evidence table was full") \
  X(iot_no_line, "hitlist packets without a subscriber side (isp mode)")                    \
  X(iot_not_established, "ixp mode: TCP SYNs to hitlist endpoints, not counted (spoofable)") \
  X(iot_line_overflow, "IoT packets that hit a per-line bound (domains, services, IPs)")    \
  X(iot_scan_syns, "TCP SYNs from subscriber lines to ports 23, 2323 and 22")               \
  X(eui64_packets, "IoT-sampled IPv6 packets with an EUI-64 (MAC-derived) subscriber address") \
  X(eui64_table_full, "subscriber /56 observations not recorded: per-bin EUI-64 table full") \
  X(late_packets, "packets with a timestamp before the open bin, counted in the open bin") \
  X(missing_timestamp, "packet-clock frames without a driver timestamp (wall clock used)") \
  X(bins_closed, "bins closed and handed to control")                                      \
  X(bin_ring_full, "closed bins dropped because the ring to control was full")             \
  X(bin_pool_empty, "bins merged into the next because no free bin record was available") \
  X(learning_dns_responses, "DNS responses (source port 53) parsed for learning")          \
  X(learning_dns_skipped, "port-53 messages not learned from: queries, RCODE != 0, no question") \
  X(learning_dns_malformed, "port-53 messages rejected as malformed (by reason: learning_errors)") \
  X(learning_sni_hellos, "TLS ClientHellos with a server name parsed for learning")        \
  X(learning_sni_skipped, "TLS handshake records without a name: not a ClientHello, no SNI") \
  X(learning_sni_malformed, "TLS ClientHellos rejected as malformed or truncated (by reason)") \
  X(learning_names_matched, "DNS/SNI names that matched the name database")                \
  X(learning_records, "learned bindings handed to control")                               \
  X(learning_ring_full, "learned bindings dropped because the ring to control was full")

struct alignas(64) WorkerCounters {
#define HAYSTACK_DECLARE_COUNTER(name, help) Counter name;
  HAYSTACK_WORKER_COUNTERS(HAYSTACK_DECLARE_COUNTER)
#undef HAYSTACK_DECLARE_COUNTER
  std::array<Counter, kParseErrorCount> parse_error{};  // by ParseError reason
  std::array<Counter, kDnsErrorCount> learning_dns_error{};  // by DnsError reason
  std::array<Counter, kSniErrorCount> learning_sni_error{};  // by SniError reason

  template <typename F>
  void for_each(F&& f) const {
#define HAYSTACK_VISIT_COUNTER(name, help) f(std::string_view(#name), std::string_view(help), name.get());
    HAYSTACK_WORKER_COUNTERS(HAYSTACK_VISIT_COUNTER)
#undef HAYSTACK_VISIT_COUNTER
  }
};

}  // namespace haystack
