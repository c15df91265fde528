#!/usr/bin/env python3
"""Runs haystackd's on-the-wire learning over pcaps and summarises what it learned.

For each capture: one replay (net_pcap vdev, --until-idle) with the given hitlist and
backend patterns, then the learning counters of the statistics document, the learned
bindings (learned.dns) and the per-IP verdicts (endpoints.jsonl). Used for
docs/evaluation.md; see there for the exact commands.

usage: eval-learning.py --haystackd BIN --hitlist FILE [--backend-patterns CSV]
                        --work DIR [--json OUT] PCAP...
"""
import argparse
import json
import os
import subprocess
import sys

CONFIG = """site_id: eval
mode: isp
subscriber_prefixes: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7]
state_dir: {state}
alert_file: {work}/alerts.jsonl
log:
  level: warn
mempool:
  mbufs: 4095
telemetry:
  prometheus: false
  dpdk_commands: false
flowtree:
  persist: false
  feature_sets: [SI]
  node_budget: 2000
ports:
  - name: tap
    device: "net_pcap0,rx_pcap={pcap}"
iot:
  hitlist: {hitlist}
  pseudonymize: false
learning:
{learning}"""


def run(args, pcap, i):
    name = os.path.basename(pcap)
    work = os.path.join(args.work, f"{i:02d}-{name}")
    os.makedirs(work, exist_ok=True)
    learning = "  enabled: true\n"
    if args.backend_patterns:
        learning += f"  backend_patterns: {os.path.abspath(args.backend_patterns)}\n"
    cfg = CONFIG.format(state=os.path.join(work, "state"), work=work, pcap=os.path.abspath(pcap),
                        hitlist=os.path.abspath(args.hitlist), learning=learning)
    cpath = os.path.join(work, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    spath = os.path.join(work, "stats.json")
    cmd = [args.haystackd, "--config", cpath, "--until-idle=1500", "--stats-out", spath, "--",
           "--no-huge", "--no-pci", "-m", "512", "--log-level=*:error",
           "--file-prefix", f"eval{os.getpid()}_{i}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"{name}: haystackd exited {p.returncode}: {p.stderr[-2000:]}")
    stats = json.load(open(spath))
    t = stats["totals"]
    learned = os.path.join(work, "state", "learning", "learned.dns")
    bindings = []
    if os.path.exists(learned):
        bindings = [l.split()[:3] for l in open(learned) if l.strip() and not l.startswith(("#", "dns "))]
    eps = []
    epath = os.path.join(work, "state", "learning", "endpoints.jsonl")
    if os.path.exists(epath):
        eps = [json.loads(l) for l in open(epath) if l.strip()]
    return {
        "pcap": name,
        "packets": t["rx_packets"],
        "dns_responses": t["learning_dns_responses"],
        "dns_skipped": t["learning_dns_skipped"],
        "dns_malformed": t["learning_dns_malformed"],
        "sni_hellos": t["learning_sni_hellos"],
        "sni_skipped": t["learning_sni_skipped"],
        "sni_malformed": t["learning_sni_malformed"],
        "reasons": {k: v for k, v in t["learning_by_reason"].items() if v},
        "names_matched": t["learning_names_matched"],
        "records": t["learning_records"],
        "ring_full": t["learning_ring_full"],
        "bindings": [" ".join(b) for b in bindings],
        "ips_dedicated": sorted(e["ip"] for e in eps if e["dedicated"]),
        "ips_shared": sorted(e["ip"] for e in eps if not e["dedicated"]),
        "catalog_domains": sorted({d for e in eps for d in e["catalog_domains"]}),
        "backend_providers": sorted({d for e in eps for d in e["backend_providers"]}),
        "matches_backend": stats.get("learning", {}).get("matches_backend", 0),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--haystackd", required=True)
    ap.add_argument("--hitlist", required=True)
    ap.add_argument("--backend-patterns")
    ap.add_argument("--work", required=True)
    ap.add_argument("--json")
    ap.add_argument("pcaps", nargs="+")
    args = ap.parse_args()
    rows = [run(args, p, i) for i, p in enumerate(args.pcaps)]
    print("| capture | packets | DNS responses | skipped | malformed | ClientHellos (SNI) | "
          "skipped | malformed | names matched | bindings | IPs dedicated / shared |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pcap']} | {r['packets']} | {r['dns_responses']} | {r['dns_skipped']} | "
              f"{r['dns_malformed']} | {r['sni_hellos']} | {r['sni_skipped']} | "
              f"{r['sni_malformed']} | {r['names_matched']} | {len(r['bindings'])} | "
              f"{len(r['ips_dedicated'])} / {len(r['ips_shared'])} |")
    for r in rows:
        if r["reasons"]:
            print(f"{r['pcap']}: reasons {r['reasons']}")
        if r["catalog_domains"] or r["backend_providers"]:
            print(f"{r['pcap']}: catalog domains {r['catalog_domains']}; "
                  f"providers {r['backend_providers']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
