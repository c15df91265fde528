#!/usr/bin/env python3
"""Human-readable summary of a haystackd final statistics document (--stats-out)."""
import json
import sys

s = json.load(open(sys.argv[1]))
t = s["totals"]
print(f"site {s['site_id']} ({s['mode']}), clock {s['clock']}, bins of {s['bin_seconds']} s, "
      f"sampling {s['sampling']['method']} flow 1:{s['sampling']['flow_rate']} "
      f"iot 1:{s['sampling']['iot_rate']}")
for p in s["ports"]:
    print(f"port {p['name']} ({p['driver']}): {p['ipackets']} packets, {p['ibytes']} bytes, "
          f"missed {p['imissed']}, errors {p['ierrors']}, no-mbuf {p['rx_nombuf']}")
print(f"received {t['rx_packets']} frames / {t['rx_bytes']} bytes: "
      f"IPv4 {t['ipv4_packets']}, IPv6 {t['ipv6_packets']}, non-IP {t['non_ip_packets']}, "
      f"parse errors {t['parse_errors']}")
print(f"L4: TCP {t['tcp_packets']}, UDP {t['udp_packets']}, ICMP {t['icmp_packets']}, "
      f"ICMPv6 {t['icmpv6_packets']}, GRE {t['gre_packets']}, other {t['other_l4_packets']}; "
      f"fragments {t['fragments']}")
print(f"sampled: {t['sampled_flow']} for flow summaries, {t['sampled_iot']} for IoT matching")
errs = {k: v for k, v in t["parse_errors_by_reason"].items() if v}
if errs:
    print("parse errors by reason:", ", ".join(f"{k} {v}" for k, v in errs.items()))
bins = s["bins"]
print(f"{len(bins)} non-empty bins from {bins[0]['start'] if bins else '-'} "
      f"to {bins[-1]['start'] if bins else '-'}; busiest bins:")
for b in sorted(bins, key=lambda b: (-b["packets"], b["start_ns"]))[:5]:
    print(f"  {b['start']}  {b['packets']:6d} packets  {b['bytes']:9d} bytes")
