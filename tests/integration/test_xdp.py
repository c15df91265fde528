#!/usr/bin/env python3
"""AF_XDP capture with the in-kernel XDP sampler. usage: test_xdp.py CASE

A veth pair whose far end sits in a network namespace; haystackd runs there on
net_af_xdp with xdp_prog=<xdp_sampler.bpf.o>, and tcpreplay sends a known pcap into the
near end. The sampler keeps 1 in N packets per CPU and counts the rest in the kernel, so
sampled and total counts are exact. Environment: those of test_haystackd.py plus
HAYSTACK_XDP_OBJ (the built BPF object).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

from test_haystackd import (EAL, HAYSTACKD, SAMPLE, check, config_text, counters, fail,
                            frames_from_pcap, sh, write_pcap, run_case)

XDP_OBJ = os.environ["HAYSTACK_XDP_OBJ"]


def ceil_div(a, b):
    return -(-a // b)


# Counts the frames the kernel stack receives on an interface (what XDP_PASS hands on),
# until SIGTERM; prints the count.
SNIFFER = """
import signal, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.1)
n, stop = 0, []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
print("ready", flush=True)
while not stop:
    try:
        if s.recvfrom(65535)[1][2] != socket.PACKET_OUTGOING:
            n += 1
    except socket.timeout:
        pass
print(n, flush=True)
"""


def run_sampler(tmp, rate, frames, unsampled="drop"):
    """Replays `frames` through the veth pair into haystackd with the sampler at 1-in-rate;
    returns (stats document, tcpreplay output, frames the namespace's stack received)."""
    tag = os.getpid() % 100000
    ns, a, b = f"hsx{tag}", f"hsxa{tag}", f"hsxb{tag}"
    pcap = os.path.join(tmp, "replay.pcap")
    write_pcap(pcap, [(i * 1000, fr) for i, fr in enumerate(frames)])
    sh("ip", "netns", "add", ns)
    p = None
    try:
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns)
        # No IPv6 on either end: the kernel would otherwise send its own ND/MLD packets.
        sh("sysctl", "-qw", f"net.ipv6.conf.{a}.disable_ipv6=1")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{b}.disable_ipv6=1")
        sh("ip", "link", "set", a, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", b, "up")
        dev = f"net_af_xdp0,iface={b},xdp_prog={XDP_OBJ}"
        cfg = config_text(tmp, [("mirror", dev, 1)], clock="wall")
        cfg = cfg.replace("    rx_queues: 1\n", f"    rx_queues: 1\n    xdp_sample_rate: {rate}\n"
                          f"    xdp_unsampled: {unsampled}\n", 1)
        cpath, spath = os.path.join(tmp, "haystack.yaml"), os.path.join(tmp, "stats.json")
        with open(cpath, "w") as f:
            f.write(cfg)
        cmd = ["ip", "netns", "exec", ns, HAYSTACKD, "--config", cpath, "--stats-out", spath,
               "--", *EAL, "--file-prefix", f"xdp{os.getpid()}"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        apath = os.path.join(tmp, "alerts.jsonl")
        for _ in range(200):  # wait for daemon_start: the port is up and polled
            if os.path.exists(apath) and "daemon_start" in open(apath).read():
                break
            if p.poll() is not None:
                fail(f"haystackd exited early: {p.stderr.read()[-2000:]}")
            time.sleep(0.05)
        else:
            fail("haystackd did not start")
        sniff = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SNIFFER, b],
                                 stdout=subprocess.PIPE, text=True)
        check(sniff.stdout.readline().strip() == "ready", "sniffer started")
        time.sleep(0.5)
        # One CPU sends, so the veth receive path (and the sampler) runs on that CPU.
        r = subprocess.run(["taskset", "-c", "0", "tcpreplay", "-i", a, "--pps=2000", pcap],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"tcpreplay exits 0: {r.stderr[-500:]}")
        time.sleep(1.5)
        sniff.terminate()
        passed = int(sniff.communicate(timeout=30)[0].strip())
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, f"SIGINT exits 0 (rc={p.returncode}) {err[-500:]}")
        with open(spath) as f:
            return json.load(f), r.stdout, passed
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", a], capture_output=True)


def check_exact(tmp, rate, unsampled):
    frames = frames_from_pcap(SAMPLE, 600)
    n = len(frames)
    st, replay_out, passed = run_sampler(tmp, rate, frames, unsampled)
    m = re.search(r"Actual: (\d+) packets", replay_out)
    check(m is not None and int(m.group(1)) == n, f"tcpreplay sent all {n} frames: {replay_out}")

    port = st["ports"][0]
    check(port["driver"] == "net_af_xdp", f"port runs on net_af_xdp ({port['driver']})")
    x = port.get("xdp")
    check(x is not None, "stats document has the port's XDP sampler counts")
    t = counters(st)
    busy = [c for c in x["per_cpu"] if c["sampled"] + c["unsampled"] + c["no_socket"] > 0]
    print(f"frames {n}, xdp {json.dumps({k: x[k] for k in ('sampled', 'unsampled', 'no_socket', 'total')})}, "
          f"busy cpus {len(busy)}, worker rx {t['rx_packets']}, imissed {port['imissed']}")

    # Totals: the kernel saw every frame, and sampled + unsampled accounts for each.
    check(x["total"] == n, f"the XDP program saw every frame ({x['total']} of {n})")
    check(x["no_socket"] == 0, "every sampled frame had a socket on its queue")
    check(x["sampled"] + x["unsampled"] == n, "sampled + unsampled = frames sent")
    # Count-based per CPU: the first packet then every rate-th, on each CPU.
    for i, c in enumerate(x["per_cpu"]):
        seen = c["sampled"] + c["unsampled"]
        check(c["sampled"] == ceil_div(seen, rate),
              f"cpu {i}: sampled {c['sampled']} = ceil({seen}/{rate})")
    check(len(busy) == 1, f"the sender's CPU ran the sampler ({len(busy)} CPUs busy)")
    check(x["sampled"] == ceil_div(n, rate), f"sampled = ceil({n}/{rate}) = {ceil_div(n, rate)}")
    # haystackd received exactly the sampled frames: frames 0, rate, 2*rate, ...
    check(port["imissed"] == 0, "no sampled frame lost between the kernel and haystackd")
    check(t["rx_packets"] == x["sampled"], f"worker rx {t['rx_packets']} = kernel sampled")
    check(t["rx_bytes"] == sum(len(f) for f in frames[::rate]),
          "worker bytes = bytes of frames 0, rate, 2*rate, ... (deterministic sampler)")
    check(t["rx_packets"] + x["unsampled"] == n, "haystackd total = seen + unsampled = frames sent")
    check(sum(b["packets"] for b in st["bins"]) == x["sampled"], "bins account for every sampled frame")
    # What the kernel stack got: nothing when dropped, exactly the unsampled frames when passed.
    want = x["unsampled"] if unsampled == "pass" else 0
    check(passed == want, f"xdp_unsampled {unsampled}: the stack received {passed} frames, want {want}")


def case_xdp_sampler_exact_counts(tmp):
    check_exact(tmp, 7, "drop")


def case_xdp_sampler_pass_unsampled(tmp):
    check_exact(tmp, 3, "pass")


if __name__ == "__main__":
    run_case(globals(), "hs-xdp-")
