#!/usr/bin/env python3
"""Detection accuracy of haystackd against the ground truth of haystack-sim.

usage: eval-detection.py --sim DIR --haystackd PATH --work DIR [--rates 1,100,1000,10000]
                         [--d-run 0.1] [--img DIR] [--json OUT.json] [--reuse]

For every IoT sampling rate, replays DIR/sim.pcap through haystackd (net_pcap vdev, packet
clock, --until-idle, pseudonymize off, count sampling, iot.fraction = --d-run) and compares
<state>/detections/detections.jsonl with DIR/truth.jsonl (docs/simulator.md).

D sweep without rerunning: a detection record carries its evidence (the contacted domains
of the service, N = domains_total); the rule at D' >= d-run holds on a window iff
|evidence| >= max(1, floor(D'*N)) there and the parent holds at D' in the same window. The
primary-domain condition does not depend on D. So one run at the smallest D gives every
larger D exactly (checked against a direct run with --verify-d).

Prints a JSON summary (also written to --json) and draws PNG plots into --img.
"""
import argparse
import collections
import json
import math
import os
import resource
import subprocess
import sys
import time

HOUR = 3600 * 10**9
DAY = 24 * HOUR
DS = [round(0.1 * i, 1) for i in range(1, 11)]


def k_of(d, n):
    if n == 0:
        return 1
    k = math.floor(d * n + 1e-9)
    return n if k >= n else max(1, k)


class Bundle:
    def __init__(self, path):
        self.parent, self.level, self.n, self.primary = {}, {}, collections.Counter(), collections.defaultdict(set)
        self.domains = collections.defaultdict(set)  # service -> fqdns
        for line in open(path, encoding="utf-8"):
            t = line.split()
            if not t or t[0].startswith("#"):
                continue
            if t[0] == "service":
                self.parent[t[1]] = None if t[3] == "-" else t[3]
                self.level[t[1]] = t[2]
            elif t[0] == "domain":
                for u in t[2:]:
                    s, role = u.split(":")
                    self.domains[s].add(t[1])
                    if role == "primary":
                        self.primary[s].add(t[1])

    def detect(self, d, contacted):
        """The rule (METHODS §3) with the hierarchy, independent of haystackd's code."""
        c = set(contacted)
        memo = {}

        def ok(s, depth=0):
            if s in memo:
                return memo[s]
            dom = self.domains[s]
            r = bool(dom) and bool(self.primary[s] & c) and len(dom & c) >= k_of(d, len(dom))
            if r and self.parent[s] is not None:
                r = depth < 16 and ok(self.parent[s], depth + 1)
            memo[s] = r
            return r
        return {s for s in self.parent if ok(s)}


def load_truth(path):
    meta, devices, linedays = None, [], []
    for line in open(path):
        j = json.loads(line)
        if j["type"] == "meta":
            meta = j
        elif j["type"] == "device":
            devices.append(j)
        else:
            linedays.append(j)
    return meta, devices, linedays


def config(work, sim, rate, d, workers, lines):
    lpw = 1
    while lpw < max(16384, 2 * lines):
        lpw *= 2
    return f"""site_id: sim
mode: isp
subscriber_prefixes: [100.64.0.0/10, 2001:db8:8000::/33]
state_dir: {work}/state
alert_file: {work}/alerts.jsonl
log:
  level: warn
mempool:
  mbufs: 16383
telemetry:
  prometheus: false
bins:
  seconds: 300
ports:
  - name: sim
    device: "net_pcap0,rx_pcap={sim}/sim.pcap"
    rx_queues: 1
sampling:
  method: count
  flow_rate: 1000
  iot_rate: {rate}
flowtree:
  feature_sets: [SI]
  node_budget: 2000
  port_node_budget: 500
  flow_table_size: 65536
  persist: false
iot:
  hitlist: {sim}/sim.hitlist
  pseudonymize: false
  fraction: {d}
  lines_per_worker: {lpw}
  outage_alert: false
"""


def run_haystackd(haystackd, work, cfg, prefix):
    os.makedirs(work, exist_ok=True)
    cpath = os.path.join(work, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    for p in ("state/detections/detections.jsonl", "alerts.jsonl"):
        if os.path.exists(os.path.join(work, p)):
            os.unlink(os.path.join(work, p))
    cmd = [haystackd, "--config", cpath, "--until-idle=2000", "--stats-out",
           os.path.join(work, "stats.json"), "--", "--no-huge", "--no-pci", "-m", "512",
           "--log-level=*:warning", "--file-prefix", f"{prefix}{os.getpid()}"]
    t0 = time.monotonic()
    with open(os.path.join(work, "haystackd.log"), "w") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        _, status, ru = os.wait4(p.pid, 0)  # this run's own rusage (max RSS, CPU)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"haystackd failed ({rc}): {open(os.path.join(work, 'haystackd.log')).read()[-3000:]}")
    with open(os.path.join(work, "stats.json")) as f:
        stats = json.load(f)
    cpu = ru.ru_utime + ru.ru_stime
    return stats, {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "maxrss_mib": round(ru.ru_maxrss / 1024, 1)}


def load_detections(path):
    out = []
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if "service" not in d or "line" not in d:
                continue
            out.append(d)
    return out


def ts_ns(s):
    # "2026-11-01T10:00:00.000000000Z"
    import calendar
    base, frac = s.rstrip("Z").split(".") if "." in s else (s.rstrip("Z"), "0")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac.ljust(9, "0")[:9])


def holds_at(dets, bundle, d):
    """dets: records of one run; returns the set of (kind, start_ns, line, service) that hold at d."""
    by_win = collections.defaultdict(dict)
    for r in dets:
        by_win[(r["window"], r["_start"], r["line"])][r["service"]] = r
    out = set()
    for (kind, start, line), recs in by_win.items():
        memo = {}

        def ok(s, depth=0):
            if s in memo:
                return memo[s]
            r = recs.get(s)
            v = r is not None and len(r["domains"]) >= k_of(d, r["domains_total"])
            p = bundle.parent.get(s)
            if v and p is not None:
                v = depth < 16 and ok(p, depth + 1)
            memo[s] = v
            return v
        for s in recs:
            if ok(s):
                out.add((kind, start, line, s))
    return out


def evaluate(meta, devices, linedays, bundle, held, d):
    """Recall/time per (device, service), precision per service, FPs, at D = d."""
    start_ns = meta["start_ns"]
    ld = {}  # (id, day) -> lineday
    ids_of_line_day = collections.defaultdict(list)  # (line, day) -> ids
    for r in linedays:
        ld[(r["id"], r["day"])] = r
        ids_of_line_day[(r["line"], r["day"])].append(r["id"])
    days = sorted({r["day"] for r in linedays} | {x["day"] for dv in devices for x in dv["days"]})
    day_idx = {dd: i for i, dd in enumerate(days)}
    # expected per lineday at d (IoT devices only, and with the background's hitlist names)
    exp_iot, exp_bg = {}, {}
    for key, r in ld.items():
        exp_iot[key] = bundle.detect(d, r["iot_domains"])
        exp_bg[key] = bundle.detect(d, r["iot_domains"] + r["background_domains"])
    # detections: first window end per (line index, service); per (id, day) services
    first = {}
    det_pairs = collections.defaultdict(set)  # (id, day) -> services (any window)
    for kind, start, line, s in held:
        day = time.strftime("%Y-%m-%d", time.gmtime(start // 10**9))
        det_pairs[(line, day)].add(s)
        r = ld.get((line, day))
        if r is None:
            continue
        end = start + (HOUR if kind == "hour" else DAY)
        k = (r["line"], s)
        if k not in first or end < first[k]:
            first[k] = end
    # FPs and precision per service (unit: (line id, day, service))
    per_svc = collections.defaultdict(lambda: {"tp": 0, "fp": 0, "fp_background": 0, "detectable": 0,
                                               "detected": 0, "within": [0, 0, 0]})
    fps = []
    for (line, day), svcs in det_pairs.items():
        for s in svcs:
            key = (line, day)
            if key in exp_iot and s in exp_iot[key]:
                per_svc[s]["tp"] += 1
            elif key in exp_bg and s in exp_bg[key]:
                per_svc[s]["fp_background"] += 1
            else:
                per_svc[s]["fp"] += 1
                fps.append({"line": line, "day": day, "service": s})
    # recall and detection time per (device, service)
    times = collections.defaultdict(list)  # service -> [hours or inf]
    groups = {"all": [], "active": [], "idle": [], "hour_detectable": []}
    for dv in devices:
        want = set()
        for x in dv["days"]:
            want |= bundle.detect(d, x["domains"])
        hour_want = bundle.detect(d, dv.get("hour_domains", []))
        for s in sorted(want):
            per_svc[s]["detectable"] += 1
            end = first.get((dv["line"], s))
            h = math.inf if end is None else (end - dv["first_contact_ns"]) / HOUR
            if end is not None:
                per_svc[s]["detected"] += 1
            for i, lim in enumerate((1, 24, 72)):
                if h <= lim:
                    per_svc[s]["within"][i] += 1
            times[s].append(h)
            groups["all"].append(h)
            groups["idle" if dv["idle"] else "active"].append(h)
            if s in hour_want:
                groups["hour_detectable"].append(h)
    frac = {g: ([sum(1 for h in v if h <= lim) / len(v) for lim in (1, 24, 72)] if v else [0, 0, 0])
            for g, v in groups.items()}
    frac2h = {g: (sum(1 for h in v if h <= 2) / len(v) if v else 0) for g, v in groups.items()}
    levels = collections.Counter()
    for f in fps:
        levels[bundle.level[f["service"]]] += 1
    bg_levels = collections.Counter()
    for s, v in per_svc.items():
        if v["fp_background"]:
            bg_levels[bundle.level[s]] += v["fp_background"]
    return {"d": d, "pairs": {g: len(v) for g, v in groups.items()}, "within_1_24_72": frac,
            "within_2h": frac2h, "fp_background_by_level": dict(bg_levels),
            "per_service": per_svc, "false_positives": len(fps), "fp_by_level": dict(levels),
            "fp_examples": fps[:10],
            "fp_background": sum(v["fp_background"] for v in per_svc.values()),
            "times": times}


def lines_per_service_hour(held, d_level=None):
    c = collections.defaultdict(lambda: collections.defaultdict(set))
    for kind, start, line, s in held:
        if kind == "hour":
            c[s][start].add(line)
    return {s: {t: len(v) for t, v in sorted(h.items())} for s, h in c.items()}


def plots(img, results, meta, bundle):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(img, exist_ok=True)
    tag = meta.get("tag", "sim")
    # 1. detection-time CDF per service (Fig 5.10 style), D = 0.4, per rate
    for rate, res in results["rates"].items():
        ev = res["eval_d04"]
        times = ev["times"]
        top = sorted(times, key=lambda s: -len(times[s]))[:12]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        xs = [0.5 + 0.25 * i for i in range(0, 287)]
        for s in top:
            v = times[s]
            ax.step(xs, [sum(1 for h in v if h <= x) / len(v) for x in xs], where="post",
                    label=f"{s} ({bundle.level[s][0]}, n={len(v)})")
        ax.set_xscale("log")
        ax.set_xlim(0.5, 72)
        ax.set_ylim(0, 1.02)
        ax.set_xticks([1, 2, 6, 12, 24, 48, 72])
        ax.set_xticklabels(["1h", "2h", "6h", "12h", "24h", "48h", "72h"])
        ax.set_xlabel("time to detection since the device's first contact")
        ax.set_ylabel("fraction of detectable devices")
        ax.set_title(f"Detection time per service, D=0.4, IoT sampling 1:{rate}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(img, f"{tag}-detection-cdf-1in{rate}.png"), dpi=110)
        plt.close(fig)
    # 2. lines per service per hour (1:1, D = 0.4)
    r1 = results["rates"][min(results["rates"], key=int)]
    lph = r1["lines_per_service_hour"]
    top = sorted(lph, key=lambda s: -sum(lph[s].values()))[:10]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    t0 = meta["start_ns"]
    for s in top:
        pts = sorted(lph[s].items())
        ax.plot([(int(t) - t0) / HOUR for t, _ in pts], [n for _, n in pts], label=s)
    ax.set_xlabel("hour since start")
    ax.set_ylabel("lines with a detection in the hour")
    ax.set_title(f"Lines per service per hour (D=0.4, 1:{min(results['rates'], key=int)})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(img, f"{tag}-lines-per-service-hour.png"), dpi=110)
    plt.close(fig)
    # 3. recall vs sampling rate (D = 0.4), active and idle, within 1/24/72 h
    rates = sorted(results["rates"], key=int)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for g, style in (("active", "-"), ("idle", "--")):
        for i, lim in enumerate((1, 24, 72)):
            ax.plot([int(r) for r in rates], [results["rates"][r]["eval_d04"]["within_1_24_72"][g][i] for r in rates],
                    style, marker="o", label=f"{g}, within {lim} h")
    ax.set_xscale("log")
    ax.set_xlabel("IoT sampling rate 1:N")
    ax.set_ylabel("fraction of detectable devices detected")
    ax.set_ylim(0, 1.02)
    ax.axhline(0.72, color="grey", lw=0.5)
    ax.axhline(0.93, color="grey", lw=0.5)
    ax.axhline(0.96, color="grey", lw=0.5)
    ax.set_title("Recall vs IoT sampling rate (D=0.4; grey: paper 72/93/96 %)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(img, f"{tag}-recall-vs-sampling.png"), dpi=110)
    plt.close(fig)


def strip(ev):
    ev = dict(ev)
    ev.pop("times", None)
    ev["per_service"] = {s: v for s, v in sorted(ev["per_service"].items())}
    return ev


def pct(x):
    return f"{100 * x:.1f}"


def markdown(out):
    m = out["meta"]
    L = [f"Scenario: {m['lines']} lines, {m['hours']} h from {m['start']}, seed {m['seed']}, "
         f"{m['devices']} devices, {m['packets']} packets ({m['iot_packets']} IoT, "
         f"{m['background_packets']} background).", ""]
    L += ["| IoT sampling | packets | wall s | wall s / day | CPU s | max RSS MiB | detection records | lines full | line overflow |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r, e in sorted(out["rates"].items(), key=lambda x: int(x[0])):
        u = e["run"]
        L.append(f"| 1:{r} | {u['packets']} | {u['wall_s']} | {u['wall_s_per_day']} | {u['cpu_s']} | {u['maxrss_mib']} | "
                 f"{u['detection_records']} | {u['iot_lines_full']} | {u['iot_line_overflow']} |")
    L += ["", "Detected within 1 / 24 / 72 h (% of detectable (device, service) pairs), D = 0.4:", "",
          "| IoT sampling | all | active devices | idle devices | hour-detectable (within 1 h / 2 h) | FP (IoT truth) | FP from background names (by level) |",
          "|---|---|---|---|---|---|---|"]
    for r, e in sorted(out["rates"].items(), key=lambda x: int(x[0])):
        ev = e["eval_d04"]
        w = ev["within_1_24_72"]
        L.append(f"| 1:{r} | " + " | ".join("/".join(pct(x) for x in w[g]) + f" (n={ev['pairs'][g]})"
                                         for g in ("all", "active", "idle")) +
                 f" | {pct(w['hour_detectable'][0])} / {pct(ev['within_2h']['hour_detectable'])} (n={ev['pairs']['hour_detectable']})"
                 f" | {ev['false_positives']} {ev['fp_by_level'] or ''} | {ev['fp_background']} {ev['fp_background_by_level']} |")
    for r, e in sorted(out["rates"].items(), key=lambda x: int(x[0])):
        L += ["", f"D sweep at 1:{r} (within 1/24/72 h, all and active; FP):", "",
              "| D | pairs | all 1/24/72 h | active 1/24/72 h | idle 1/24/72 h | FP | FP background |", "|---|---|---|---|---|---|---|"]
        for d, v in sorted(e["by_d"].items(), key=lambda x: float(x[0])):
            w = v["within_1_24_72"]
            L.append(f"| {d} | {v['pairs']['all']} | " + " | ".join("/".join(pct(x) for x in w[g]) for g in ("all", "active", "idle")) +
                     f" | {v['false_positives']} | {v['fp_background']} |")
    r0 = min(out["rates"], key=int)
    L += ["", f"Per service at 1:{r0}, D = 0.4 (unit for precision: line id and day; recall: device):", "",
          "| service | detectable devices | detected | within 1/24/72 h | line-days TP | FP | FP background | precision | recall |",
          "|---|---|---|---|---|---|---|---|---|"]
    for s, v in out["rates"][r0]["eval_d04"]["per_service"].items():
        tp, fp, fb, n = v["tp"], v["fp"], v["fp_background"], v["detectable"]
        prec = tp / (tp + fp + fb) if tp + fp + fb else 0
        rec = v["detected"] / n if n else 0
        wi = "/".join(str(x) for x in v["within"])
        L.append(f"| {s} | {n} | {v['detected']} | {wi} | {tp} | {fp} | {fb} | {pct(prec)} | {pct(rec)} |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--haystackd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rates", default="1,100,1000,10000")
    ap.add_argument("--d-run", type=float, default=0.1)
    ap.add_argument("--verify-d", type=float, default=None,
                    help="also run haystackd at this D at the first rate and compare with the derived set")
    ap.add_argument("--img", default=None)
    ap.add_argument("--tag", default="sim")
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None, help="result tables (Markdown); default: --json with .md")
    ap.add_argument("--sweep-rates", default="1,1000", help="rates that get the whole D sweep (others: D = 0.4)")
    ap.add_argument("--reuse", action="store_true", help="reuse detections of an earlier run in --work")
    a = ap.parse_args()
    meta, devices, linedays = load_truth(os.path.join(a.sim, "truth.jsonl"))
    meta["tag"] = a.tag
    bundle = Bundle(os.path.join(a.sim, "sim.hitlist"))
    days = math.ceil(meta["hours"] / 24)
    results = {"meta": meta, "rates": {}}
    rates = [int(x) for x in a.rates.split(",")]
    for rate in rates:
        work = os.path.join(a.work, f"rate{rate}")
        det_path = os.path.join(work, "state", "detections", "detections.jsonl")
        if a.reuse and os.path.exists(det_path):
            run = json.load(open(os.path.join(work, "run.json")))
            stats = json.load(open(os.path.join(work, "stats.json")))
        else:
            stats, run = run_haystackd(a.haystackd, work, config(work, os.path.abspath(a.sim), rate, a.d_run, 1,
                                                               meta["lines"]), f"ev{rate}-")
            json.dump(run, open(os.path.join(work, "run.json"), "w"))
        dets = load_detections(det_path)
        for r in dets:
            r["_start"] = ts_ns(r["window_start"])
        tot = stats["totals"]
        run.update({"packets": tot.get("rx_packets"), "sampled_iot": tot.get("sampled_iot"),
                    "iot_matches": tot.get("iot_matches"), "iot_lines_full": tot.get("iot_lines_full"),
                    "iot_line_overflow": tot.get("iot_line_overflow"),
                    "wall_s_per_day": round(run["wall_s"] / (meta["hours"] / 24), 2),
                    "lines_per_core_realtime_wall": int(meta["lines"] * meta["hours"] * 3600 / max(run["wall_s"], 1e-3)),
                    "detection_records": len(dets)})
        entry = {"run": run, "by_d": {}}
        sweep = {int(x) for x in a.sweep_rates.split(",")}
        for d in DS:
            if d + 1e-9 < a.d_run or (rate not in sweep and abs(d - 0.4) > 1e-9):
                continue
            held = holds_at(dets, bundle, d)
            ev = evaluate(meta, devices, linedays, bundle, held, d)
            if abs(d - 0.4) < 1e-9:
                entry["eval_d04"] = ev
                entry["lines_per_service_hour"] = {s: {str(t): n for t, n in v.items()}
                                                   for s, v in lines_per_service_hour(held).items()}
            entry["by_d"][str(d)] = {"within_1_24_72": ev["within_1_24_72"], "within_2h": ev["within_2h"],
                                     "pairs": ev["pairs"], "fp_background_by_level": ev["fp_background_by_level"],
                                     "false_positives": ev["false_positives"], "fp_by_level": ev["fp_by_level"],
                                     "fp_background": ev["fp_background"]}
        results["rates"][str(rate)] = entry
        print(f"rate 1:{rate}: {json.dumps(run)}", file=sys.stderr)
        print(f"  D=0.4 within 1/24/72 h: {entry['eval_d04']['within_1_24_72']}  FP {entry['eval_d04']['false_positives']}"
              f" (background {entry['eval_d04']['fp_background']})", file=sys.stderr)
        if a.verify_d is not None and rate == rates[0]:
            vwork = os.path.join(a.work, f"verify{rate}")
            run_haystackd(a.haystackd, vwork, config(vwork, os.path.abspath(a.sim), rate, a.verify_d, 1,
                                                     meta["lines"]), f"vf{rate}-")
            direct = load_detections(os.path.join(vwork, "state", "detections", "detections.jsonl"))
            got = {(r["window"], ts_ns(r["window_start"]), r["line"], r["service"]) for r in direct}
            derived = holds_at(dets, bundle, a.verify_d)
            results["verify"] = {"d": a.verify_d, "direct": len(got), "derived": len(derived),
                                 "equal": got == derived}
            print(f"  verify D={a.verify_d}: direct {len(got)} derived {len(derived)} equal {got == derived}",
                  file=sys.stderr)
    if a.img:
        plots(a.img, results, meta, bundle)
    out = {"meta": meta, "verify": results.get("verify"), "rates": {}}
    for r, e in results["rates"].items():
        out["rates"][r] = {"run": e["run"], "by_d": e["by_d"], "eval_d04": strip(e["eval_d04"])}
    if a.json and not a.markdown:
        a.markdown = os.path.splitext(a.json)[0] + ".md"
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(out))
    text = json.dumps(out, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
