#!/usr/bin/env python3
"""Integration scenarios for haystackd on DPDK vdevs. usage: test_haystackd.py CASE

Environment (set by meson): HAYSTACKD, HAYSTACK_PCAP_SPLIT, HAYSTACK_TEST_DATA.
Each case prints what it checks and exits non-zero on the first failure.
"""
import ipaddress
import calendar
import json
import shutil
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HAYSTACKD = os.environ["HAYSTACKD"]
SPLIT = os.environ["HAYSTACK_PCAP_SPLIT"]
FLOWTREE = os.environ["HAYSTACK_FLOWTREE"]
DATA = os.environ["HAYSTACK_TEST_DATA"]
SHARED_PCAPS = os.path.join(DATA, "..", "..", "..", "shared", "data", "pcaps")  # ../shared beside the repo
SAMPLE = os.path.join(DATA, "pcaps", "sample-iot.pcap")
GOLDEN = os.path.join(DATA, "golden")
EAL = ["--no-huge", "--no-pci", "-m", "512", "--log-level=*:warning"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def pcap_records(path):
    """Yields (ts_ns, frame bytes) of a classic pcap file; independent of haystack code."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        fail(f"{path}: unexpected pcap magic {magic:#x}")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        yield sec * 10**9 + (frac if nano else frac * 1000), data[off:off + incl]
        off += incl


def is_ip(frame):
    """Ethernet frame carries IPv4/IPv6 directly or behind VLAN tags."""
    off = 12
    while off + 2 <= len(frame):
        et = struct.unpack(">H", frame[off:off + 2])[0]
        if et in (0x8100, 0x88A8, 0x9100):
            off += 4
            continue
        return et in (0x0800, 0x86DD)
    return False


def pcap_counts(path):
    total = ip = 0
    for _, fr in pcap_records(path):
        total += 1
        ip += is_ip(fr)
    return total, ip


def ceil_div(a, b):
    return (a + b - 1) // b


class Run:
    def __init__(self, rc, out, err, stats, alerts):
        self.rc, self.out, self.err, self.stats, self.alerts = rc, out, err, stats, alerts


SMALL_TREES = """flowtree:
  feature_sets: [SI, DI, SP, DP, SIDP, FULL]
  node_budget: 2000
  port_node_budget: 500
  flow_table_size: 65536
"""


def config_text(tmp, ports, workers=None, sampling=None, bins=60, clock=None, extra=SMALL_TREES):
    lines = [
        "site_id: test-site",
        "mode: isp",
        "subscriber_prefixes: [192.168.0.0/16, 10.0.0.0/8, 2001:db8::/32]",
        f"state_dir: {tmp}/state",
        f"alert_file: {tmp}/alerts.jsonl",
        "log:",
        "  level: info",
        "mempool:",
        "  mbufs: 4095",
        "telemetry:",  # several test daemons may run at once: any free port
        "  prometheus_listen: 127.0.0.1:0",
        "bins:",
        f"  seconds: {bins}",
        "ports:",
    ]
    for name, dev, q in ports:
        lines += [f"  - name: {name}", f"    device: \"{dev}\"", f"    rx_queues: {q}"]
    if workers is not None:
        lines.append(f"workers: [{', '.join(str(w) for w in workers)}]")
    if sampling:
        lines.append("sampling:")
        lines += [f"  {k}: {v}" for k, v in sampling.items()]
    if clock:
        lines.append(f"clock: {clock}")
    return "\n".join(lines) + "\n" + extra


def run_haystackd(tmp, cfg, eal_extra=(), args=("--until-idle=1500",), prefix="hs",
                  timeout=120):
    cpath = os.path.join(tmp, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    spath = os.path.join(tmp, "stats.json")
    if os.path.exists(spath):
        os.unlink(spath)
    cmd = [HAYSTACKD, "--config", cpath, *args, "--stats-out", spath, "--",
           *EAL, "--file-prefix", f"{prefix}{os.getpid()}", *eal_extra]
    print("run:", " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    stats = None
    if os.path.exists(spath):
        with open(spath) as f:
            stats = json.load(f)
    alerts = []
    apath = os.path.join(tmp, "alerts.jsonl")
    if os.path.exists(apath):
        with open(apath) as f:
            alerts = [json.loads(l) for l in f if l.strip()]
    if p.returncode != 0:
        print(p.stderr[-4000:])
    return Run(p.returncode, p.stdout, p.stderr, stats, alerts)


def split(tmp, queues):
    out = subprocess.run([SPLIT, SAMPLE, str(queues), os.path.join(tmp, "q")],
                         capture_output=True, text=True, check=True).stdout
    files = [l.split()[0] for l in out.splitlines()]
    check(len(files) == queues, f"pcap split into {queues} queue files")
    return files


def three_worker_run(tmp, sampling=None, extra=SMALL_TREES):
    files = split(tmp, 3)
    dev = "net_pcap0," + ",".join(f"rx_pcap={f}" for f in files)
    cfg = config_text(tmp, [("in0", dev, 3)], workers=[1, 2, 3], sampling=sampling, extra=extra)
    r = run_haystackd(tmp, cfg, eal_extra=["--lcores", "0@0,1@0,2@1,3@1"])
    check(r.rc == 0, f"3-worker replay exits 0 (rc={r.rc})")
    return files, r


def counters(stats, w=None):
    return stats["totals"] if w is None else stats["workers"][w]["counters"]


# ----------------------------------------------------------------------------- cases

def case_replay_one_worker(tmp):
    total, ip = pcap_counts(SAMPLE)
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                      sampling={"flow_rate": 7, "iot_rate": 1})
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, f"exit code 0 (got {r.rc})")
    s = r.stats
    t = counters(s)
    check(s["clock"] == "packet", "replay of pcap vdevs uses packet time")
    check(t["rx_packets"] == total, f"rx_packets {t['rx_packets']} == packets in pcap {total}")
    check(s["ports"][0]["ipackets"] == total, "NIC ipackets equals pcap packets")
    check(t["ipv4_packets"] + t["ipv6_packets"] == ip, f"IP packets == {ip}")
    check(t["ipv4_packets"] + t["ipv6_packets"] + t["non_ip_packets"] + t["parse_errors"] == total,
          "every frame is IPv4, IPv6, non-IP or a counted parse error")
    check(t["sampled_flow"] == ceil_div(ip, 7), f"sampled_flow == ceil({ip}/7)")
    check(t["sampled_iot"] == ip, "iot rate 1 keeps every IP packet")
    check(sum(b["packets"] for b in s["bins"]) == total, "bins account for every packet")
    first_ts = next(pcap_records(SAMPLE))[0]
    check(s["bins"][0]["start_ns"] == first_ts - first_ts % (60 * 10**9),
          "first bin starts at the minute of the first packet timestamp")
    check(s["bins"][0]["start"] == "2026-11-01T10:00:00.000000000Z", "bin start is RFC 3339")
    # every bin is 60 s aligned and strictly increasing
    starts = [b["start_ns"] for b in s["bins"]]
    check(all(x % (60 * 10**9) == 0 for x in starts) and starts == sorted(set(starts)),
          "bins are aligned and unique")
    check(t["late_packets"] == 0 and t["missing_timestamp"] == 0, "no late or untimed packets")
    types = [a["type"] for a in r.alerts]
    check(types == ["daemon_start", "daemon_stop"], f"start/stop alerts written ({types})")
    check(r.alerts[1]["details"]["rx_packets"] == total, "stop alert carries rx total")
    check(set(r.alerts[0].keys()) == {"time", "time_ns", "site", "type", "severity", "subject",
                                      "details"}, "alert schema keys")


def case_replay_three_workers(tmp):
    total, ip = pcap_counts(SAMPLE)
    files, r = three_worker_run(tmp, sampling={"flow_rate": 5, "iot_rate": 2})
    s = r.stats
    check(len(s["workers"]) == 3, "three workers")
    per_sum = 0
    for w in range(3):
        qtotal, qip = pcap_counts(files[w])
        c = counters(s, w)
        check(s["workers"][w]["queues"] == [{"port": "in0", "queue": w}],
              f"worker {w} polls queue {w}")
        check(c["rx_packets"] == qtotal, f"worker {w} rx {c['rx_packets']} == queue file {qtotal}")
        check(c["sampled_flow"] == ceil_div(qip, 5), f"worker {w} sampled_flow == ceil({qip}/5)")
        check(c["sampled_iot"] == ceil_div(qip, 2), f"worker {w} sampled_iot == ceil({qip}/2)")
        per_sum += c["rx_packets"]
    check(per_sum == total == counters(s)["rx_packets"], f"per-worker sum == total == {total}")
    check(s["ports"][0]["ipackets"] == total, "port ipackets == pcap packets")
    check(min(counters(s, w)["rx_packets"] for w in range(3)) > 0, "RSS split feeds every worker")
    check(sum(b["packets"] for b in s["bins"]) == total, "bins account for every packet")


def case_replay_deterministic(tmp):
    """Two replays from the same initial state (the state directory and alert file of the
    first run removed: its store would otherwise already hold the trees) give
    byte-identical documents."""
    docs = []
    for _ in range(2):
        shutil.rmtree(os.path.join(tmp, "state"), ignore_errors=True)
        if os.path.exists(os.path.join(tmp, "alerts.jsonl")):
            os.remove(os.path.join(tmp, "alerts.jsonl"))
        three_worker_run(tmp, sampling={"method": "hash", "flow_rate": 3, "iot_rate": 9})
        with open(os.path.join(tmp, "stats.json"), "rb") as f:
            docs.append(f.read())
    check(docs[0] == docs[1], f"final JSON byte-identical across runs ({len(docs[0])} bytes)")


def case_hash_sampling_independent_of_workers(tmp):
    sampling = {"method": "hash", "flow_rate": 4, "iot_rate": 16, "hash_seed": "0x5eed"}
    _, three = three_worker_run(tmp, sampling=sampling)
    one = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                                         sampling=sampling))
    check(one.rc == 0, "1-worker hash run exits 0")
    t1, t3 = counters(one.stats), counters(three.stats)
    check(t1["sampled_flow"] == t3["sampled_flow"],
          f"hash sampled_flow equal for 1 and 3 workers ({t1['sampled_flow']})")
    check(t1["sampled_iot"] == t3["sampled_iot"], "hash sampled_iot equal for 1 and 3 workers")
    per_bin1 = [(b["start_ns"], b["sampled_flow"], b["sampled_iot"]) for b in one.stats["bins"]]
    per_bin3 = [(b["start_ns"], b["sampled_flow"], b["sampled_iot"]) for b in three.stats["bins"]]
    check(per_bin1 == per_bin3, f"hash samples identical bin by bin ({len(per_bin1)} bins)")
    check(one.stats["sampling"]["method"] == "hash" and one.stats["sampling"]["hash_seed"] == 0x5EED,
          "sampling method and seed are attached to the output")


def case_count_sampling_rate(tmp):
    total, ip = pcap_counts(SAMPLE)
    for rate in (1, 2, 100, 10000):
        r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                                           sampling={"flow_rate": rate, "iot_rate": rate}))
        check(r.rc == 0, f"rate {rate}: exit 0")
        check(counters(r.stats)["sampled_flow"] == ceil_div(ip, rate),
              f"rate 1:{rate} keeps exactly ceil({ip}/{rate}) = {ceil_div(ip, rate)}")


def case_live_sigterm_flushes(tmp):
    cfg = config_text(tmp, [("gen0", "net_null0,size=128", 1)], bins=1, clock="wall")
    cpath = os.path.join(tmp, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    spath = os.path.join(tmp, "stats.json")
    cmd = [HAYSTACKD, "--config", cpath, "--stats-out", spath, "--", *EAL,
           "--file-prefix", f"live{os.getpid()}"]
    print("run:", " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)
    check(p.poll() is None, "live daemon keeps running without --until-idle")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"SIGTERM exits 0 (rc={p.returncode}) {err[-500:]}")
    with open(spath) as f:
        s = json.load(f)
    t = counters(s)
    check(s["clock"] == "wall", "live mode uses the wall clock")
    check(t["rx_packets"] > 1000, f"received traffic from net_null ({t['rx_packets']})")
    check(len(s["bins"]) >= 2, f"1-second bins closed while running ({len(s['bins'])})")
    check(sum(b["packets"] for b in s["bins"]) == t["rx_packets"],
          "open bin flushed at shutdown: bins account for every packet")
    with open(os.path.join(tmp, "alerts.jsonl")) as f:
        last = json.loads(f.read().splitlines()[-1])
    check(last["type"] == "daemon_stop" and last["details"]["reason"] == "signal",
          "daemon_stop alert names the signal")
    check("signal 15 received" in err, "log says which signal stopped it")


def tree_file(tmp, gran, period, fs, site="test-site"):
    return os.path.join(tmp, "state", "flowtrees", site, gran, period, fs + ".ftr")


def flowtree(*args):
    p = subprocess.run([FLOWTREE, *args], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"haystack-flowtree {' '.join(args)}: {p.stderr}")
    return json.loads(p.stdout)


def case_flowtree_golden(tmp):
    total, ip = pcap_counts(SAMPLE)
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]))
    check(r.rc == 0, "replay exits 0")
    ft = r.stats["flowtrees"]
    check(ft["tree_write_errors"] == 0 and ft["late_records"] == 0, "no tree write errors or late records")
    check(ft["bins_completed"] == len(r.stats["bins"]), "one site-tree set per non-empty bin")
    day = "20261101T000000Z"
    t = r.stats["totals"]
    for fs in ("SI", "DI", "SP", "DP", "SIDP", "FULL"):
        dump = flowtree("dump", tree_file(tmp, "1d", day, fs))
        check(dump["total"]["packets"] == ip, f"{fs} day tree counts every sampled IP packet ({ip})")
        check(dump["total"]["flows"] == t["new_flows"], f"{fs} day tree flows == new 5-tuples per bin")
        check(dump["size"] <= dump["budget"], f"{fs} day tree within its node budget")
        golden = os.path.join(GOLDEN, f"sample-iot-1d-{fs}.json")
        if os.environ.get("HAYSTACK_UPDATE_GOLDEN"):
            os.makedirs(GOLDEN, exist_ok=True)
            with open(golden, "w") as f:
                json.dump(dump, f, indent=1, sort_keys=True)
                f.write("\n")
        with open(golden) as f:
            want = json.load(f)
        check(dump == want, f"{fs} day tree equals golden file {os.path.basename(golden)}")
    hours = sorted(os.listdir(os.path.join(tmp, "state", "flowtrees", "test-site", "1h")))
    check(hours == ["20261101T100000Z", "20261101T110000Z"], f"hourly roll-ups {hours}")
    top = flowtree("--json", "top", tree_file(tmp, "1d", day, "DP"), "-k", "3", "--depth", "0")
    vals = [x["value"]["packets"] for x in top]
    check(len(top) == 3 and vals == sorted(vals, reverse=True), f"top-3 DP ports from stored trees {top}")


def flowql(tmp, query, *extra):
    return subprocess.run([FLOWTREE, "query", "--state", os.path.join(tmp, "state"), query, *extra],
                          capture_output=True, text=True)


def case_flowql_query(tmp):
    total, ip = pcap_counts(SAMPLE)
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]))
    check(r.rc == 0, "replay exits 0")
    day = "FROM 2026-11-01 00:00 TO 2026-11-02 00:00"
    p = flowql(tmp, f"SELECT pop {day} WHERE src_ip = ANY", "--json")
    check(p.returncode == 0, f"pop query exits 0 ({p.stderr})")
    a = json.loads(p.stdout)["answers"]
    check(len(a) == 1 and a[0]["trees"] == 1 and a[0]["exact"], f"one exact answer from the day tree {a}")
    check(a[0]["estimate"]["packets"] == ip, f"pop over the day counts every sampled IP packet ({ip})")
    p = flowql(tmp, "SELECT pop(bin1h) FROM 2026-11-01 10:00 TO 2026-11-01 12:00 "
                    "WHERE site_id = test-site AND dst_port = ANY", "--json")
    hours = [x["estimate"]["packets"] for x in json.loads(p.stdout)["answers"]]
    check(len(hours) == 2 and sum(hours) == ip, f"the hourly answers add up to the day {hours}")
    # A second site with the same trees (a replay is deterministic): merged and per site.
    sites = os.path.join(tmp, "state", "flowtrees")
    shutil.copytree(os.path.join(sites, "test-site"), os.path.join(sites, "test-site-2"))
    p = flowql(tmp, f"SELECT pop {day} WHERE src_ip = ANY", "--json")
    check(json.loads(p.stdout)["answers"][0]["estimate"]["packets"] == 2 * ip, "two sites merge")
    p = flowql(tmp, f"SELECT top-3 {day} WHERE site_id = ITR AND dst_port = ANY", "--json")
    a = json.loads(p.stdout)["answers"]
    check([x["site"] for x in a] == ["test-site", "test-site-2"] and a[0]["rows"] == a[1]["rows"]
          and len(a[0]["rows"]) == 3, "ITR gives one equal top-3 per site")
    p = flowql(tmp, "SELECT hc-3 FROM 2026-11-01 10:00 TO 2026-11-01 11:00, "
                    "2026-11-01 11:00 TO 2026-11-01 12:00 WHERE site_id = test-site AND dst_port = ANY")
    check(p.returncode == 0 and "hc-3 by packets, feature set DP" in p.stdout, f"hc runs ({p.stderr})")
    p = flowql(tmp, f"SELECT top-3 {day} WHERE src_ip = 10.0.0.0/33")
    check(p.returncode == 2 and "column 80: expected a prefix length 0..32, got '33'" in p.stderr
          and p.stderr.rstrip().endswith("^"), f"parse error: exit 2 with a caret ({p.stderr})")
    p = flowql(tmp, f"SELECT pop {day} WHERE site_id = nowhere AND src_ip = ANY")
    check(p.returncode == 2 and "unknown site 'nowhere'" in p.stderr, f"unknown site: exit 2 ({p.stderr})")


BIG_TREES = SMALL_TREES.replace("node_budget: 2000", "node_budget: 20000").replace(
    "port_node_budget: 500", "port_node_budget: 20000")


def case_flowtree_workers_agree(tmp):
    one = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                                         extra=BIG_TREES))
    check(one.rc == 0, "1-worker replay exits 0")
    day = "20261101T000000Z"
    def leaves(fs):
        # Every most-specific flow with its counts, in a canonical order (ties in the
        # tree's own order depend on insertion order, which differs across workers).
        rows = flowtree("--json", "top", tree_file(tmp, "1d", day, fs), "-k", "1000000",
                        "--depth", "0")
        return sorted(rows, key=lambda x: (-x["value"]["packets"], x["key"]))

    single = {fs: leaves(fs) for fs in ("SI", "DP", "FULL")}
    totals1 = flowtree("dump", tree_file(tmp, "1d", day, "SI"))["total"]
    import shutil
    shutil.rmtree(os.path.join(tmp, "state"))
    files, three = three_worker_run(tmp, extra=BIG_TREES)
    totals3 = flowtree("dump", tree_file(tmp, "1d", day, "SI"))["total"]
    check(totals1 == totals3, f"day totals equal for 1 and 3 workers {totals3}")
    for fs, want in single.items():
        got = leaves(fs)
        check(got == want, f"{fs}: all {len(want)} leaf flows and their counts agree across "
                           "worker counts (no compression at this budget)")


def case_flowtree_ddos_alert(tmp):
    # The sample has bursts to a few UDP ports; alert on any port of the list growing by
    # >= 20 packets between adjacent minutes.
    extra = SMALL_TREES + "ddos:\n  ports: [5353, 1900, 53]\n  threshold_packets: 20\n"
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], extra=extra))
    check(r.rc == 0, "replay exits 0")
    dd = [a for a in r.alerts if a["type"] == "ddos_amplification"]
    check(len(dd) > 0, f"ddos_amplification alerts raised ({len(dd)})")
    for a in dd:
        d = a["details"]
        check(d["increase"] == d["packets"] - d["previous_packets"] and d["increase"] >= 20,
              f"alert {a['subject']} at {a['time']}: +{d['increase']}")
        check(a["time_ns"] == d["bin_start_ns"] + 60 * 10**9, "alert time is the bin end (packet time)")


def frames_from_pcap(path, limit, max_len=1514):
    out = []
    for _, fr in pcap_records(path):
        if len(fr) <= max_len:
            out.append(fr)
        if len(out) == limit:
            break
    return out


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def case_live_af_packet_veth(tmp):
    """Live capture from a kernel interface: a veth pair whose far end sits in a network
    namespace, haystackd on net_af_packet inside it, frames injected with AF_PACKET."""
    import socket
    ns, a, b = f"hs{os.getpid()}", f"hsa{os.getpid() % 100000}", f"hsb{os.getpid() % 100000}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns)
        # No IPv6 on either end: the kernel would otherwise send its own ND/MLD packets.
        sh("sysctl", "-qw", f"net.ipv6.conf.{a}.disable_ipv6=1")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{b}.disable_ipv6=1")
        sh("ip", "link", "set", a, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", b, "up")
        cfg = config_text(tmp, [("mirror", f"net_af_packet0,iface={b}", 1)], clock="wall")
        cpath, spath = os.path.join(tmp, "haystack.yaml"), os.path.join(tmp, "stats.json")
        with open(cpath, "w") as f:
            f.write(cfg)
        cmd = ["ip", "netns", "exec", ns, HAYSTACKD, "--config", cpath, "--stats-out", spath,
               "--", *EAL, "--file-prefix", f"afp{os.getpid()}"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        apath = os.path.join(tmp, "alerts.jsonl")
        for _ in range(200):  # wait for daemon_start: the port is up and polled
            if os.path.exists(apath) and "daemon_start" in open(apath).read():
                break
            time.sleep(0.05)
        time.sleep(0.5)
        frames = frames_from_pcap(SAMPLE, 400)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a, 0))
        for fr in frames:
            s.send(fr)
        s.close()
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, f"SIGINT exits 0 (rc={p.returncode}) {err[-300:]}")
        with open(spath) as f:
            st = json.load(f)
        t = counters(st)
        check(st["ports"][0]["driver"] == "net_af_packet", "port is a kernel interface via net_af_packet")
        check(t["rx_packets"] == len(frames), f"every injected frame received ({t['rx_packets']} of {len(frames)})")
        check(t["rx_bytes"] == sum(len(f) for f in frames), "byte count matches the injected frames")
        check(sum(b["packets"] for b in st["bins"]) == len(frames), "bins account for every frame")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", a], capture_output=True)


IOT_LINES = os.path.join(DATA, "pcaps", "iot-lines.pcap")
EXAMPLE_HITLIST = os.path.join(DATA, "hitlist", "example-2026-11-01.hitlist")


def iot_config(tmp, ports, hitlist, iot_extra="  pseudonymize: false\n", **kw):
    """A config for the generated ISP trace (subscribers in 100.64/16 and 2001:db8:100::/40)."""
    extra = SMALL_TREES + f"iot:\n  hitlist: {hitlist}\n" + iot_extra
    return config_text(tmp, ports, extra=extra, **kw).replace(
        "subscriber_prefixes: [192.168.0.0/16, 10.0.0.0/8, 2001:db8::/32]",
        "subscriber_prefixes: [100.64.0.0/16, 2001:db8:100::/40]")


def detection_lines(tmp):
    with open(os.path.join(tmp, "state", "detections", "detections.jsonl")) as f:
        return [l for l in f if l.strip()]


def case_iot_detections_match_expected(tmp):
    """The generated ISP trace with known devices (scripts/gen-iot-pcap.py) against the
    example hitlist: detections per line and window, activity, packets, first-detection
    alerts, scanner exclusion and the telnet-scan event must equal the expected file."""
    with open(os.path.join(DATA, "iot-lines.expected.json")) as f:
        exp = json.load(f)
    cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={IOT_LINES}", 1)], EXAMPLE_HITLIST)
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, "replay with a hitlist exits 0")
    det = {}
    for line in detection_lines(tmp):
        d = json.loads(line)
        key = d["window_start"].replace(".000000000Z", "Z")
        if d["window"] == "day":
            key = key[:10]
        det.setdefault((d["line"], key), {})[d["service"]] = d
    for line, info in sorted(exp["lines"].items()):
        for window, w in sorted(info["windows"].items()):
            got = det.get((line, window), {})
            want = sorted(w["detected"])
            check(sorted(got) == want, f"{line} {window}: detected {sorted(got)} == {want}")
            for svc in want:
                check(got[svc]["packets"] == w["packets"][svc],
                      f"{line} {window} {svc}: packets {got[svc]['packets']} == {w['packets'][svc]}")
                check(got[svc]["active"] == w["active"][svc], f"{line} {window} {svc}: active flag")
            if w.get("scanner"):
                check(not got, f"{line} {window}: scanner line has no detections")
    # The cases the synthetic endpoints of the example bundle exist for, checked explicitly
    # (tests/data/hitlist/synthetic-endpoints.txt): in every window,
    # - I, an Alexa-enabled third-party speaker: the amazon-alexa platform only, never the
    #   amazon manufacturer or an Amazon product;
    # - H, an Amazon Echo: the whole chain amazon-alexa > amazon > amazon-echo;
    # - J, an IPv6-only /56 line: ring > ring-doorbell.
    levels = {"amazon-alexa": "platform", "amazon": "manufacturer", "amazon-echo": "product",
              "ring": "manufacturer", "ring-doorbell": "product"}
    for line, want, what in (
            ("100.64.0.10/32", ["amazon-alexa"], "Alexa-enabled third-party device"),
            ("100.64.0.8/32", ["amazon", "amazon-alexa", "amazon-echo"], "Amazon Echo"),
            ("2001:db8:100:200::/56", ["ring", "ring-doorbell"], "IPv6 /56 line")):
        windows = sorted(exp["lines"][line]["windows"])
        check(len(windows) == 4, f"{what} {line} has 3 hourly and 1 daily window")
        for window in windows:
            got = det.get((line, window), {})
            check(sorted(got) == want and all(got[s]["level"] == levels[s] for s in want),
                  f"{what} {line} {window}: detected {sorted(got)} == {want} with their levels")
            if what.startswith("Alexa"):
                check(not any(s == "amazon" or s.startswith("amazon-echo") or s == "amazon-smart-plug"
                              for s in got), f"{line} {window}: no Amazon manufacturer/product")
    firsts = {(a["details"]["line"], a["details"]["service"]): a for a in r.alerts
              if a["type"] == "iot_first_detection"}
    want_firsts = {(line, svc): fd for line, info in exp["lines"].items()
                   for svc, fd in info.get("first_detection", {}).items()}
    check(set(firsts) == set(want_firsts), f"first-detection alerts for {sorted(want_firsts)}")
    for k, fd in want_firsts.items():
        check(firsts[k]["time_ns"] == fd["detected_at_ns"], f"{k} first detected at {fd['detected_at']}")
    scans = sorted((a["details"]["line"], a["details"]["window_start"]) for a in r.alerts
                   if a["type"] == "iot_telnet_scan")
    check(len(scans) == len(exp["scan_events"]), f"telnet/ssh scan events {scans}")
    check(r.stats["totals"]["iot_lines_full"] == 0, "evidence tables never full")


def case_iot_stale_hitlist_alert(tmp):
    """Traffic of a day the bundle is not valid for: one hitlist_stale alert for that day,
    and matching continues with the bundle."""
    with open(EXAMPLE_HITLIST) as f:
        text = f.read().replace("valid_from 2026-11-01", "valid_from 2026-10-30").replace(
            "valid_until 2026-11-01", "valid_until 2026-10-31")
    hitlist = os.path.join(tmp, "old.hitlist")
    with open(hitlist, "w") as f:
        f.write(text)
    cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={IOT_LINES}", 1)], hitlist, iot_extra="")
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, "replay exits 0")
    stale = [a for a in r.alerts if a["type"] == "hitlist_stale"]
    check(len(stale) == 1 and stale[0]["details"]["traffic_day"] == "2026-11-01",
          f"one hitlist_stale alert for 2026-11-01 ({len(stale)})")
    check(r.stats["iot"]["detections_written"] > 0, "detection continues with the stale bundle")
    ids = {a["details"]["line"] for a in r.alerts if a["type"] == "iot_first_detection"}
    check(all(len(i) == 16 and all(c in "0123456789abcdef" for c in i) for i in ids),
          f"line ids are pseudonymised by default ({sorted(ids)[:2]}...)")
    key = os.path.join(tmp, "state", "pseudonym.key")
    check(os.path.exists(key) and (os.stat(key).st_mode & 0o777) == 0o600,
          "the pseudonym key is kept in the state directory, mode 0600")


def wait_for(pred, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.005)
    fail(f"timed out waiting for {what}")


def read_alerts(tmp):
    path = os.path.join(tmp, "alerts.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.endswith("\n")]


def case_iot_reload_50_times(tmp):
    """Hitless reload: the trace is fed through a FIFO into net_pcap on two workers while
    the hitlist is reloaded 50 times by SIGHUP with identical bundles and 5 times with a
    bad one. Every packet is counted, bad bundles are rejected with an alert naming file,
    line and field while the old generation stays active, every retired generation is
    reclaimed after its RCU grace period, and the detections equal those of a run
    without reloads."""
    with open(EXAMPLE_HITLIST) as f:
        good = f.read()
    bad = good + "endpoint 192.0.2.1 tcp 99999 api.example.invalid\n"
    bad_line = good.count("\n") + 1

    ref = os.path.join(tmp, "ref")
    os.mkdir(ref)
    ref_hitlist = os.path.join(ref, "live.hitlist")
    with open(ref_hitlist, "w") as f:
        f.write(good)
    out = subprocess.run([SPLIT, IOT_LINES, "2", os.path.join(ref, "q")],
                         capture_output=True, text=True, check=True).stdout
    files = [l.split()[0] for l in out.splitlines()]
    dev = "net_pcap0," + ",".join(f"rx_pcap={f}" for f in files)
    lcores = ["--lcores", "0@0,1@1,2@1"]
    r0 = run_haystackd(ref, iot_config(ref, [("tap", dev, 2)], ref_hitlist, workers=[1, 2]),
                       eal_extra=lcores, prefix="hsref")
    check(r0.rc == 0, "reference replay exits 0")
    want = detection_lines(ref)
    check(len(want) > 0, f"reference run has detections ({len(want)})")

    run = os.path.join(tmp, "run")
    os.mkdir(run)
    live = os.path.join(run, "live.hitlist")

    def install(text):
        with open(live + ".new", "w") as f:
            f.write(text)
        os.replace(live + ".new", live)

    install(good)
    fifos = [os.path.join(run, f"feed{i}.pcap") for i in range(2)]
    for p in fifos:
        os.mkfifo(p)
    reloads_done = threading.Event()

    def feed(src, fifo):
        with open(src, "rb") as f:
            data = f.read()
        header, recs, off = data[:24], [], 24
        while off < len(data):
            n = struct.unpack("<I", data[off + 8:off + 12])[0]
            recs.append(data[off:off + 16 + n])
            off += 16 + n
        with open(fifo, "wb") as out:
            out.write(header)
            chunks = [recs[i:i + 25] for i in range(0, len(recs), 25)]
            for i, c in enumerate(chunks):
                if i == len(chunks) - 1:
                    reloads_done.wait(60)  # the last packets only after every reload
                out.write(b"".join(c))
                out.flush()
                time.sleep(0.02)

    writers = [threading.Thread(target=feed, args=(s, d)) for s, d in zip(files, fifos)]
    for w in writers:
        w.start()
    dev = "net_pcap0," + ",".join(f"rx_pcap={f}" for f in fifos)
    cpath = os.path.join(run, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(iot_config(run, [("tap", dev, 2)], live, workers=[1, 2]))
    spath = os.path.join(run, "stats.json")
    cmd = [HAYSTACKD, "--config", cpath, "--until-idle=1500", "--stats-out", spath, "--",
           *EAL, "--file-prefix", f"hsreload{os.getpid()}", *lcores]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(a["type"] == "daemon_start" for a in read_alerts(run)), "daemon start")
        kinds = []
        for i in range(55):
            install(bad if i % 11 == 10 else good)
            kinds.append("hitlist_reload_failed" if i % 11 == 10 else "hitlist_reloaded")
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: sum(a["type"].startswith("hitlist_reload") for a in read_alerts(run))
                     == i + 1, f"reload {i + 1}")
        install(good)
    finally:
        reloads_done.set()
        for w in writers:
            w.join(60)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    check(proc.returncode == 0, f"haystackd exits 0 after the reloads (rc={proc.returncode}): {err[-2000:]}")
    alerts = read_alerts(run)
    got = [a["type"] for a in alerts if a["type"].startswith("hitlist_reload")]
    check(got == kinds, "50 hitlist_reloaded and 5 hitlist_reload_failed alerts, in order")
    gens = [a["details"]["generation"] for a in alerts if a["type"] == "hitlist_reloaded"]
    check(gens == list(range(2, 52)), "generations 2..51 published in order")
    for a in alerts:
        if a["type"] == "hitlist_reload_failed":
            check(f"{live}:{bad_line}: endpoint.port" in a["details"]["error"],
                  f"reload error names file, line and field: {a['details']['error']}")
            check(a["severity"] == "critical", "a rejected bundle is a critical alert")
    with open(spath) as f:
        stats = json.load(f)
    rel = stats["iot"]["reloads"]
    print("reload counters:", rel)
    check(stats["iot"]["hitlist"]["generation"] == 51, "generation 51 active at the end")
    check(rel["ok"] == 50 and rel["failed"] == 5, "50 reloads applied, 5 rejected")
    check(rel["generations_reclaimed"] == 50 and rel["generations_retiring"] == 0,
          "every retired generation reclaimed after its grace period")
    check(rel["records_unknown_generation"] == 0, "no record lost its generation")
    t = stats["totals"]
    check(t["rx_packets"] == r0.stats["totals"]["rx_packets"] == len(list(pcap_records(IOT_LINES))),
          f"every packet received ({t['rx_packets']})")
    check(sum(b["packets"] for b in stats["bins"]) == t["rx_packets"], "every packet counted in a bin")
    check(t["iot_matches"] == r0.stats["totals"]["iot_matches"], "IoT matches equal the reference")
    check(detection_lines(run) == want, f"detections equal the run without reloads ({len(want)} lines)")


def tcp_frame(src, dst, sport, dport, flags=0x10):
    """Ethernet/IPv4/TCP frame without payload (checksums are not checked by haystackd)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, bytes(src), bytes(dst))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, flags, 65535, 0, 0)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def write_pcap(path, packets):
    """packets: (ts_ns, frame); classic microsecond pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in packets:
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9 // 1000, len(fr), len(fr)) + fr)


def case_iot_service_outage_alert(tmp):
    """12 lines use a camera service at 10:00 on one day and only 4 at 10:00 the next day:
    one iot_service_outage alert with the exact counts; 11:00 (5 -> 4 lines, 20 %) stays
    below the 30 % default."""
    hitlist = os.path.join(tmp, "cam.hitlist")
    with open(hitlist, "w") as f:
        f.write("hitlist 1\nvalid_from 2026-11-01\nvalid_until 2026-11-02\nprovenance test\n"
                "service cam manufacturer - Camera\ndomain api.cam.example cam:primary\n"
                "endpoint 198.51.100.10 tcp 443 api.cam.example\n")
    day1 = 1793527200 * 10**9  # 2026-11-01T10:00:00Z
    pkts = []
    for day, hour, lines in ((0, 0, 12), (0, 1, 5), (1, 0, 4), (1, 1, 4)):
        t0 = day1 + day * 86400 * 10**9 + hour * 3600 * 10**9
        for n in range(1, lines + 1):
            pkts.append((t0 + n * 10**9, tcp_frame([100, 64, 0, n], [198, 51, 100, 10], 40000, 443)))
    pcap = os.path.join(tmp, "outage.pcap")
    write_pcap(pcap, pkts)
    r = run_haystackd(tmp, iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={pcap}", 1)], hitlist,
                                      iot_extra="  outage_min_lines: 1\n"))
    check(r.rc == 0, "replay exits 0")
    out = [a for a in r.alerts if a["type"] == "iot_service_outage"]
    check(len(out) == 1, f"one outage alert ({len(out)})")
    d = out[0]["details"]
    check(d == {"service": "cam", "hour_start": "2026-11-02T10:00:00.000000000Z", "lines": 4,
                "lines_day_before": 12, "drop_percent": 66.7}, f"outage details {d}")
    check(out[0]["severity"] == "warning", "outage alerts are warnings")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def metric_sum(text, name):
    total, found = 0, False
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def telemetry(sock_path, cmd):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(sock_path)
        json.loads(s.recv(16384))  # greeting: version, pid, max_output_len
        s.send(cmd.encode())
        return json.loads(s.recv(65536))


def case_prometheus_and_dpdk_telemetry(tmp):
    """A running haystackd (IoT trace, two workers) serves /metrics in the Prometheus text
    format: promtool accepts it, a real Prometheus server scrapes it and sums the
    per-worker counters to the packets of the trace. The /haystack/* DPDK telemetry
    commands answer on the EAL telemetry socket with the same values."""
    total = len(list(pcap_records(IOT_LINES)))
    port = free_port()
    cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={IOT_LINES}", 1)], EXAMPLE_HITLIST).replace(
        "prometheus_listen: 127.0.0.1:0", f"prometheus_listen: 127.0.0.1:{port}")
    cpath = os.path.join(tmp, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    prefix = f"hsprom{os.getpid()}"
    proc = subprocess.Popen([HAYSTACKD, "--config", cpath, "--stats-out", os.path.join(tmp, "s.json"),
                             "--", *EAL, "--file-prefix", prefix],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    prom = None
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        text = ""

        def all_counted():
            nonlocal text
            try:
                _, _, text = http_get(url)
            except OSError:
                return False
            return metric_sum(text, "haystack_worker_rx_packets_total") == total
        wait_for(all_counted, "/metrics to count every packet", timeout=60)
        status, ctype, text = http_get(url)
        check(status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8",
              f"/metrics answers 200 with the 0.0.4 content type ({ctype})")
        for needle in ("# TYPE haystack_worker_rx_packets_total counter",
                       'haystack_worker_queue_info{worker="0",port="tap",queue="0"} 1',
                       f'haystack_port_rx_packets_total{{port="tap"}} {total}',
                       f'haystack_port_queue_rx_packets_total{{port="tap",queue="0"}} {total}',
                       "haystack_hitlist_generation 1",
                       'haystack_hitlist_reloads_total{result="failed"} 0'):
            check(needle in text.splitlines() or needle in text, f"/metrics has `{needle}`")
        pc = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        check(pc.returncode == 0, f"promtool check metrics accepts /metrics: {pc.stdout}{pc.stderr}")
        check(http_get_status(f"http://127.0.0.1:{port}/nope") == 404, "other paths answer 404")

        # A real Prometheus server scrapes the endpoint.
        pport = free_port()
        pcfg = os.path.join(tmp, "prometheus.yml")
        with open(pcfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: haystack\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={pcfg}",
                                 f"--storage.tsdb.path={tmp}/prom-data",
                                 f"--web.listen-address=127.0.0.1:{pport}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        q = urllib.parse.quote("sum(haystack_worker_rx_packets_total)")
        got = [None]

        def scraped():
            try:
                _, _, body = http_get(f"http://127.0.0.1:{pport}/api/v1/query?query={q}")
            except OSError:
                return False
            res = json.loads(body)["data"]["result"]
            got[0] = res[0]["value"][1] if res else None
            return got[0] is not None
        wait_for(scraped, "Prometheus to scrape haystackd", timeout=90)
        check(got[0] == str(total), f"Prometheus sums rx_packets over workers to {total} ({got[0]})")
        _, _, body = http_get(f"http://127.0.0.1:{pport}/api/v1/targets")
        health = [t["health"] for t in json.loads(body)["data"]["activeTargets"]]
        check(health == ["up"], f"the haystack target is up ({health})")

        # DPDK telemetry socket of this EAL instance.
        sock = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
        st = telemetry(sock, "/haystack/stats")["/haystack/stats"]
        check(st["rx_packets"] == total, f"/haystack/stats rx_packets == {total}")
        check("truncated_tcp" in st["parse_errors_by_reason"], "parse errors by reason included")
        w0 = telemetry(sock, "/haystack/stats,0")["/haystack/stats"]
        check(w0["rx_packets"] == total, "/haystack/stats,0 is worker 0")
        check(telemetry(sock, "/haystack/stats,7")["/haystack/stats"] is None,
              "an unknown worker index is refused")
        hl = telemetry(sock, "/haystack/hitlist")["/haystack/hitlist"]
        check(hl["generation"] == 1 and hl["file"] == EXAMPLE_HITLIST and hl["reloads_ok"] == 0,
              f"/haystack/hitlist describes generation 1 ({hl})")
        bins = telemetry(sock, "/haystack/bins")["/haystack/bins"]
        check(bins["bin_seconds"] == 60 and bins["bins"] > 0, f"/haystack/bins ({bins['bins']} bins)")
        listing = telemetry(sock, "/")["/"]
        check(all(c in listing for c in ("/haystack/stats", "/haystack/hitlist", "/haystack/bins")),
              "the commands are listed by /")
    finally:
        if prom:
            prom.terminate()
            prom.wait(30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    check(proc.returncode == 0, f"haystackd exits 0 on SIGTERM: {err[-1500:]}")


def http_get_status(url):
    try:
        return http_get(url)[0]
    except urllib.error.HTTPError as e:
        return e.code


def case_systemd_unit_verifies(tmp):
    """The shipped unit template passes `systemd-analyze verify` (with the binary path
    pointed at this build) and its commands parse: --check-config accepts a config."""
    src = os.path.join(os.path.dirname(DATA), "..", "scripts", "systemd", "haystackd@.service")
    with open(src) as f:
        unit = f.read()
    check("ExecReload=/bin/kill -HUP $MAINPID" in unit, "reload is SIGHUP")
    path = os.path.join(tmp, "haystackd@site1.service")
    with open(path, "w") as f:
        f.write(unit.replace("/usr/local/bin/haystackd", HAYSTACKD))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True)
    problems = [l for l in (r.stdout + r.stderr).splitlines() if "haystackd@" in l]
    check(r.returncode == 0 and not problems, f"systemd-analyze verify: {r.stdout}{r.stderr}")


def ieee_registry():
    """Assignment hex -> organisation from Debian's ieee-data CSVs (csv module, so quoted
    line breaks are handled independently of haystack's reader)."""
    import csv
    reg = {}
    for name in ("oui.csv", "mam.csv", "oui36.csv", "iab.csv"):
        with open(os.path.join("/usr/share/ieee-data", name), encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                reg.setdefault(row["Assignment"].upper(), row["Organization Name"].rstrip(" "))
    return reg


def eui64_by_day(path):
    """Per UTC day: (/56 hex, MAC hex) of every global-unicast EUI-64 IPv6 address in an
    Ethernet pcap, and every global-unicast /56 seen."""
    days = {}
    for ts, fr in pcap_records(path):
        off, et = 12, struct.unpack("!H", fr[12:14])[0]
        while et in (0x8100, 0x88A8):
            off += 4
            et = struct.unpack("!H", fr[off:off + 2])[0]
        if et != 0x86DD or len(fr) < off + 2 + 40:
            continue
        day = time.strftime("%Y-%m-%d", time.gmtime(ts // 10**9))
        pairs, seen = days.setdefault(day, (set(), set()))
        ip = fr[off + 2:off + 42]
        for a in (ip[8:24], ip[24:40]):
            if a[0] & 0xE0 != 0x20:
                continue
            seen.add(a[:7].hex())
            if a[11] == 0xFF and a[12] == 0xFE:
                pairs.add((a[:7].hex(), (bytes([a[8] ^ 2]) + a[9:11] + a[13:16]).hex()))
    return days


def case_eui64_real_captures(tmp):
    """EUI-64 exposure on real nDPI captures (ixp mode: every global address): per UTC day,
    the /56s seen, the exposed ones, the MACs and their manufacturers by longest IEEE match
    must equal an independent decoding of the pcap; known devices: an HP host, a VMware
    guest, two D-Link routers."""
    reg = ieee_registry()

    def maker(mac):
        h = mac.upper()
        return next((reg[h[:n]] for n in (9, 7, 6) if h[:n] in reg), "unknown")

    def prefix_text(h):
        return str(ipaddress.IPv6Network((int(h, 16) << 72, 56)))
    known = {"http_ipv6.pcap": {"Hewlett Packard"}, "dns_fragmented.pcap": {"VMware, Inc."},
             "1kxun.pcap": {"D-Link International"}}
    for name, makers in known.items():
        pcap = os.path.join(SHARED_PCAPS, "ndpi", name)
        run = os.path.join(tmp, name)
        os.mkdir(run)
        cfg = config_text(run, [("tap", f"net_pcap0,rx_pcap={pcap}", 1)]).replace(
            "mode: isp", "mode: ixp") + "iot:\n  pseudonymize: false\n"
        r = run_haystackd(run, cfg, prefix="hseui")
        check(r.rc == 0, f"{name}: replay exits 0")
        want = {d: v for d, v in eui64_by_day(pcap).items() if v[1]}
        with open(os.path.join(run, "state", "eui64", "eui64.jsonl")) as f:
            days = {d["window_start"][:10]: d for d in map(json.loads, f) if d["window"] == "day"}
        check(sorted(days) == sorted(want), f"{name}: daily reports for {sorted(want)}")
        all_makers = set()
        for day, (pairs, seen) in want.items():
            d = days[day]
            got = {(p["prefix"], m["mac"], m["manufacturer"]) for p in d["prefixes"] for m in p["macs"]}
            exp = {(prefix_text(p), ":".join(m[i:i + 2] for i in range(0, 12, 2)), maker(m))
                   for p, m in pairs}
            check(got == exp, f"{name} {day}: EUI-64 pairs {sorted(got)} == {sorted(exp)}")
            check(d["prefixes_seen"] == len(seen), f"{name} {day}: {len(seen)} global /56s seen")
            exposed = len({p for p, _ in pairs})
            check(d["prefixes_exposed"] == exposed, f"{name} {day}: {exposed} exposed /56s")
            check(d["exposed_share"] == round(exposed / len(seen), 4), f"{name} {day}: share")
            all_makers |= {m for _, _, m in got}
        check(all_makers == makers, f"{name}: manufacturers {sorted(all_makers)} == {sorted(makers)}")
        check(r.stats["totals"]["eui64_table_full"] == 0, f"{name}: table never full")
    # Pseudonymised by default: no MAC or prefix in clear.
    run = os.path.join(tmp, "pseudo")
    os.mkdir(run)
    pcap = os.path.join(SHARED_PCAPS, "ndpi", "1kxun.pcap")
    r = run_haystackd(run, config_text(run, [("tap", f"net_pcap0,rx_pcap={pcap}", 1)]).replace(
        "mode: isp", "mode: ixp"), prefix="hseui")
    check(r.rc == 0, "pseudonymised replay exits 0")
    with open(os.path.join(run, "state", "eui64", "eui64.jsonl")) as f:
        text = f.read()
    check("c0:a0:bb" not in text and "2001:b020" not in text and "D-Link International" in text,
          "MACs and prefixes are pseudonymised; manufacturers are kept")


def case_bad_hitlist(tmp):
    bad = os.path.join(tmp, "bad.hitlist")
    with open(bad, "w") as f:
        f.write("hitlist 1\nvalid_from 2026-11-01\nvalid_until 2026-11-01\nprovenance x\n"
                "service cam manufacturer - Camera\ndomain api.cam.example cam:primary\n"
                "endpoint 192.0.2.1 tcp 99999 api.cam.example\n")
    extra = SMALL_TREES + f"iot:\n  hitlist: {bad}\n"
    expect_config_error(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                                         extra=extra), "bad.hitlist:7: iot.hitlist: endpoint.port")


def case_check_config(tmp):
    cpath = os.path.join(tmp, "ok.yaml")
    with open(cpath, "w") as f:
        f.write(config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]))
    p = subprocess.run([HAYSTACKD, "--config", cpath, "--check-config"], capture_output=True,
                       text=True)
    check(p.returncode == 0 and "configuration OK" in p.stdout, "--check-config accepts")
    p = subprocess.run([HAYSTACKD, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "--until-idle" in p.stdout and "--stats-out" in p.stdout,
          "--help documents the options")
    p = subprocess.run([HAYSTACKD, "--bogus"], capture_output=True, text=True)
    check(p.returncode == 2, "unknown option exits 2")


def expect_config_error(tmp, cfg, needle, eal_extra=()):
    r = run_haystackd(tmp, cfg, eal_extra=eal_extra)
    check(r.rc == 2, f"exit code 2 (got {r.rc})")
    check(needle in r.err, f"message names {needle!r}: {r.err.strip().splitlines()[-1]!r}")
    check(r.stats is None, "no stats document for a rejected config")


def case_bad_unknown_key(tmp):
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]) + "bin_size: 60\n"
    expect_config_error(tmp, cfg, "bin_size")


def case_bad_wrong_type(tmp):
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                      sampling={"flow_rate": "often"})
    expect_config_error(tmp, cfg, "sampling.flow_rate")


def case_bad_missing_pcap(tmp):
    missing = os.path.join(tmp, "nope.pcap")
    expect_config_error(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={missing}", 1)]),
                        missing)


def case_bad_no_ports(tmp):
    expect_config_error(tmp, config_text(tmp, []).replace("ports:\n", "ports: []\n"), "ports")


def case_bad_missing_lcore(tmp):
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], workers=[7])
    expect_config_error(tmp, cfg, "workers", eal_extra=["-l", "0,1"])


def case_bad_nonexistent_cpu(tmp):
    # No -l/--lcores: haystackd derives `-l 0,<workers>`, and CPU 999 does not exist.
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], workers=[999])
    expect_config_error(tmp, cfg, "lcore 999 is not a CPU")


def case_bad_too_few_queues(tmp):
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], workers=[1, 2])
    expect_config_error(tmp, cfg, "workers", eal_extra=["--lcores", "0@0,1@1,2@1"])


# ----------------------------------------------------------------------------- IPFIX

def ipfix_extra(collector, transport="udp", feature_sets="[SI]", more=""):
    return SMALL_TREES + f"""ipfix:
  enabled: true
  collector: {collector}
  transport: {transport}
  feature_sets: {feature_sets}
  granularities: [60]
{more}"""


def minute_trees(tmp, fs="SI"):
    """(period label -> dump) of the 1-minute trees haystackd wrote."""
    base = os.path.join(tmp, "state", "flowtrees", "test-site", "1m")
    return {p: flowtree("dump", os.path.join(base, p, fs + ".ftr")) for p in sorted(os.listdir(base))}


def own_nodes(dump):
    """Nodes with a non-zero comp_pop: what the exporter sends."""
    return [n for n in dump["nodes"] if any(n["comp_pop"][k] for k in ("packets", "bytes", "flows"))]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_listening(port):
    with open("/proc/net/udp") as f:
        return any(l.split()[1] == f"0100007F:{port:04X}" for l in f.readlines()[1:])


def case_ipfix_nfcapd_udp(tmp):
    """Real collector: Debian's nfcapd on loopback decodes every record; totals are exact."""
    port, flows = free_udp_port(), os.path.join(tmp, "nfcapd")
    os.makedirs(flows)
    nfcapd = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", flows],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: udp_listening(port), "nfcapd listening")
        cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                          extra=ipfix_extra(f"127.0.0.1:{port}", more="  template_refresh: 1\n"))
        r = run_haystackd(tmp, cfg)
        check(r.rc == 0, "replay with IPFIX export exits 0")
        time.sleep(0.5)  # let nfcapd read its socket dry
    finally:
        nfcapd.send_signal(signal.SIGTERM)
        log = nfcapd.communicate(timeout=30)[0]
    print(log[-2000:])
    x = r.stats["ipfix"]
    trees = minute_trees(tmp)
    want_records = sum(len(own_nodes(d)) for d in trees.values())
    check(x["records_exported"] == want_records == x["records_queued"] and want_records > 0,
          f"every SI node with counts of its own exported ({want_records} records)")
    check(x["dropped_queue_full"] == 0 and x["dropped_unsent"] == 0 and x["send_errors"] == 0,
          "nothing dropped")
    check(x["template_sends"] >= 2, f"templates refreshed every second ({x['template_sends']} sends)")
    env = dict(os.environ, TZ="UTC")
    out = subprocess.run(["nfdump", "-R", flows, "-o", "csv"], capture_output=True,
                         text=True, env=env, check=True).stdout.splitlines()
    head = out[0].split(",")
    check(head[:1] == ["ts"] and "ipkt" in head and "ibyt" in head, f"nfdump csv header {head[:13]}")
    end = out.index("Summary")
    rows = [dict(zip(head, l.split(","))) for l in out[1:end]]
    summary = dict(zip(out[end + 1].split(","), out[end + 2].split(",")))
    check(len(rows) == want_records, f"nfdump decoded every record ({len(rows)} of {want_records})")
    per_bin = {}
    for row in rows:
        key = time.strftime("%Y%m%dT%H%M%SZ", time.strptime(row["ts"].split(".")[0], "%Y-%m-%d %H:%M:%S"))
        pk, by = per_bin.get(key, (0, 0))
        per_bin[key] = (pk + int(row["ipkt"]), by + int(row["ibyt"]))
    ftr = {p: (d["total"]["packets"], d["total"]["bytes"]) for p, d in trees.items()
           if d["total"]["packets"] or d["total"]["bytes"]}  # an empty bin has no records
    check(per_bin == ftr, f"per-bin packets/bytes in nfdump equal the 1-minute .ftr totals {ftr}")
    want_flows = sum(d["total"]["flows"] for d in trees.values())
    check(int(summary["flows"]) == want_flows, f"nfdump's flow total (deltaFlowCount) == {want_flows}")
    total_pk = sum(p for p, _ in ftr.values())
    check(total_pk == r.stats["totals"]["sampled_flow"] == sum(b["sampled_flow"] for b in r.stats["bins"]),
          f"and the stats document's sampled packets ({total_pk})")
    info = subprocess.run(["nfdump", "-R", flows, "-I"], capture_output=True, text=True).stdout
    seqf = [l for l in info.splitlines() if "Sequence" in l]
    print("\n".join(seqf))
    check(all(l.split(":")[1].strip() == "0" for l in seqf) and seqf, "no sequence failures in nfcapd")


def read_ipfix_stream(conn, out):
    """Collects IPFIX messages from a TCP stream, checking framing as it goes."""
    buf = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 16:
            ver, length = struct.unpack(">HH", buf[:4])
            if ver != 10 or length < 16:
                out["errors"].append(f"bad header version {ver} length {length}")
                return
            if len(buf) < length:
                break
            out["messages"].append(buf[:length])
            buf = buf[length:]
    if buf:
        out["errors"].append(f"{len(buf)} trailing bytes: message cut")


def decode_messages(msgs):
    """Templates (id -> field lengths), (template id, record) list and framing errors."""
    templates, records, errors, seq = {}, [], [], 0

    def record_end(m, p, lengths):
        for ln in lengths:
            if ln == 0xFFFF:
                ln, p = m[p], p + 1
                if ln == 255:
                    ln, p = struct.unpack(">H", m[p:p + 2])[0], p + 2
            p += ln
        return p

    for m in msgs:
        if struct.unpack(">I", m[8:12])[0] != seq:
            errors.append(f"sequence {struct.unpack('>I', m[8:12])[0]} != {seq}")
        off = 16
        while off < len(m):
            sid, slen = struct.unpack(">HH", m[off:off + 4])
            if slen < 4 or off + slen > len(m) or slen % 4:
                errors.append(f"bad set length {slen}")
                break
            p, end = off + 4, off + slen
            if sid in (2, 3):
                while end - p >= 4:
                    tid, n = struct.unpack(">HH", m[p:p + 4])
                    p += 6 if sid == 3 else 4
                    lengths = []
                    for _ in range(n):
                        fid, flen = struct.unpack(">HH", m[p:p + 4])
                        p += 8 if fid & 0x8000 else 4
                        lengths.append(flen)
                    templates[tid] = lengths
            else:
                if sid not in templates:
                    errors.append(f"data set {sid} before its template")
                    break
                least = sum(1 if ln == 0xFFFF else ln for ln in templates[sid])
                while end - p >= least:
                    q = record_end(m, p, templates[sid])
                    records.append((sid, m[p:q]))
                    p, seq = q, seq + 1
                if any(m[p:end]):
                    errors.append("non-zero padding")
            off = end
    return templates, records, errors


def tcp_collector():
    """A TCP socket server on a free port that keeps every IPFIX message it receives."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = {"messages": [], "errors": []}

    def serve():
        conn, _ = srv.accept()
        with conn:
            read_ipfix_stream(conn, got)
        srv.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return srv.getsockname()[1], th, got


def case_ipfix_tcp_framing(tmp):
    """TCP (nfcapd 1.7.1 has no TCP listener): a socket server checks the stream framing."""
    port, th, got = tcp_collector()
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                      extra=ipfix_extra(f"127.0.0.1:{port}", "tcp", "[SI, FULL]"))
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, "replay with IPFIX over TCP exits 0")
    th.join(timeout=30)
    check(not got["errors"], f"stream framing intact {got['errors']}")
    templates, records, errors = decode_messages(got["messages"])
    check(not errors, f"sets, templates before data and sequence numbers check out {errors[:3]}")
    check(401 in templates and 257 in templates, "options template 401 and flow templates sent")
    flow = [rec for tid, rec in records if 256 <= tid < 384]
    x = r.stats["ipfix"]
    si, full = minute_trees(tmp, "SI"), minute_trees(tmp, "FULL")
    want = sum(len(own_nodes(d)) for d in list(si.values()) + list(full.values()))
    check(len(flow) == x["records_exported"] == want, f"{want} flow records received")
    check(len(records) - len(flow) == 2, "two sampling options records (flow, IoT selectors)")
    for fs, trees in ((0, si), (10, full)):
        recs = [rec for rec in flow if rec[24] == fs]  # after the four time fields
        pk = sum(struct.unpack(">Q", rec[-24:-16])[0] for rec in recs)
        by = sum(struct.unpack(">Q", rec[-16:-8])[0] for rec in recs)
        want_pk = sum(d["total"]["packets"] for d in trees.values())
        want_by = sum(d["total"]["bytes"] for d in trees.values())
        check((pk, by) == (want_pk, want_by), f"feature set {fs}: packets/bytes {pk}/{by} exact")
    check(max(len(m) for m in got["messages"]) <= 65535, "messages within 65535 bytes")


def case_ipfix_detections_tcp(tmp):
    """IoT detections of closed windows under enterprise template 400 equal detections.jsonl."""
    port, th, got = tcp_collector()
    cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={IOT_LINES}", 1)], EXAMPLE_HITLIST)
    cfg += f"ipfix:\n  enabled: true\n  collector: 127.0.0.1:{port}\n  transport: tcp\n" \
           "  feature_sets: []\n  eui64: false\n"
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, "IoT replay with IPFIX detections exits 0")
    th.join(timeout=30)
    templates, records, errors = decode_messages(got["messages"])
    check(not got["errors"] and not errors, f"framing and sequence numbers {errors[:3]}")
    check(sorted(templates) == [400, 401], f"only the detection and options templates {sorted(templates)}")
    got_det = []
    for tid, rec in records:
        if tid != 400:
            continue
        start, end, kind = struct.unpack(">IIB", rec[:9])
        p = 9
        strs = []
        for _ in range(2):
            n = rec[p]
            strs.append(rec[p + 1:p + 1 + n].decode())
            p += 1 + n
        level, contacted, required, total, hours, active, pk, by = struct.unpack(">BIIIIBQQ", rec[p:])
        got_det.append((["hour", "day"][kind], start, strs[0], strs[1], active == 1, hours, pk, by))
    want = []
    for line in detection_lines(tmp):
        d = json.loads(line)
        start = calendar.timegm(time.strptime(d["window_start"][:19], "%Y-%m-%dT%H:%M:%S"))
        want.append((d["window"], start, d["line"], d["service"], d["active"], d["active_hours"],
                     d["packets"], d["bytes"]))
    check(len(want) > 0 and sorted(got_det) == sorted(want),
          f"{len(got_det)} detection records equal detections.jsonl ({len(want)})")
    check(r.stats["ipfix"]["records_exported"] == len(want) == r.stats["iot"]["detections_written"],
          "records_exported == detections_written")


def case_ipfix_eui64_tcp(tmp):
    """EUI-64 windows of a real capture over IPFIX (templates 402/403) equal eui64.jsonl:
    one window record per closed window, one exposure record per (prefix, MAC)."""
    port, th, got = tcp_collector()
    pcap = os.path.join(SHARED_PCAPS, "ndpi", "1kxun.pcap")
    cfg = config_text(tmp, [("tap", f"net_pcap0,rx_pcap={pcap}", 1)]).replace(
        "mode: isp", "mode: ixp")
    cfg += f"ipfix:\n  enabled: true\n  collector: 127.0.0.1:{port}\n  transport: tcp\n" \
           "  feature_sets: []\n"
    r = run_haystackd(tmp, cfg, prefix="hseui")
    check(r.rc == 0, "EUI-64 replay with IPFIX exits 0")
    th.join(timeout=30)
    templates, records, errors = decode_messages(got["messages"])
    check(not got["errors"] and not errors, f"framing and sequence numbers {errors[:3]}")
    check(sorted(templates) == [401, 402, 403], f"options and EUI-64 templates {sorted(templates)}")

    def strings(rec, p, n):
        out = []
        for _ in range(n):
            ln = rec[p]
            out.append(rec[p + 1:p + 1 + ln].decode())
            p += 1 + ln
        return out, p
    windows, exposures = [], []
    for tid, rec in records:
        if tid == 402:
            start, end, kind, seen, exposed = struct.unpack(">IIBII", rec)
            windows.append((["hour", "day"][kind], start, end - start, seen, exposed))
        elif tid == 403:
            start, end, kind = struct.unpack(">IIB", rec[:9])
            (prefix, mac, maker), p = strings(rec, 9, 3)
            check(rec[p] in (1, 2) and p + 1 == len(rec), "boolean ends the exposure record")
            exposures.append((["hour", "day"][kind], start, prefix, mac, maker, rec[p] == 1))
    want_w, want_x = [], []
    with open(os.path.join(tmp, "state", "eui64", "eui64.jsonl")) as f:
        for d in map(json.loads, f):
            start = calendar.timegm(time.strptime(d["window_start"][:19], "%Y-%m-%dT%H:%M:%S"))
            length = 3600 if d["window"] == "hour" else 86400
            want_w.append((d["window"], start, length, d["prefixes_seen"], d["prefixes_exposed"]))
            iot = {m["manufacturer"]: m["iot_only"] for m in d["manufacturers"]}
            want_x += [(d["window"], start, p["prefix"], m["mac"], m["manufacturer"],
                        iot[m["manufacturer"]]) for p in d["prefixes"] for m in p["macs"]]
    check(len(want_x) > 0 and sorted(windows) == sorted(want_w),
          f"{len(windows)} window records equal eui64.jsonl ({len(want_w)})")
    check(sorted(exposures) == sorted(want_x),
          f"{len(exposures)} exposure records equal eui64.jsonl ({len(want_x)})")
    check("c0:a0:bb" not in str(exposures), "MACs leave pseudonymised")
    check(r.stats["ipfix"]["records_exported"] == len(want_w) + len(want_x),
          "records_exported counts window and exposure records")


def case_ipfix_tcp_reconnect(tmp):
    """The collector drops the first connection: the exporter reconnects, starts a new
    stream (templates first, sequence 0), and every record is received or counted."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)
    got = {"messages": [], "errors": []}

    def serve():
        first, _ = srv.accept()
        first.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        first.close()  # reset
        conn, _ = srv.accept()
        with conn:
            read_ipfix_stream(conn, got)
        srv.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                      extra=ipfix_extra(f"127.0.0.1:{srv.getsockname()[1]}", "tcp"))
    r = run_haystackd(tmp, cfg)
    check(r.rc == 0, "replay exits 0")
    th.join(timeout=30)
    x = r.stats["ipfix"]
    print(json.dumps(x))
    # The reset reaches the exporter either after its connect completed (2 connects) or
    # while it still checks the new socket (a failed connect): one retry either way.
    check(x["connects"] + x["connect_failures"] == 2 and x["connects"] >= 1,
          f"reconnected once (connects {x['connects']}, failures {x['connect_failures']})")
    _, records, errors = decode_messages(got["messages"])
    check(not got["errors"] and not errors, f"second stream: templates first, sequence from 0 {errors[:3]}")
    flow = [rec for tid, rec in records if 256 <= tid < 384]
    check(len(flow) == x["records_exported"], f"{len(flow)} records received == records_exported")
    check(x["records_exported"] + x["dropped_unsent"] == x["records_queued"] ==
          sum(len(own_nodes(d)) for d in minute_trees(tmp).values()),
          f"exported + dropped_unsent ({x['dropped_unsent']}) == queued")


def case_ipfix_dead_collector(tmp):
    """A closed TCP port: replay is not stalled, every packet counted, drops counted."""
    total, _ = pcap_counts(SAMPLE)
    port = free_port()  # nothing listens there: connect is refused
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)],
                      extra=ipfix_extra(f"127.0.0.1:{port}", "tcp", "[SI, DI, SP, DP, SIDP, FULL]",
                                        "  queue_records: 1024\n"))
    t0 = time.monotonic()
    r = run_haystackd(tmp, cfg)
    took = time.monotonic() - t0
    check(r.rc == 0, f"replay exits 0 with a dead collector ({took:.1f} s)")
    t = counters(r.stats)
    check(t["rx_packets"] == total and sum(b["packets"] for b in r.stats["bins"]) == total,
          f"every packet counted ({total})")
    check(t["bin_ring_full"] == 0, "workers never waited on a full bin ring")
    x = r.stats["ipfix"]
    print(json.dumps(x))
    check(x["records_exported"] == 0 and x["messages"] == 0 and x["connects"] == 0, "nothing sent")
    check(x["connect_failures"] >= 1, "connection failures counted")
    check(x["dropped_queue_full"] > 0, "queue bound hit and counted")
    check(x["dropped_unsent"] == x["records_queued"] > 0, "queued records counted as unsent at stop")
    nodes = sum(len(own_nodes(d)) for fs in ("SI", "DI", "SP", "DP", "SIDP", "FULL")
                for d in minute_trees(tmp, fs).values())
    check(x["records_queued"] + x["dropped_queue_full"] == nodes,
          f"every record offered is accounted for ({nodes})")
    check(took < 60, "no stall")



def run_case(scope, prefix, args=2):
    """Runs case_<argv[1]> of the calling script in a fresh temporary directory (argv may
    carry `args - 2` extra arguments the script reads itself)."""
    if len(sys.argv) != args:
        sys.exit(scope.get("__doc__") or f"usage: {sys.argv[0]} CASE")
    fn = scope.get("case_" + sys.argv[1])
    if fn is None:
        sys.exit(f"unknown case {sys.argv[1]}")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        fn(tmp)
    print("PASS", sys.argv[1])


if __name__ == "__main__":
    run_case(globals(), "haystack-it-")
