#!/usr/bin/env python3
"""ClickHouse store against Debian's clickhouse-server. usage: test_clickhouse.py CASE

Each case starts its own clickhouse-server on 127.0.0.1 (free ports, a temporary data
directory, a minimal config) as a child process and stops it at the end.
Environment (set by meson): those of test_haystackd.py.
"""
import calendar
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

HAYSTACKCTL = os.environ["HAYSTACKCTL"]

from test_haystackd import (DATA, EAL, FLOWTREE, HAYSTACKD, SAMPLE, check, config_text, fail,
                            free_port, iot_config, pcap_counts, run_haystackd, split, wait_for, run_case)

CLICKHOUSE = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
DAY = "FROM 2026-11-01 00:00 TO 2026-11-02 00:00"

CH_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{data}/</path>
  <tmp_path>{data}/tmp/</tmp_path>
  <user_files_path>{data}/user_files/</user_files_path>
  <format_schema_path>{data}/format_schemas/</format_schema_path>
  <mark_cache_size>104857600</mark_cache_size>
  <uncompressed_cache_size>104857600</uncompressed_cache_size>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <remote_servers>
    <loopback>
      <shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>
    </loopback>
  </remote_servers>
</yandex>
"""

CH_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <reader>
      <password>s3cret pass</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </reader>
  </users>
  <quotas><default></default></quotas>
</yandex>
"""


class ClickHouse:
    """clickhouse-server as a child process on free loopback ports."""

    def __init__(self, tmp, http_port=None):
        self.dir = os.path.join(tmp, "clickhouse")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.http = http_port or free_port()
        self.tcp = free_port()
        self.url = f"http://127.0.0.1:{self.http}"
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(CH_CONFIG.format(http=self.http, tcp=self.tcp,
                                     data=os.path.join(self.dir, "data")))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(CH_USERS)
        self.proc = None
        self.start()

    def start(self):
        cmd = [CLICKHOUSE, f"--config-file={os.path.join(self.dir, 'config.xml')}"]
        print("run:", " ".join(cmd))
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        t0 = time.monotonic()
        wait_for(lambda: self.proc.poll() is not None or self.ping(), "clickhouse-server /ping",
                 timeout=30)
        if self.proc.poll() is not None:
            fail(f"clickhouse-server exited: {open(self.log.name).read()[-2000:]}")
        print(f"clickhouse-server up in {time.monotonic() - t0:.2f} s on {self.url}")

    def ping(self):
        try:
            with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                return r.read() == b"Ok.\n"
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def query(self, sql):
        req = urllib.request.Request(self.url + "/", data=sql.encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            fail(f"clickhouse: {sql}: {e.read().decode()[:500]}")

    def rows(self, sql):
        out = self.query(sql + " FORMAT JSONEachRow").decode()
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def scalar(self, sql):
        return int(self.query(sql).decode().strip())


def store_cfg(url, database, more=""):
    return ("store:\n  backend: clickhouse\n  clickhouse:\n"
            f"    url: {url}\n    database: {database}\n    flush_ms: 200\n" + more)


def trees_cfg(budget, p=None, feature_sets="[SI, DP]"):
    s = (f"flowtree:\n  feature_sets: {feature_sets}\n  node_budget: {budget}\n"
         f"  port_node_budget: {budget}\n  flow_table_size: 65536\n")
    return s + (f"  insert_probability: {p}\n" if p is not None else "")


def site_run(tmp, name, site, dev, queues, extra, eal_extra=()):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    cfg = config_text(d, [("in0", dev, queues)], extra=extra)
    cfg = cfg.replace("site_id: test-site", f"site_id: {site}")
    if queues > 1:
        cfg += f"workers: [{', '.join(str(i + 1) for i in range(queues))}]\n"
    r = run_haystackd(d, cfg, prefix=f"ch{name}", eal_extra=eal_extra)
    check(r.rc == 0, f"{name}: replay as site {site} exits 0 (rc={r.rc})")
    return r


def flowql_ch(ch, database, query):
    p = subprocess.run([FLOWTREE, "query", "--clickhouse", ch.url, "--database", database,
                        "--json", query], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        fail(f"haystack-flowtree query --clickhouse {query!r}: rc={p.returncode} {p.stderr}")
    return json.loads(p.stdout)["answers"]


def flowql_state(tmp, name, query):
    p = subprocess.run([FLOWTREE, "query", "--state", os.path.join(tmp, name, "state"), "--json",
                        query], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        fail(f"haystack-flowtree query --state {query!r}: {p.stderr}")
    return json.loads(p.stdout)["answers"]


def store_stats_of(stats):
    s = stats.get("store")
    if s is None:
        fail(f"stats document has no store section: {sorted(stats)}")
    return s


def store_stats(r):
    return store_stats_of(r.stats)


# ----------------------------------------------------------------------------- cases

def case_clickhouse_network_topk(tmp):
    """Two sites (the two RSS halves of the sample) vs one instance replaying both."""
    ch = ClickHouse(tmp)
    try:
        total, ip = pcap_counts(SAMPLE)
        halves = split(tmp, 2)
        # p = 1: every ancestor of a flow is a node, so the node set does not depend on the
        # per-core RNG; with this budget nothing is compressed, so every answer is exact
        # and the merged site trees equal the one instance's tree node for node.
        exact = trees_cfg(50000, p=1.0) + store_cfg(ch.url, "exact")
        a = site_run(tmp, "a", "site-a", f"net_pcap0,rx_pcap={halves[0]}", 1, exact)
        b = site_run(tmp, "b", "site-b", f"net_pcap0,rx_pcap={halves[1]}", 1, exact)
        both = "net_pcap0," + ",".join(f"rx_pcap={f}" for f in halves)
        one = site_run(tmp, "one", "one", both, 2, exact.replace("database: exact", "database: single"),
                       eal_extra=["--lcores", "0@0,1@0,2@1"])
        pa, pb = a.stats["totals"]["rx_packets"], b.stats["totals"]["rx_packets"]
        check(pa + pb == total and one.stats["totals"]["rx_packets"] == total and pa > 0 and pb > 0,
              f"the halves ({pa} + {pb}) add up to the pcap ({total})")

        for name, r, db, site in (("a", a, "exact", "site-a"), ("b", b, "exact", "site-b"),
                                  ("one", one, "single", "one")):
            st = store_stats(r)
            n = ch.scalar(f"SELECT count() FROM {db}.trees WHERE site = '{site}'")
            check(st["trees_written"] == n and n > 0 and st["dropped_rows"] == 0
                  and st["write_errors"] == 0 and st["queued_rows"] == 0,
                  f"{name}: all {n} trees in ClickHouse, none dropped {st}")
            want = (r.stats["flowtrees"]["bins_completed"] + r.stats["flowtrees"]["rollups_completed"]) * 2
            check(n == want, f"{name}: one row per feature set of every bin and roll-up ({want})")
            # Stored bytes are the tree files byte for byte.
            files = 0
            root = os.path.join(tmp, name, "state", "flowtrees", site)
            for dirpath, _, names in os.walk(root):
                for fn in names:
                    gran, period = dirpath.split(os.sep)[-2:]
                    secs = {"1m": 60, "15m": 900, "1h": 3600, "1d": 86400, "1w": 604800}[gran]
                    start = time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(period, "%Y%m%dT%H%M%SZ"))
                    blob = ch.query(
                        f"SELECT hex(blob) FROM {db}.trees WHERE site = '{site}' AND granularity = {secs} "
                        f"AND start = toDateTime('{start}') AND feature_set = '{fn[:-4]}'").decode().strip()
                    with open(os.path.join(dirpath, fn), "rb") as f:
                        if blob != f.read().hex().upper():
                            fail(f"{name}: {dirpath}/{fn} differs from its ClickHouse row")
                    files += 1
            check(files == n, f"{name}: the {files} tree files equal their ClickHouse blobs byte for byte")

        check(ch.rows("SELECT DISTINCT site FROM exact.trees ORDER BY site") ==
              [{"site": "site-a"}, {"site": "site-b"}], "both sites stored in one table")

        for feature, fs_rows in (("src_ip", "SI"), ("dst_port", "DP")):
            q = f"SELECT top-10 {DAY} WHERE {feature} = ANY"
            net = flowql_ch(ch, "exact", q)
            single = flowql_ch(ch, "single", q)
            check(len(net) == 1 and net[0]["trees"] == 2 and net[0]["site"] == "*",
                  f"{feature}: one network-wide answer merged from 2 day trees")
            check(net[0]["rows"] == single[0]["rows"] and len(net[0]["rows"]) == 10,
                  f"{feature}: network-wide top-10 equals the single instance's {net[0]['rows'][:3]}...")
            pop = flowql_ch(ch, "exact", f"SELECT pop {DAY} WHERE {feature} = ANY")[0]
            check(pop["exact"] and pop["estimate"]["packets"] == ip, f"{feature}: network pop exact ({ip})")
            itr = flowql_ch(ch, "exact", f"SELECT pop {DAY} WHERE site_id = ITR AND {feature} = ANY")
            own = [flowql_state(tmp, n, f"SELECT pop {DAY} WHERE {feature} = ANY")[0]["estimate"]
                   for n in ("a", "b")]
            check([x["site"] for x in itr] == ["site-a", "site-b"] and
                  [x["estimate"] for x in itr] == own,
                  f"{feature}: ITR gives each site's own total, as its state directory does {own}")
        # The documented cluster setup: a Distributed table over the local one (here a
        # one-shard cluster on this server) answers FlowQL the same way.
        ch.query("CREATE DATABASE dist")
        ch.query("CREATE TABLE dist.trees AS exact.trees ENGINE = Distributed(loopback, exact, trees)")
        q = f"SELECT top-10 {DAY} WHERE site_id = ITR AND src_ip = ANY"
        check(flowql_ch(ch, "dist", q) == flowql_ch(ch, "exact", q),
              "FlowQL through a Distributed table equals the local table's answers")
        pw = os.path.join(tmp, "reader.pw")
        with open(pw, "w") as f:
            f.write("s3cret pass\n")
        p = subprocess.run([FLOWTREE, "query", "--clickhouse", ch.url, "--database", "dist",
                            "--user", "reader", "--password-file", pw, "--json", q],
                           capture_output=True, text=True)
        check(p.returncode == 0 and json.loads(p.stdout)["answers"] == flowql_ch(ch, "exact", q),
              "a user with a password (--user, --password-file) reads the same answers")
        with open(pw, "w") as f:
            f.write("wrong\n")
        p = subprocess.run([FLOWTREE, "query", "--clickhouse", ch.url, "--user", "reader",
                            "--password-file", pw, q], capture_output=True, text=True)
        check(p.returncode == 1 and "HTTP " in p.stderr and "password" in p.stderr.lower(),
              f"a wrong password: exit 1 with the server's reason ({p.stderr.strip()[:200]})")
        p = subprocess.run([FLOWTREE, "query", "--clickhouse", ch.url, "--database", "exact",
                            f"SELECT pop {DAY} WHERE site_id = nowhere AND src_ip = ANY"],
                           capture_output=True, text=True)
        check(p.returncode == 2 and "unknown site 'nowhere' (stored sites: site-a, site-b)" in p.stderr,
              f"unknown site: exit 2 naming the stored sites ({p.stderr.strip()})")
        dead = f"http://127.0.0.1:{free_port()}"
        p = subprocess.run([FLOWTREE, "query", "--clickhouse", dead, f"SELECT pop {DAY} WHERE src_ip = ANY"],
                           capture_output=True, text=True)
        check(p.returncode == 1 and f"ClickHouse {dead}: " in p.stderr,
              f"unreachable server: exit 1 naming it ({p.stderr.strip()})")
        hc = "SELECT hc-5 FROM 2026-11-01 10:00 TO 2026-11-01 11:00, 2026-11-01 11:00 TO 2026-11-01 12:00 " \
             "WHERE dst_port = ANY"
        check(flowql_ch(ch, "exact", hc)[0]["rows"] == flowql_ch(ch, "single", hc)[0]["rows"],
              "heavy changers between two hours: network-wide equals the single instance")

        # Estimation bounds under compression: small budgets, default p, both sites again.
        truth = {r["key"]: r["value"]["packets"]
                 for r in flowql_ch(ch, "single", f"SELECT top-10 {DAY} WHERE src_ip = ANY")[0]["rows"]}
        small = trees_cfg(64) + store_cfg(ch.url, "small")
        site_run(tmp, "as", "site-a", f"net_pcap0,rx_pcap={halves[0]}", 1, small)
        site_run(tmp, "bs", "site-b", f"net_pcap0,rx_pcap={halves[1]}", 1, small)
        most = ch.scalar("SELECT max(nodes) FROM small.trees")
        need = ch.scalar("SELECT min(nodes) FROM single.trees WHERE granularity = 86400")
        check(most <= 64 < need, f"small budgets: trees of at most {most} nodes hold what "
                                 f"needs {need} uncompressed")
        pop = flowql_ch(ch, "small", f"SELECT pop {DAY} WHERE src_ip = ANY")[0]
        check(pop["estimate"]["packets"] == ip, "compressed: network total still exact")
        widened = 0
        for key in truth:
            # top-10 values are HHH-discounted; the truth of a key is its exact pop.
            want = flowql_ch(ch, "single", f"SELECT pop {DAY} WHERE src_ip = {key.split('|')[0]}")[0]
            got = flowql_ch(ch, "small", f"SELECT pop {DAY} WHERE src_ip = {key.split('|')[0]}")[0]
            t = want["estimate"]["packets"]
            check(want["exact"] and got["lower"]["packets"] <= t <= got["upper"]["packets"],
                  f"{key}: true {t} within network-wide bounds "
                  f"[{got['lower']['packets']}, {got['upper']['packets']}]")
            widened += got["lower"]["packets"] < got["upper"]["packets"]
        check(widened > 0, f"compression widened the bounds of {widened} of the 10 keys")
    finally:
        ch.stop()


class LiveDaemon:
    """haystackd replaying a pcap without --until-idle: it keeps running until stop()."""

    def __init__(self, tmp, cfg, prefix):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "state", "haystackd.sock")
        self.cpath = os.path.join(tmp, "haystack.yaml")
        with open(self.cpath, "w") as f:
            f.write(cfg)
        self.spath = os.path.join(tmp, "stats.json")
        cmd = [HAYSTACKD, "--config", self.cpath, "--stats-out", self.spath, "--", *EAL,
               "--file-prefix", f"{prefix}{os.getpid()}"]
        print("run:", " ".join(cmd))
        self.log = os.path.join(tmp, f"{prefix}.log")
        with open(self.log, "w") as log:  # a file: a full pipe would block the daemon
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        wait_for(lambda: self.proc.poll() is not None or self.ctl("status") is not None,
                 "control socket", timeout=60)
        if self.proc.poll() is not None:
            fail(f"haystackd exited early: {open(self.log).read()[-2000:]}")

    def ctl(self, *args):
        p = subprocess.run([HAYSTACKCTL, f"--socket={self.sock}", "--json", *args],
                           capture_output=True, text=True, timeout=60)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        check(self.proc.returncode == 0,
              f"SIGTERM exits 0 (rc={self.proc.returncode}) {open(self.log).read()[-500:]}")
        with open(self.spath) as f:
            return json.load(f)


def db_counters(stats):
    return store_stats_of(stats)


def case_clickhouse_dead_database(tmp):
    """The database is down while haystackd replays: nothing stalls, drops are counted, and
    what was queued arrives once the server is up."""
    total, ip = pcap_counts(SAMPLE)
    port = free_port()  # nothing listens here yet: a dead database
    extra = trees_cfg(2000) + store_cfg(
        f"http://127.0.0.1:{port}", "late",
        "    batch_rows: 4\n    queue_rows: 40\n    retry_max_seconds: 600\n"
        "    retry_backoff_max_ms: 200\n    timeout_ms: 2000\n    flush_timeout_ms: 30000\n")
    cfg = config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], extra=extra)
    d = LiveDaemon(tmp, cfg, "chdead")
    ch = None
    try:
        def replayed():
            s = d.ctl("status")
            return s and s["input_idle"] and s["workers"][0]["rx_packets"] == total
        wait_for(replayed, "the whole pcap counted while the database is down", timeout=120)
        check(True, f"all {total} packets counted with the database down")

        def dropping():
            st = db_counters(d.ctl("stats"))
            return st["dropped_rows"] > 0 and st["retries"] > 0 and st["queued_rows"] > 0
        wait_for(dropping, "drops and retries counted", timeout=60)
        st = db_counters(d.ctl("stats"))
        check(st["trees_written"] == 0 and st["rows_written"] == 0 and st["write_errors"] > 0,
              f"nothing written, errors counted {st}")
        # 40 queued (queue_rows) + the batch of 4 being retried, or 40 in all when the queue
        # filled before the writer took its first batch.
        queued = st["queued_rows"]
        check(40 <= queued <= 44, f"queue bounded: {queued} rows held (queue_rows 40, batch 4)")
        stats = d.ctl("stats")
        check(stats["totals"]["rx_packets"] == total, "stats: every packet counted")

        ch = ClickHouse(tmp, http_port=port)  # the database comes back
        def drained():
            return db_counters(d.ctl("stats"))["queued_rows"] == 0
        wait_for(drained, "queued rows written after the server came back", timeout=60)
        st = db_counters(d.ctl("stats"))
        n = ch.scalar("SELECT count() FROM late.trees")
        m = ch.scalar("SELECT count() FROM late.alerts")
        check(n == st["trees_written"] and m == st["rows_written"] and n + m == queued,
              f"the {queued} queued rows arrived ({n} trees, {m} alerts) {st}")
        # haystackctl query reads the store: the same answer as a reader of the database.
        q = f"SELECT top-5 {DAY} WHERE site_id = ITR AND src_ip = ANY"
        via_daemon = d.ctl("query", q)
        check(via_daemon is not None and via_daemon["answers"] == flowql_ch(ch, "late", q) and
              via_daemon["answers"][0]["trees"] > 0,
              "haystackctl query answers from ClickHouse like haystack-flowtree --clickhouse")
        final = d.stop()
        st = db_counters(final)
        n = ch.scalar("SELECT count() FROM late.trees")
        m = sum(ch.scalar(f"SELECT count() FROM late.{t}") for t in
                ("detections", "service_counts", "eui64", "alerts", "hitlist_generations"))
        produced = (final["flowtrees"]["bins_completed"] + final["flowtrees"]["rollups_completed"]) * 2
        check(n == st["trees_written"] and m == st["rows_written"] and st["queued_rows"] == 0,
              f"after shutdown: ClickHouse holds exactly what was counted as written {st}")
        with open(os.path.join(tmp, "alerts.jsonl")) as f:
            alerts = sum(1 for l in f if l.strip())
        check(n + m + st["dropped_rows"] == produced + alerts,
              f"every row ({produced} trees, {alerts} alerts) was written or counted as dropped")
        check(st["dropped_queue_full"] > 0 and
              st["dropped_queue_full"] + st["dropped_unwritten"] == st["dropped_rows"],
              f"drops by reason: the bounded queue overflowed while the database was down {st}")
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
        if ch:
            ch.stop()


def case_clickhouse_retries_exhausted(tmp):
    """A database that never comes back: each batch is given up after retry_max_seconds and
    counted; the replay and the shutdown finish regardless."""
    total, ip = pcap_counts(SAMPLE)
    extra = trees_cfg(2000) + store_cfg(
        f"http://127.0.0.1:{free_port()}", "never",
        "    batch_rows: 100\n    retry_max_seconds: 1\n    retry_backoff_max_ms: 200\n"
        "    flush_timeout_ms: 20000\n")
    t0 = time.monotonic()
    r = run_haystackd(tmp, config_text(tmp, [("in0", f"net_pcap0,rx_pcap={SAMPLE}", 1)], extra=extra),
                      prefix="chnever")
    check(r.rc == 0 and r.stats["totals"]["rx_packets"] == total,
          f"replay exits 0 with every packet counted ({total}) in {time.monotonic() - t0:.1f} s")
    st = store_stats(r)
    produced = (r.stats["flowtrees"]["bins_completed"] + r.stats["flowtrees"]["rollups_completed"]) * 2
    alerts = len(r.alerts)
    check(st["trees_written"] == 0 and st["rows_written"] == 0 and st["queued_rows"] == 0 and
          st["dropped_rows"] == produced + alerts and st["retries"] > 0 and st["write_errors"] > st["retries"],
          f"all {produced} trees and {alerts} alerts dropped after retrying, none queued {st}")
    check(st["dropped_unwritten"] == st["dropped_rows"] and st["dropped_queue_full"] == 0,
          f"dropped because retries ran out, not because the queue was full {st}")


def case_clickhouse_iot_rows(tmp):
    """IoT detections, service counts, EUI-64 reports, alerts and the hitlist generation of
    the generated ISP trace arrive as rows equal to what haystackd writes to its files."""
    ch = ClickHouse(tmp)
    try:
        hitlist = os.path.join(DATA, "hitlist", "example-2026-11-01.hitlist")
        pcap = os.path.join(DATA, "pcaps", "iot-lines.pcap")
        cfg = iot_config(tmp, [("tap", f"net_pcap0,rx_pcap={pcap}", 1)], hitlist)
        r = run_haystackd(tmp, cfg + store_cfg(ch.url, "iot"), prefix="chiot")
        check(r.rc == 0, "replay with a hitlist exits 0")
        st = store_stats(r)
        with open(os.path.join(tmp, "state", "detections", "detections.jsonl")) as f:
            files = [json.loads(l) for l in f if l.strip()]
        rows = ch.rows("SELECT line, window, toUnixTimestamp(window_start) AS start, service_key, "
                       "level, packets, active, domains FROM iot.detections")
        key = lambda d: (d["line"], d["window"], d["start"], d["service_key"])
        got = {key(d): d for d in rows}
        check(len(rows) == len(files) == len(got) and len(files) > 0,
              f"{len(files)} detections, each once")
        for d in files:
            start = calendar_seconds(d["window_start"])
            g = got.get((d["line"], d["window"], start, d["service"]))
            check(g is not None and int(g["packets"]) == d["packets"] and
                  bool(g["active"]) == d["active"] and g["level"] == d["level"],
                  f"{d['line']} {d['window']} {d['window_start']} {d['service']}: "
                  f"{d['packets']} packets, active {d['active']}")
        gens = ch.rows("SELECT number, trigger, toString(valid_from) AS vf, services FROM "
                       "iot.hitlist_generations")
        valid_from = [l.split()[1] for l in open(hitlist) if l.startswith("valid_from ")][0]
        services = sum(1 for l in open(hitlist) if l.startswith("service "))
        check(len(gens) == 1 and gens[0]["trigger"] == "start" and gens[0]["vf"] == valid_from
              and int(gens[0]["services"]) == services,
              f"one hitlist generation row: valid from {valid_from}, {services} services {gens}")
        alerts = ch.rows("SELECT type, time_ns, details FROM iot.alerts ORDER BY time_ns, type")
        want = sorted((a["type"], a["time_ns"]) for a in r.alerts)
        check(sorted((a["type"], int(a["time_ns"])) for a in alerts) == want,
              f"the {len(want)} alerts of the alert file, with their times")
        counts = ch.scalar("SELECT count() FROM iot.service_counts")
        eui = ch.scalar("SELECT count() FROM iot.eui64")
        trees = ch.scalar("SELECT count() FROM iot.trees")
        check(st["trees_written"] == trees and
              st["rows_written"] == len(rows) + counts + eui + len(alerts) + len(gens) and
              counts > 0 and eui > 0 and st["dropped_rows"] == 0,
              f"counters equal the rows: {trees} trees, {counts} service counts, {eui} EUI-64 "
              f"reports {st}")
    finally:
        ch.stop()


def calendar_seconds(rfc3339):
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))



if __name__ == "__main__":
    run_case(globals(), "haystack-ch-", args=2)
