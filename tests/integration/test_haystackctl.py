#!/usr/bin/env python3
"""haystackctl against a running haystackd. usage: test_haystackctl.py CASE

haystackd replays tests/data/pcaps/iot-lines.pcap on a net_pcap vdev without
--until-idle, so it keeps running (and serving its control socket) until SIGTERM.
Environment (set by meson): those of test_haystackd.py plus HAYSTACKCTL.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.request

from test_haystackd import (DATA, EAL, FLOWTREE, HAYSTACKD, check, fail, iot_config,
                            pcap_counts, pcap_records, read_alerts, wait_for, run_case)

HAYSTACKCTL = os.environ["HAYSTACKCTL"]
IOT_LINES = os.path.join(DATA, "pcaps", "iot-lines.pcap")
EXAMPLE_HITLIST = os.path.join(DATA, "hitlist", "example-2026-11-01.hitlist")
SUBCOMMANDS = ["status", "stats", "hitlist show", "hitlist reload", "detections", "services",
               "alerts", "eui64", "query", "top", "hhh", "above", "hc", "config show"]


class Daemon:
    """haystackd on iot-lines.pcap with the example hitlist, running until stop()."""

    def __init__(self, tmp, prefix="ctl", extra_cfg=""):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "state", "haystackd.sock")
        cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={IOT_LINES}", 1)], EXAMPLE_HITLIST)
        self.cpath = os.path.join(tmp, "haystack.yaml")
        with open(self.cpath, "w") as f:
            f.write(cfg + extra_cfg)
        self.spath = os.path.join(tmp, "stats.json")
        self.prefix = f"{prefix}{os.getpid()}"
        cmd = [HAYSTACKD, "--config", self.cpath, "--stats-out", self.spath, "--", *EAL,
               "--file-prefix", self.prefix]
        print("run:", " ".join(cmd))
        # The log goes to a file: a full pipe would block the daemon.
        self.log = os.path.join(tmp, f"{prefix}.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        # Up when it answers (a stale socket file from a killed daemon may exist already).
        wait_for(lambda: self.proc.poll() is not None or ctl("status", sock=self.sock)[0] == 0,
                 "control socket", timeout=60)
        if self.proc.poll() is not None:
            fail(f"haystackd exited early: {open(self.log).read()[-2000:]}")

    def settle(self, total):
        """Waits until the whole pcap is processed and every window closed."""
        def done():
            s = ctl_json("status", sock=self.sock)
            return s["input_idle"] and s["workers"][0]["rx_packets"] == total
        wait_for(done, "replay to finish", timeout=120)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        check(self.proc.returncode == 0,
              f"SIGTERM exits 0 (rc={self.proc.returncode}) {open(self.log).read()[-500:]}")
        with open(self.spath) as f:
            return json.load(f)


def ctl(*args, sock=None, env=None):
    cmd = [HAYSTACKCTL] + ([f"--socket={sock}"] if sock else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def ctl_json(*args, sock):
    rc, out, err = ctl("--json", *args, sock=sock)
    if rc != 0:
        fail(f"haystackctl {' '.join(args)}: rc {rc}: {err}")
    return json.loads(out)


def flowtree(*args):
    p = subprocess.run([FLOWTREE, "--json", *args], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def minute_bins(path):
    starts = sorted({ts - ts % (60 * 10**9) for ts, _ in pcap_records(path)})
    return starts


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def service_levels(path):
    """service key -> level, from the bundle's `service KEY LEVEL PARENT NAME` lines."""
    return {l.split()[1]: l.split()[2] for l in open(path) if l.startswith("service ")}


def hitlist_facts(path):
    lines = open(path).read().splitlines()
    word = lambda w: [l[len(w) + 1:] for l in lines if l.startswith(w + " ")]
    return {"valid_from": word("valid_from")[0], "valid_until": word("valid_until")[0],
            "provenance": "\n".join(word("provenance")), "services": len(word("service")),
            "domains": len(word("domain")), "endpoints": len(word("endpoint"))}


def expected_detections():
    """(line, window kind, window start RFC 3339, service) -> expected packets/active."""
    with open(os.path.join(DATA, "iot-lines.expected.json")) as f:
        exp = json.load(f)
    want = {}
    for line, info in exp["lines"].items():
        for window, w in info["windows"].items():
            kind = "day" if len(window) == 10 else "hour"
            start = (window + "T00:00:00Z" if kind == "day" else window).replace(
                "Z", ".000000000Z")
            for svc in w["detected"]:
                want[(line, kind, start, svc)] = (w["packets"][svc], w["active"][svc])
    return want


# ----------------------------------------------------------------------------- cases

def case_ctl_every_subcommand(tmp):
    total, ip = pcap_counts(IOT_LINES)
    d = Daemon(tmp)
    try:
        s = d.sock
        mode = os.stat(s).st_mode
        check(stat.S_ISSOCK(mode) and (mode & 0o777) == 0o660, "control socket is mode 0660")
        d.settle(total)

        # status
        st = ctl_json("status", sock=s)
        bins = minute_bins(IOT_LINES)
        check(st["site_id"] == "test-site" and st["mode"] == "isp" and st["clock"] == "packet",
              "status: site, mode, clock")
        check(st["ports"] == [{"name": "tap", "driver": "net_pcap", "rx_queues": 1,
                               "ipackets": total, "imissed": 0, "ierrors": 0, "rx_nombuf": 0}],
              f"status: port tap received all {total} packets, no drops")
        check(st["workers"] == [{"worker": 0, "lcore": 1, "queues": ["tap/0"], "rx_packets": total}],
              "status: one worker on lcore 1 polling tap/0")
        check(st["hitlist"] == {"path": EXAMPLE_HITLIST, "generation": 1,
                                "valid_from": "2026-11-01", "valid_until": "2026-11-01"},
              "status: hitlist generation 1 and its dates")
        check(st["bins"]["in_memory"] == len(bins) == st["bins"]["received"] ==
              st["bins"]["completed"], f"status: {len(bins)} bins, one per minute with packets")
        check(st["bins"]["first"] == rfc3339(bins[0]) and st["bins"]["last"] == rfc3339(bins[-1]),
              f"status: bins from {rfc3339(bins[0])} to {rfc3339(bins[-1])}")
        check(st["bins"]["seconds"] == 60 and st["bins"]["rollup_seconds"] == [900, 3600, 86400, 604800],
              "status: bin length and roll-ups")
        check(st["version"] == subprocess.run([HAYSTACKD, "--version"], capture_output=True,
                                              text=True).stdout.split()[-1], "status: version")
        check(isinstance(st["uptime_s"], int) and st["uptime_s"] >= 0, "status: uptime")
        rc, out, _ = ctl("status", sock=s)
        rows = [l.split() for l in out.splitlines()]
        check(rc == 0 and ["site_id", "test-site"] in rows and
              ["tap", "net_pcap", "1", str(total), "0", "0", "0"] in rows and
              ["0", "1", "tap/0", str(total)] in rows, "status prints aligned tables")

        # stats
        t = ctl_json("stats", sock=s)
        check(t["totals"]["rx_packets"] == total, f"stats: rx_packets == pcap packets {total}")
        check(t["totals"]["ipv4_packets"] + t["totals"]["ipv6_packets"] == ip, f"stats: IP packets {ip}")
        check(t["ports"][0]["imissed"] == 0 and t["totals"]["bin_ring_full"] == 0 and
              t["totals"]["iot_lines_full"] == 0, "stats: drop counters present and zero")
        check("workers" not in t and "bins" not in t, "stats: no per-core or per-bin detail by default")
        check(t["control"]["socket"]["clients"] == 1 and t["control"]["socket"]["errors"] == 0,
              "stats: control socket counters (this client, no errors yet)")
        pc = ctl_json("stats", "--per-core", "--bins", sock=s)
        check(pc["workers"][0]["counters"]["rx_packets"] == total, "stats --per-core: worker 0 counters")
        check([b["start_ns"] for b in pc["bins"]] == bins, "stats --bins: every bin")
        rc, out, _ = ctl("stats", sock=s)
        check(rc == 0 and any(l.split() == ["totals.rx_packets", str(total)] for l in out.splitlines()),
              "stats prints every counter as an aligned KEY VALUE table")

        # hitlist show
        h = ctl_json("hitlist", "show", sock=s)
        check(h == {"path": EXAMPLE_HITLIST, "generation": 1, **hitlist_facts(EXAMPLE_HITLIST)},
              f"hitlist show: path, generation, dates, provenance, counts {hitlist_facts(EXAMPLE_HITLIST)['services']} services")

        # detections, as the expected file says
        want = expected_detections()
        levels = service_levels(EXAMPLE_HITLIST)
        got = ctl_json("detections", "--limit", "100000", sock=s)
        check(got["matched"] == got["returned"] == len(got["detections"]) == len(want),
              f"detections: {len(want)} detections")
        gotmap = {(x["line"], x["window"], x["window_start"], x["service"]): (x["packets"], x["active"])
                  for x in got["detections"]}
        check(gotmap == want, "detections: lines, windows, services, packets and activity as expected")
        with open(os.path.join(tmp, "state", "detections", "detections.jsonl")) as f:
            check([json.loads(l) for l in f] == got["detections"],
                  "detections: identical to the detections file")
        for args, pred in [
                (["--window", "day"], lambda k: k[1] == "day"),
                (["--service", "smartthings"], lambda k: k[3] == "smartthings"),
                (["--level", "product"], lambda k: levels[k[3]] == "product"),
                (["--since", "2026-11-01T12:00:00Z", "--window", "hour"],
                 lambda k: k[1] == "hour" and k[2] >= "2026-11-01T12:00")]:
            sub = ctl_json("detections", *args, sock=s)["detections"]
            keys = {(x["line"], x["window"], x["window_start"], x["service"]) for x in sub}
            check(keys == {k for k in want if pred(k)}, f"detections {' '.join(args)}: {len(keys)} rows")
        lim = ctl_json("detections", "--limit", "2", sock=s)
        check(lim["returned"] == 2 and lim["matched"] == len(want), "detections --limit 2")

        # services: lines per service per window
        counts = {}
        for (line, kind, start, svc), (_, active) in want.items():
            c = counts.setdefault((kind, start, svc), [0, 0])
            c[0] += 1
            c[1] += active
        sv = ctl_json("services", sock=s)["windows"]
        gotc = {(w["window"], w["window_start"], x["service"]): [x["lines"], x["active_lines"]]
                for w in sv for x in w["services"]}
        check(gotc == counts, f"services: lines and active lines per service per window ({len(counts)})")
        day = ctl_json("services", "--window", "day", sock=s)["windows"]
        check([w["window_start"] for w in day] == ["2026-11-01T00:00:00.000000000Z"],
              "services --window day: the one day")

        # alerts: the ring holds what the alert file holds
        al = ctl_json("alerts", sock=s)["alerts"]
        check(al == read_alerts(tmp), f"alerts: the {len(al)} alerts of the alert file, in order")
        check([a["type"] for a in al].count("iot_first_detection") ==
              sum(len(i.get("first_detection", {})) for i in
                  json.load(open(os.path.join(DATA, "iot-lines.expected.json")))["lines"].values()),
              "alerts: one first-detection alert per expected (line, service)")
        since = ctl_json("alerts", "--since", "2026-11-01T12:00:00Z", sock=s)["alerts"]
        check(since == [a for a in al if a["time_ns"] >= 1793534400 * 10**9],
              "alerts --since filters by alert time")

        # alerts --follow sees the alerts of a reload, then hitlist reload itself
        follower = subprocess.Popen([HAYSTACKCTL, f"--socket={s}", "--json", "alerts", "--follow"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: [lines.append(json.loads(l)) for l in follower.stdout])
        reader.start()
        wait_for(lambda: len(lines) == len(al), "follower backlog")
        check(ctl_json("stats", sock=s)["control"]["socket"]["subscribers"] == 1, "one subscriber")
        r = ctl_json("hitlist", "reload", sock=s)
        check(r["generation"] == 2 and r["path"] == EXAMPLE_HITLIST, "hitlist reload: generation 2")
        check(ctl_json("status", sock=s)["hitlist"]["generation"] == 2, "status shows generation 2")
        bad = os.path.join(tmp, "missing.hitlist")
        rc, out, err = ctl("hitlist", "reload", bad, sock=s)
        check(rc == 1 and err.startswith("haystackctl: reload_failed: ") and bad in err and
              "(generation 2 stays active)" in err, f"bad reload exits 1 naming the file: {err.strip()}")
        wait_for(lambda: len(lines) == len(al) + 2, "follower events")
        check([a["type"] for a in lines[len(al):]] == ["hitlist_reloaded", "hitlist_reload_failed"],
              "alerts --follow streams the reload alerts as they are raised")
        check(lines[len(al):] == read_alerts(tmp)[len(al):], "followed alerts equal the alert file")
        follower.terminate()
        follower.wait(10)
        reader.join(10)

        # eui64: the last closed hourly and daily exposure reports, as in eui64.jsonl
        with open(os.path.join(tmp, "state", "eui64", "eui64.jsonl")) as f:
            reps = [json.loads(l) for l in f]
        last = {k: [r for r in reps if r["window"] == k][-1] for k in ("hour", "day")}
        check(ctl_json("eui64", sock=s) == last and last["day"]["prefixes_seen"] > 0,
              f"eui64: last hour and day reports ({last['day']['prefixes_seen']} /56 seen, "
              f"{last['day']['prefixes_exposed']} exposed that day)")
        check(ctl_json("eui64", "--window", "day", sock=s) == {"day": last["day"]},
              "eui64 --window day")
        rc, out, err = ctl("eui64", "--window", "week", sock=s)
        check(rc == 1 and err == "haystackctl: bad_args: window: expected hour or day, got 'week'\n",
              "eui64 --window week: bad_args, exit 1")
        # query: FlowQL over the stored trees, as haystack-flowtree query answers it
        state = os.path.join(tmp, "state")
        for q in ["SELECT top-5 FROM 2026-11-01 10:00 TO 2026-11-01 12:00 WHERE src_ip = ANY",
                  "SELECT hhh-0.1 FROM 2026-11-01 10:00 TO 2026-11-01 11:00 WHERE dst_port = ANY",
                  "SELECT pop FROM 2026-11-01 10:00 TO 2026-11-01 11:00 WHERE src_ip = 100.64.0.0/16"]:
            want = subprocess.run([FLOWTREE, "query", "--state", state, "--json", q],
                                  capture_output=True, text=True, check=True).stdout
            got = ctl_json("query", q, sock=s)
            check(got == json.loads(want) and len(json.dumps(got)) > 100,
                  f"query {q!r}: equals haystack-flowtree query --json")
            text = subprocess.run([FLOWTREE, "query", "--state", state, q], capture_output=True,
                                  text=True, check=True).stdout
            rc, out, _ = ctl("query", q, sock=s)
            check(rc == 0 and out == text, "query prints the same tables")
        rc, out, err = ctl("query", "SELECT top-5 FORM 2026-11-01 10:00 TO 2026-11-01 11:00", sock=s)
        check(rc == 1 and err.startswith("haystackctl: bad_query: column 14: ") and "^" in err,
              f"a bad query: exit 1, the message points at the column: {err.splitlines()[0]}")

        # top / hhh / above / hc equal haystack-flowtree on the stored trees
        root = os.path.join(tmp, "state", "flowtrees", "test-site")
        mins = sorted(os.listdir(os.path.join(root, "1m")))
        last, prev = (os.path.join(root, "1m", m, "DP.ftr") for m in (mins[-1], mins[-2]))
        for args, ref in [
                (["top", "DP", "-k", "5"], ["top", last, "-k", "5"]),
                (["top", "SI", "-k", "3", "--depth", "0"],
                 ["top", last.replace("DP.ftr", "SI.ftr"), "-k", "3", "--depth", "0"]),
                (["hhh", "DP", "--phi", "0.1"], ["hhh", last, "--phi", "0.1"]),
                (["above", "DP", "--threshold", "5"], ["above", last, "--threshold", "5"]),
                (["hc", "DP", "-k", "4"], ["hc", prev, last, "-k", "4"]),
                (["top", "FULL", "-k", "5", "--metric", "bytes"],
                 ["--metric", "bytes", "top", last.replace("DP.ftr", "FULL.ftr"), "-k", "5"])]:
            res = ctl_json(*args, sock=s)
            check(res["rows"] == flowtree(*ref) and len(res["rows"]) > 0,
                  f"{' '.join(args)}: {len(res['rows'])} rows equal haystack-flowtree")
            check(res["bin"].startswith(f"{mins[-1][:4]}-{mins[-1][4:6]}-{mins[-1][6:8]}T"
                                        f"{mins[-1][9:11]}:{mins[-1][11:13]}"), "latest bin by default")
        hours = sorted(os.listdir(os.path.join(root, "1h")))
        res = ctl_json("top", "DP", "--granularity", "1h", "--bin", "2026-11-01T10:30:00Z", sock=s)
        check(res["bin"] == "2026-11-01T10:00:00.000000000Z" and
              res["rows"] == flowtree("top", os.path.join(root, "1h", "20261101T100000Z", "DP.ftr")),
              f"top --granularity 1h --bin picks the stored hour containing the time ({hours})")
        rc, out, err = ctl("top", "XX", sock=s)
        check(rc == 1 and "bad_args" in err and "not a configured feature set" in err, "bad feature set")
        rc, out, err = ctl("top", "DP", "--bin", "2020-01-01T00:00:00Z", sock=s)
        check(rc == 1 and err.startswith("haystackctl: not_found: bin: no stored 1m DP tree covers"),
              "a period with no stored tree: not_found")
        rc, out, _ = ctl("top", "DP", "-k", "2", sock=s)
        check(rc == 0 and out.splitlines()[1].split() == ["NODE", "PACKETS", "BYTES", "FLOWS"],
              "top prints a table")

        # config show
        c = ctl_json("config", "show", sock=s)
        check(c["site_id"] == "test-site" and c["state_dir"] == f"{tmp}/state" and
              c["control"] == {"socket": s, "max_clients": 16} and c["bins"]["seconds"] == 60 and
              c["iot"]["hitlist"] == EXAMPLE_HITLIST and c["iot"]["pseudonymize"] is False and
              c["ports"][0]["device"] == f"net_pcap0,rx_pcap={IOT_LINES}" and
              c["flowtree"]["feature_sets"] == ["SI", "DI", "SP", "DP", "SIDP", "FULL"] and
              c["telemetry"]["prometheus_listen"] == "127.0.0.1:0" and
              c["eui64"]["enabled"] is True and c["log"]["repeat_limit"] == 10,
              "config show: the effective configuration with defaults")

        # CLI behaviour: --help everywhere, usage errors, socket from the environment
        for sub in SUBCOMMANDS:
            rc, out, _ = ctl(*sub.split(), "--help")
            check(rc == 0 and "Usage:" in out, f"haystackctl {sub} --help")
        rc, _, err = ctl("stats", "--bogus", sock=s)
        check(rc == 2, "unknown option: exit 2")
        rc, _, err = ctl("status", sock=os.path.join(tmp, "nope.sock"))
        check(rc == 3 and "cannot connect" in err, "no daemon: exit 3")
        rc, out, _ = ctl("--json", "status", env={**os.environ, "HAYSTACK_SOCKET": s})
        check(rc == 0 and json.loads(out)["site_id"] == "test-site", "HAYSTACK_SOCKET names the socket")
    finally:
        if d.proc.poll() is None:
            final = d.stop()
            check(final["totals"]["rx_packets"] == total, "final stats document still written")
            check(final["control"]["socket"]["subscribers_dropped"] == 0, "no follower dropped")
    check(not os.path.exists(d.sock), "socket file removed at exit")


def raw(sock_path, data, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock_path)
    s.sendall(data)
    out = b""
    if read:
        s.shutdown(socket.SHUT_WR)
        while chunk := s.recv(65536):
            out += chunk
    s.close()
    return [json.loads(l) for l in out.decode().splitlines()]


def case_ctl_malformed_and_concurrent(tmp):
    total, _ = pcap_counts(IOT_LINES)
    d = Daemon(tmp)
    try:
        s = d.sock
        d.settle(total)
        before = ctl_json("stats", sock=s)["control"]["socket"]
        got = raw(s, b"garbage\n[1]\n{\"id\":1}\n{\"id\":2,\"cmd\":\"nope\"}\n"
                     b"{\"id\":3,\"cmd\":\"status\",\"args\":{\"x\":1}}\n"
                     b"{\"id\":4,\"cmd\":\"detections\",\"args\":{\"limit\":\"ten\"}}\n"
                     b"{\"id\":5,\"cmd\":\"alerts\",\"args\":{\"since\":\"yesterday\"}}\n"
                     b"{\"id\":6,\"cmd\":\"stats\",\"args\":{\"per_core\":1}}\n"
                     b"{\"id\":7,\"cmd\":\"hitlist.show\"}\n")
        codes = [(r["id"], r["ok"], r.get("error", {}).get("code")) for r in got]
        check(codes == [(None, False, "bad_request"), (None, False, "bad_request"),
                        (1, False, "bad_request"), (2, False, "unknown_command"),
                        (3, False, "bad_args"), (4, False, "bad_args"), (5, False, "bad_args"),
                        (6, False, "bad_args"), (7, True, None)],
              f"malformed requests get error responses in order, then a good one works: {codes}")
        check(got[3]["error"]["message"].startswith("unknown command 'nope'; commands: status, stats"),
              "unknown command lists the commands")
        check(got[4]["error"]["message"] == "unknown argument 'x' for status (it takes none)",
              "unknown argument named")
        big = raw(s, b"{\"cmd\":\"status\",\"pad\":\"" + b"x" * 70000 + b"\"}\n")
        check(big == [{"id": None, "ok": False, "error": {
            "code": "line_too_long",
            "message": "request line longer than 65536 bytes; closing the connection"}}],
            "an oversize line is refused and the connection closed")

        # Eight clients at once, each pipelining status and stats requests.
        results = []

        def client(i):
            reqs = b"".join(json.dumps({"id": i * 100 + n, "cmd": ("status", "stats")[n % 2]}).encode()
                            + b"\n" for n in range(20))
            rs = raw(s, reqs)
            results.append(all(r["ok"] for r in rs) and [r["id"] for r in rs] ==
                           [i * 100 + n for n in range(20)] and
                           all(r["result"]["totals"]["rx_packets"] == total for r in rs[1::2]))
        ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        check(results == [True] * 8, "8 concurrent clients x 20 requests all answered correctly")
        after = ctl_json("stats", sock=s)["control"]["socket"]
        check(after["requests"] - before["requests"] == 9 + 160 + 1 and
              after["errors"] - before["errors"] == 8 + 1 and after["lines_too_long"] == 1 and
              after["clients_accepted"] - before["clients_accepted"] == 1 + 1 + 8 + 1,
              f"socket counters: requests, errors, clients ({after})")
        st = ctl_json("status", sock=s)
        check(st["workers"][0]["rx_packets"] == total and d.proc.poll() is None,
              "the daemon is undisturbed")
        # The same counters on /metrics (published once a second).
        port = re.search(r"prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics",
                         open(d.log).read()).group(1)

        def metric(name):
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
            m = re.search(rf"^{name} (\S+)$", text.decode(), re.M)
            return m and float(m.group(1))
        wait_for(lambda: metric("haystack_control_errors_total") == after["errors"] and
                 metric("haystack_control_lines_too_long_total") == 1,
                 "control socket counters on /metrics")
        print("ok: /metrics has the control socket counters")

        # A second daemon on the same socket is refused; the first keeps serving.
        other = os.path.join(tmp, "other")
        os.makedirs(other)
        p = subprocess.run([HAYSTACKD, "--config", d.cpath, "--", *EAL, "--file-prefix",
                            f"ctl2{os.getpid()}"], capture_output=True, text=True, timeout=60)
        check(p.returncode == 1 and f"control socket {s}: another haystackd is already listening "
              "there" in p.stderr, f"a second daemon is refused: {p.stderr.strip()[-200:]}")
        check(ctl_json("status", sock=s)["site_id"] == "test-site", "the first one still answers")
    finally:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)  # leaves a stale socket file behind
            d.proc.wait(30)
    check(stat.S_ISSOCK(os.stat(d.sock).st_mode), "a killed daemon leaves its socket file")
    d2 = Daemon(tmp, prefix="ctl3")
    d2.settle(total)
    check(ctl_json("status", sock=d2.sock)["workers"][0]["rx_packets"] == total,
          "the next daemon replaces the stale socket and serves")
    d2.stop()



if __name__ == "__main__":
    run_case(globals(), "haystack-ctl-", args=2)
