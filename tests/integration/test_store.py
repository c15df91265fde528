#!/usr/bin/env python3
"""The SQLite store of a real haystackd. usage: test_store.py CASE

store_replay_matches_tree_files: a pcap replay writes both the SQLite store and the .ftr
  files; every stored tree is byte-identical and FlowQL answers equally from both.
store_corrupt_file_refused: a store file that is not SQLite stops haystackd at start
  with an error naming the file, which is left as it was.
store_kill9_keeps_committed_bins: haystackd runs live (packet clock, pcap fed through a
  FIFO) until bins are committed, is killed with SIGKILL; the file passes integrity_check,
  every bin committed before the kill is there and loads with its exact packet count;
  a restart on the same file continues and the roll-ups catch up.
Environment (set by meson): those of test_haystackd.py.
"""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from test_haystackd import (EAL, FLOWTREE, HAYSTACKD, SAMPLE, check, config_text, fail,
                            pcap_counts, run_haystackd, tcp_frame, wait_for, write_pcap, run_case)


def db_ro(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def flowql(args, query):
    p = subprocess.run([FLOWTREE, "query", *args, query, "--json"], capture_output=True, text=True)
    check(p.returncode == 0, f"FlowQL {args[0]} exits 0 ({p.stderr.strip()})")
    return json.loads(p.stdout)


def case_store_replay_matches_tree_files(tmp):
    total, ip = pcap_counts(SAMPLE)
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]))
    check(r.rc == 0, "replay exits 0")
    st = r.stats["store"]
    print("store counters:", st)
    check(st["backend"] == "sqlite" and st["write_errors"] == 0, "sqlite store without write errors")
    db = os.path.join(tmp, "state", "haystack.sqlite")
    root = os.path.join(tmp, "state", "flowtrees")
    labels = {60: "1m", 900: "15m", 3600: "1h", 86400: "1d", 604800: "1w"}
    con = db_ro(db)
    rows = con.execute("SELECT site, seconds, start, feature_set, tree, packets, partial "
                       "FROM trees").fetchall()
    files = []
    for d, _, names in os.walk(root):
        files += [os.path.join(d, n) for n in names if n.endswith(".ftr")]
    check(len(rows) == len(files) > 0, f"one stored tree per .ftr file ({len(rows)}, {len(files)})")
    for site, sec, start, fs, blob, _, _ in rows:
        period = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start))
        with open(os.path.join(root, site, labels[sec], period, fs + ".ftr"), "rb") as f:
            if f.read() != blob:
                fail(f"{site} {labels[sec]} {period} {fs}: stored tree differs from the file")
    print(f"all {len(rows)} trees byte-identical")
    bins = con.execute("SELECT count(DISTINCT start), sum(packets) FROM trees "
                       "WHERE seconds = 60 AND feature_set = 'SI'").fetchone()
    check(bins == (r.stats["flowtrees"]["bins_completed"], ip),
          f"every bin stored, counting every IP packet ({bins})")
    # The pcap fills 10:00-12:00: eight quarters and two hours are complete; the day and
    # the week are partial roll-ups written at shutdown.
    ups = con.execute("SELECT seconds, start, partial FROM trees WHERE rollup = 1 AND "
                      "feature_set = 'SI' ORDER BY seconds, start").fetchall()
    print("roll-ups (seconds, start, partial):", ups)
    want = ([(900, T0 + 900 * i, 0) for i in range(8)] + [(3600, T0, 0), (3600, T0 + 3600, 0)] +
            [(86400, T0 - 36000, 1), (604800, 1792972800, 1)])
    check(ups == want, "quarters and hours complete; day and week (from Monday 2026-10-26 "
                       "00:00 UTC) partial")
    check(r.stats["store"]["rollups_written"] == 12 * 6, "12 roll-up sets of 6 trees")
    alerts = [a[0] for a in con.execute("SELECT type FROM alerts ORDER BY id")]
    check(alerts == [a["type"] for a in r.alerts] and alerts[0] == "daemon_start"
          and alerts[-1] == "daemon_stop", f"every alert stored, in order {alerts}")
    con.close()
    day = "FROM 2026-11-01 00:00 TO 2026-11-02 00:00"
    for q in (f"SELECT top-10 {day} WHERE dst_port = ANY",
              f"SELECT top-5 {day} WHERE site_id = ITR AND src_ip = ANY",
              "SELECT top-5 FROM 2026-11-01 10:00 TO 2026-11-01 10:30 WHERE dst_ip = ANY USING 1m",
              f"SELECT pop {day} WHERE src_ip = ANY",
              "SELECT hc-5 FROM 2026-11-01 10:00 TO 2026-11-01 11:00, "
              "2026-11-01 11:00 TO 2026-11-01 12:00 WHERE dst_port = ANY"):
        a = flowql(["--db", db], q)
        b = flowql(["--state", os.path.join(tmp, "state")], q)
        check(a == b and len(a["answers"]) > 0, f"same answer from the store and the files: {q}")
    top = flowql(["--db", db], f"SELECT pop {day} WHERE src_ip = ANY")["answers"][0]
    check(top["estimate"]["packets"] == ip, f"pop over the day from the store = {ip} IP packets")


T0 = 1793527200  # 2026-11-01 10:00:00 UTC


def bin_packets(b, n):
    """n TCP packets in the 5 s bin number b after T0, from 10.0.<b>.x."""
    base = (T0 + 5 * b) * 10**9
    return [(base + i * (5 * 10**9 // n), tcp_frame([10, 0, b % 256, 1 + i % 200], [192, 0, 2, 1],
                                                      1000 + i, 443)) for i in range(n)]


def packets_per_bin(b):
    return 10 + b % 7


KILL_CFG = """flowtree:
  feature_sets: [SI, DP]
  node_budget: 500
  port_node_budget: 200
  rollups: [60, 300]
"""


def case_store_kill9_keeps_committed_bins(tmp):
    run = os.path.join(tmp, "run")
    os.makedirs(run)
    db = os.path.join(tmp, "state", "haystack.sqlite")
    fifo = os.path.join(run, "feed.pcap")
    os.mkfifo(fifo)
    first = [p for b in range(60) for p in bin_packets(b, packets_per_bin(b))]
    whole = os.path.join(run, "first.pcap")
    write_pcap(whole, first)
    with open(whole, "rb") as f:
        data = f.read()
    stop_feed = threading.Event()

    def feed():
        # One 5 s bin of packet time per 0.25 s of wall time; the reader dies with SIGKILL.
        try:
            with open(fifo, "wb") as out:
                out.write(data[:24])
                off = 24
                for b in range(60):
                    chunk = b""
                    for _ in range(packets_per_bin(b)):
                        n = int.from_bytes(data[off + 8:off + 12], "little")
                        chunk += data[off:off + 16 + n]
                        off += 16 + n
                    out.write(chunk)
                    out.flush()
                    if stop_feed.wait(0.25):
                        return
                stop_feed.wait(60)
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=feed)
    writer.start()
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={fifo}", 1)], bins=5, clock="packet",
                      extra=KILL_CFG)
    cpath = os.path.join(run, "haystack.yaml")
    with open(cpath, "w") as f:
        f.write(cfg)
    cmd = [HAYSTACKD, "--config", cpath, "--", *EAL, "--file-prefix", f"hskill{os.getpid()}"]
    print("run:", " ".join(cmd))
    log = open(os.path.join(run, "first.log"), "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    seen = []

    def committed():
        if proc.poll() is not None:
            fail(f"haystackd exited early (rc {proc.returncode})")
        if not os.path.exists(db):
            return False
        try:
            con = db_ro(db)
            seen[:] = [r[0] for r in con.execute(
                "SELECT DISTINCT start FROM trees WHERE seconds = 5 ORDER BY start")]
            con.close()
        except sqlite3.Error:
            return False
        return len(seen) >= 30
    try:
        wait_for(committed, "30 committed bins", timeout=60)
        before = list(seen)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stop_feed.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        writer.join(10)
        log.close()
    check(proc.returncode == -signal.SIGKILL, "haystackd died of SIGKILL")
    print(f"{len(before)} bins committed before the kill, last {before[-1]}")

    con = sqlite3.connect(db)  # as haystackd would reopen it: the WAL is replayed
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
    have = {r[0]: r[1] for r in con.execute(
        "SELECT start, packets FROM trees WHERE seconds = 5 AND feature_set = 'SI'")}
    sets = dict(con.execute("SELECT start, count(*) FROM trees WHERE seconds = 5 GROUP BY start"))
    con.close()
    for s in before:
        b = (s - T0) // 5
        check(s in have and sets[s] == 2, f"bin {s} present with both feature sets")
        check(have[s] == packets_per_bin(b), f"bin {b} counts its {packets_per_bin(b)} packets")
    # Every committed bin loads: FlowQL reads each one from the file.
    for s in before:
        t = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s))
        t2 = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s + 5))
        a = flowql(["--db", db], f"SELECT pop FROM {t} TO {t2} WHERE src_ip = ANY USING 5s")
        check(a["answers"][0]["estimate"]["packets"] == packets_per_bin((s - T0) // 5),
              f"bin {t} loads with its packet count")

    # Restart on the same file with the following minutes of traffic (a plain pcap, replay).
    later = [p for b in range(60, 96) for p in bin_packets(b, packets_per_bin(b))]
    second = os.path.join(run, "second.pcap")
    write_pcap(second, later)
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={second}", 1)], bins=5,
                                       clock="packet", extra=KILL_CFG), prefix="hskill2")
    check(r.rc == 0, "restart on the same store exits 0")
    check(r.stats["store"]["write_errors"] == 0, "no store write errors after the restart")
    con = db_ro(db)
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok after restart")
    bins = dict(con.execute("SELECT start, packets FROM trees WHERE seconds = 5 AND feature_set = 'SI'"))
    for b in range(60, 96):
        check(bins.get(T0 + 5 * b) == packets_per_bin(b), f"bin {b} of the restart stored")
    for s in before:
        check(s in bins, f"bin {s} still there after the restart")
    # Roll-ups: every minute with bins has one, equal in packets to its bins, and complete
    # (the replay ends at 10:08:00, a minute boundary) - also the minutes the kill left
    # without roll-up, built when the restart opened the store or went on.
    minutes = {}
    for s, p in bins.items():
        m = s - s % 60
        minutes[m] = minutes.get(m, 0) + p
    ups = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT start, packets, partial FROM trees WHERE seconds = 60 AND feature_set = 'SI'")}
    check(sorted(ups) == sorted(minutes), f"one 1 min roll-up per minute with bins ({len(ups)})")
    for m, p in minutes.items():
        check(ups[m] == (p, 0), f"minute {m}: {ups[m]} == ({p}, complete)")
    fives = dict(con.execute("SELECT start, packets FROM trees WHERE seconds = 300 AND "
                             "feature_set = 'SI' AND partial = 0"))
    for s, p in fives.items():
        check(p == sum(v for k, v in bins.items() if s <= k < s + 300), f"5 min roll-up {s}")
    check(sorted(fives) == [T0], f"the complete 5 min periods (10:00-10:05): {sorted(fives)}")
    partial = [r[0] for r in con.execute("SELECT start FROM trees WHERE seconds = 300 AND "
                                         "feature_set = 'SI' AND partial = 1")]
    check(partial == [T0 + 300], f"10:05-10:10 rolled up as partial at shutdown ({partial})")
    con.close()


def case_store_corrupt_file_refused(tmp):
    """A store file that is not SQLite: haystackd refuses to start and names the file."""
    os.makedirs(os.path.join(tmp, "state"))
    db = os.path.join(tmp, "state", "haystack.sqlite")
    with open(db, "w") as f:
        f.write("not a database\n" * 300)
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)]))
    check(r.rc != 0, f"haystackd exits non-zero (rc {r.rc})")
    check(f"{db}: not a SQLite database" in r.err, "the error names the store file")
    with open(db) as f:
        check(f.read() == "not a database\n" * 300, "the file is left untouched")



if __name__ == "__main__":
    run_case(globals(), "haystack-store-", args=2)
