#!/usr/bin/env python3
"""haystack-sim: determinism, and a small simulated ISP through haystackd with exact expected
detections from the simulator's ground truth. usage: test_sim.py CASE

Environment (set by meson): those of test_haystackd.py plus HAYSTACK_SIM.
"""
import hashlib
import importlib.util
import json
import os
import subprocess

from test_haystackd import DATA, check, fail, pcap_records, run_haystackd, run_case

_spec = importlib.util.spec_from_file_location(
    "eval_detection", os.path.join(DATA, "..", "..", "scripts", "eval-detection.py"))
EVAL = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(EVAL)

SIM = os.environ["HAYSTACK_SIM"]
BUNDLE = os.path.join(DATA, "hitlist", "example-2026-11-01.hitlist")
CATALOG = os.path.join(DATA, "sim", "behaviot")
PYASN = os.path.join(DATA, "sim", "ipasn-sample.dat")
OUTPUTS = ("sim.pcap", "truth.jsonl", "sim.hitlist", "world.dns")


def simulate(out, seed, lines=300, hours=6, extra=()):
    cmd = [SIM, "--bundle", BUNDLE, "--catalog", CATALOG, "--pyasn", PYASN, "--out", out,
           "--seed", str(seed), "--lines", str(lines), "--hours", str(hours), *extra]
    print("run:", " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        fail(f"haystack-sim exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def digests(d):
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest() for f in OUTPUTS}


def truth(d):
    """The ground truth as scripts/eval-detection.py reads it (one reader for both)."""
    return EVAL.load_truth(os.path.join(d, "truth.jsonl"))


def case_sim_deterministic(tmp):
    """Same seed: byte-identical pcap, ground truth, hitlist and DNS world; another seed:
    a different pcap. The pcap is time-ordered and holds the packets the summary counts."""
    a, b, c = (os.path.join(tmp, x) for x in "abc")
    sa = simulate(a, 7)
    sb = simulate(b, 7)
    simulate(c, 8)
    da, db, dc = digests(a), digests(b), digests(c)
    for f in OUTPUTS:
        check(da[f] == db[f], f"seed 7 twice: {f} identical ({da[f][:16]})")
    check(da["sim.pcap"] != dc["sim.pcap"], "seed 8 gives a different pcap")
    check({k: v for k, v in sa.items() if k != "seconds"} == {k: v for k, v in sb.items() if k != "seconds"},
          "same summary twice")
    n, last, ordered = 0, 0, True
    for ts, _ in pcap_records(os.path.join(a, "sim.pcap")):
        ordered &= ts >= last
        last = ts
        n += 1
    check(n == sa["packets"] and ordered, f"pcap holds {sa['packets']} packets in time order ({n})")
    meta, devices, linedays = truth(a)
    check(meta["devices"] == len(devices) and len(devices) > 0, f"{len(devices)} devices in the ground truth")
    check(any(d["alexa3p"] for d in devices), "an Alexa-enabled third-party device is simulated")
    check(any(len(x["devices"]) > 1 for x in linedays), "some line has several devices behind one address")
    check(any(x["family"] == 6 for x in linedays), "some line uses IPv6")


def case_sim_detections_exact(tmp):
    """300 lines over 6 hours (several devices behind one address, Alexa-enabled third-party
    hardware, dual-stack lines, background reaching popular hitlist names) replayed through
    haystackd at 1:1 with D = 0.4: the daily detections per line id equal the simulator's
    expected services exactly, and no hourly detection is outside them."""
    sim = os.path.join(tmp, "sim")
    summary = simulate(sim, 11, extra=["--bg-popular-fraction", "0.02", "--bg-pph", "10", "--alexa3p-fraction", "0.15"])
    meta, devices, linedays = truth(sim)
    cfg = f"""site_id: sim
mode: isp
subscriber_prefixes: [100.64.0.0/10, 2001:db8:8000::/33]
state_dir: {tmp}/state
alert_file: {tmp}/alerts.jsonl
log:
  level: info
mempool:
  mbufs: 4095
telemetry:
  prometheus_listen: 127.0.0.1:0
bins:
  seconds: 300
ports:
  - name: sim
    device: "net_pcap0,rx_pcap={sim}/sim.pcap"
    rx_queues: 1
flowtree:
  feature_sets: [SI]
  node_budget: 2000
  port_node_budget: 500
  flow_table_size: 65536
iot:
  hitlist: {sim}/sim.hitlist
  pseudonymize: false
"""
    r = run_haystackd(tmp, cfg, prefix="sim")
    check(r.rc == 0, "haystackd replays the simulated ISP")
    tot = r.stats["totals"]
    check(tot["rx_packets"] == summary["packets"], f"all {summary['packets']} packets received")
    check(tot["iot_lines_full"] == 0 and tot["iot_line_overflow"] == 0, "no evidence bound hit")
    daily, hourly = {}, {}
    with open(os.path.join(tmp, "state", "detections", "detections.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if "service" not in d:
                continue
            day = d["window_start"][:10]
            (daily if d["window"] == "day" else hourly).setdefault((d["line"], day), set()).add(d["service"])
    want = {(x["id"], x["day"]): set(x["expected_with_background"]) for x in linedays}
    want = {k: v for k, v in want.items() if v}
    n_bg = sum(1 for x in linedays if set(x["expected_with_background"]) != set(x["expected"]))
    check(len(want) > 20 and n_bg > 0,
          f"{len(want)} line-days with expected detections, {n_bg} of them from background names")
    check(sorted(daily) == sorted(want), f"daily detections on exactly the {len(want)} expected line ids")
    bad = [(k, sorted(daily[k]), sorted(want[k])) for k in want if daily.get(k) != want[k]]
    check(not bad, f"daily services per line equal the ground truth (first mismatches: {bad[:3]})")
    extra = [(k, sorted(v - want.get(k, set()))) for k, v in hourly.items() if not v <= want.get(k, set())]
    check(not extra, f"hourly detections within the expected services ({extra[:3]})")
    # the Alexa-enabled third-party hardware alone: the platform only
    kinds = {}
    for d in devices:
        kinds.setdefault(d["line"], set()).add(d["alexa3p"])
    alone = [x for x in linedays if kinds.get(x["line"]) == {True} and not x["background_domains"]]
    check(alone and all(daily[(x["id"], x["day"])] == {"amazon-alexa"} for x in alone),
          f"{len(alone)} lines with only an Alexa-enabled third-party device: amazon-alexa only")



if __name__ == "__main__":
    run_case(globals(), "haystack-sim-", args=2)
