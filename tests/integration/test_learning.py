#!/usr/bin/env python3
"""On-the-wire learning through haystackd. usage: test_learning.py CASE HAYSTACK_HITLIST

haystackd replays tests/data/pcaps/alexa-dns-sni.pcap (the DNS responses and TLS
ClientHellos of the nDPI alexa-app capture, see tests/data/NOTICE) with the hitlist
tests/data/learning/alexa.hitlist, whose only endpoint is a documentation address: every
server address of its domains must be learned from the wire. The expected bindings were
read off the capture with tcpdump and with the independent decoder below.
"""
import json
import os
import socket
import struct
import subprocess
import sys

from test_haystackd import DATA, check, config_text, counters, fail, run_haystackd, run_case

HITLIST_TOOL = sys.argv[2] if len(sys.argv) > 2 else ""
PCAP = os.path.join(DATA, "pcaps", "alexa-dns-sni.pcap")
LEARN = os.path.join(DATA, "learning")

# (owner, rrtype, value) of every learned binding: the answers of each DNS response with a
# catalog name in its chain, and the (SNI, server) of each matching ClientHello as A.
EXPECTED_BINDINGS = [
    ("alexa.amazon.com", "CNAME", "pitangui.amazon.com"),
    ("api.amazon.com", "A", "54.239.29.146"),
    ("d3ag4hukkh62yn.cloudfront.net", "A", "52.85.209.122"),
    ("d3ag4hukkh62yn.cloudfront.net", "A", "52.85.209.143"),
    ("d3ag4hukkh62yn.cloudfront.net", "A", "52.85.209.197"),
    ("d3ag4hukkh62yn.cloudfront.net", "A", "52.85.209.216"),
    ("fls-na.amazon.com", "A", "72.21.206.121"),
    ("fls-na.amazon.com", "A", "72.21.206.135"),
    ("mobileanalytics.us-east-1.amazonaws.com", "A", "54.239.23.94"),
    ("mobileanalytics.us-east-1.amazonaws.com", "A", "54.239.24.180"),
    ("mobileanalytics.us-east-1.amazonaws.com", "A", "54.239.24.186"),
    ("pitangui.amazon.com", "A", "52.94.232.134"),
    ("pitangui.amazon.com", "A", "54.239.28.178"),
    ("www.amazon.com", "A", "52.85.209.143"),  # ClientHellos only
    ("www.amazon.com", "A", "52.85.209.197"),
    ("www.amazon.com", "A", "52.85.209.216"),
    ("www.amazon.com", "CNAME", "www.cdn.amazon.com"),
    ("www.cdn.amazon.com", "CNAME", "d3ag4hukkh62yn.cloudfront.net"),
]
# www.amazon.com is served by CloudFront: its IPs carry two SLDs.
SHARED = {"52.85.209.122", "52.85.209.143", "52.85.209.197", "52.85.209.216"}
DEDICATED = {"54.239.29.146", "72.21.206.121", "72.21.206.135", "54.239.23.94", "54.239.24.180",
             "54.239.24.186", "52.94.232.134", "54.239.28.178"}


# ------------------------------------------------------------ independent decoder
def pcap_frames(path):
    data = open(path, "rb").read()
    off = 24
    while off + 16 <= len(data):
        ts, _, cap, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        yield ts, data[off:off + cap]
        off += cap


def dns_name(m, p):
    labels, after = [], None
    while True:
        n = m[p]
        if n & 0xC0 == 0xC0:
            after = p + 2 if after is None else after
            p = ((n & 0x3F) << 8) | m[p + 1]
            continue
        if n == 0:
            return ".".join(labels).lower(), (after if after is not None else p + 1)
        labels.append(m[p + 1:p + 1 + n].decode())
        p += 1 + n


def observations(path):
    """{(owner, type, value): [first, last]} of every DNS answer and ClientHello SNI."""
    seen = {}

    def add(key, ts):
        lo, hi = seen.get(key, (ts, ts))
        seen[key] = [min(lo, ts), max(hi, ts)]

    for ts, f in pcap_frames(path):
        ip = f[14:]
        ihl, proto = (ip[0] & 15) * 4, ip[9]
        l4 = ip[ihl:struct.unpack(">H", ip[2:4])[0]]
        sport = struct.unpack(">H", l4[:2])[0]
        if proto == 17 and sport == 53:
            m = l4[8:]
            qd, an = struct.unpack(">HH", m[4:8])
            p = 12
            for _ in range(qd):
                p = dns_name(m, p)[1] + 4
            for _ in range(an):
                owner, p = dns_name(m, p)
                t, _, _, rl = struct.unpack(">HHIH", m[p:p + 10])
                p += 10
                if t == 1:
                    add((owner, "A", socket.inet_ntop(socket.AF_INET, m[p:p + 4])), ts)
                elif t == 5:
                    add((owner, "CNAME", dns_name(m, p)[0]), ts)
                p += rl
        elif proto == 6:
            pl = l4[(l4[12] >> 4) * 4:]
            if len(pl) > 5 and pl[0] == 22 and pl[5] == 1:
                p = 43
                p += 1 + pl[p]
                p += 2 + struct.unpack(">H", pl[p:p + 2])[0]
                p += 1 + pl[p]
                end = p + 2 + struct.unpack(">H", pl[p:p + 2])[0]
                p += 2
                while p < end:
                    t, ln = struct.unpack(">HH", pl[p:p + 4])
                    if t == 0:
                        nl = struct.unpack(">H", pl[p + 7:p + 9])[0]
                        add((pl[p + 9:p + 9 + nl].decode().lower(), "A",
                             socket.inet_ntop(socket.AF_INET, ip[16:20])), ts)
                    p += 4 + ln
    return seen


# ------------------------------------------------------------------------ helpers
def learning_config(tmp, extra=""):
    cfg = config_text(tmp, [("tap", f"net_pcap0,rx_pcap={PCAP}", 1)],
                      extra=f"iot:\n  hitlist: {LEARN}/alexa.hitlist\n  pseudonymize: false\n"
                            f"learning:\n  backend_patterns: {LEARN}/top16_companies_dnsdb_patterns.csv\n"
                            + extra)
    return cfg.replace("subscriber_prefixes: [192.168.0.0/16, 10.0.0.0/8, 2001:db8::/32]",
                       "subscriber_prefixes: [172.16.0.0/12]")


def learned_dns(tmp):
    with open(os.path.join(tmp, "state", "learning", "learned.dns")) as f:
        lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    check(lines[0] == ["dns", "1"], "learned.dns starts with the 'dns 1' header")
    return lines[1:]


# -------------------------------------------------------------------------- cases
def case_learning_alexa_capture(tmp):
    r = run_haystackd(tmp, learning_config(tmp), prefix="learn")
    check(r.rc == 0, f"replay exits 0 (rc={r.rc})")
    t = counters(r.stats)
    print(json.dumps({k: v for k, v in t.items() if k.startswith("learning")}))
    check(t["rx_packets"] == 133, "133 frames (31 DNS responses, 102 ClientHellos)")
    check(t["learning_dns_responses"] == 31, "every DNS response parsed")
    check(t["learning_sni_hellos"] == 96, "96 ClientHellos with a server name")
    check(t["learning_dns_skipped"] == t["learning_dns_malformed"] == 0, "no DNS message rejected")
    check(t["learning_sni_skipped"] == 6 and t["learning_sni_malformed"] == 0,
          "6 ClientHellos (to bare IPs) without SNI, none malformed")
    check({k: v for k, v in t["learning_by_reason"].items() if v} == {"sni_no_sni": 6},
          "the only reason counted: sni_no_sni")
    check(t["learning_ring_full"] == 0, "the ring to control never filled")
    obs = observations(PCAP)
    lines = learned_dns(tmp)
    got = [(l[0], l[1], l[2]) for l in lines]
    check(got == EXPECTED_BINDINGS, f"learned bindings are exactly the expected 18: {got}")
    for l in lines:
        lo, hi = obs[(l[0], l[1], l[2])]
        check([int(l[3]), int(l[4])] == [lo, hi], f"{l[:3]} first/last seen {lo}..{hi}")
    eps = {}
    with open(os.path.join(tmp, "state", "learning", "endpoints.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            eps[e["ip"]] = e
    check({ip for ip, e in eps.items() if e["dedicated"]} == DEDICATED, "dedicated IPs")
    check({ip for ip, e in eps.items() if not e["dedicated"]} == SHARED, "shared IPs")
    check(eps["52.85.209.216"]["slds"] == ["amazon.com", "d3ag4hukkh62yn.cloudfront.net"],
          "CloudFront IP has two SLDs")
    check(eps["52.85.209.216"]["names"] == ["d3ag4hukkh62yn.cloudfront.net", "www.amazon.com",
                                            "www.cdn.amazon.com"], "names through the chain")
    check(eps["52.94.232.134"]["names"] == ["alexa.amazon.com", "pitangui.amazon.com"],
          "the CNAME owner counts on the IP")
    check(eps["52.94.232.134"]["catalog_domains"] == ["pitangui.amazon.com"], "catalog match")
    s = r.stats["learning"]
    print(json.dumps(s))
    check(s["bindings"] == 18, "18 bindings kept")
    check(s["ips"] == 12 and s["ips_dedicated"] == 8 and s["ips_shared"] == 4,
          "12 learned IPs: 8 dedicated, 4 shared")
    check(s["matches_backend"] == 0, "no IoT backend provider name in this capture")
    check(s["records_unknown_generation"] == 0 and s["bindings_dropped"] == 0, "nothing lost")
    check(s["endpoints_added"] == 0, "add_to_hitlist is off by default")
    check(r.stats["iot"]["hitlist"]["generation"] == 1, "generation 1 stays active")

    # The builder reads the log as DNS observations.
    out, rep = os.path.join(tmp, "b.hitlist"), os.path.join(tmp, "b.txt")
    p = subprocess.run([HITLIST_TOOL, "build", "--catalog", os.path.join(LEARN, "alexa.catalog"),
                        "--dns", os.path.join(tmp, "state", "learning", "learned.dns"),
                        "--date", "2017-03-31", "--out", out, "--report", rep],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"haystack-hitlist build accepts learned.dns: {p.stderr}")
    report = open(rep).read()
    print(report)
    for want in ["  3 classify IPs: 12 IPs reached by candidates: 8 dedicated, 4 shared",
                 "  4 keep domains: 4 dedicated, 1 on shared IPs, 0 without address in the window",
                 "  6 drop services: 2 kept, 0 dropped (min 1 dedicated primary domain)",
                 "output: 2 services, 4 domains, 8 endpoints"]:
        check(want in report, f"report: {want}")


def case_learning_add_to_hitlist(tmp):
    r = run_haystackd(tmp, learning_config(tmp, "  add_to_hitlist: true\n"), prefix="learnadd")
    check(r.rc == 0, f"replay exits 0 (rc={r.rc})")
    learned = [a for a in r.alerts if a["type"] == "hitlist_learned"]
    check(len(learned) >= 1, f"at least one learned generation published ({len(learned)})")
    gens = [a["details"]["generation"] for a in learned]
    check(gens == list(range(2, 2 + len(learned))), f"generations 2.. in order: {gens}")
    check(learned[-1]["details"]["endpoints"] == 9,
          "the last generation: the documentation endpoint + 8 dedicated learned IPs")
    hl = r.stats["iot"]["hitlist"]
    check(hl["generation"] == 1 + len(learned) and hl["endpoints"] == 9, f"active generation {hl}")
    s = r.stats["learning"]
    check(s["endpoints_added"] == 8 and s["generations_published"] == len(learned), f"summary {s}")
    check(s["publish_failures"] == 0, "no failed publish")


def case_learning_bad_backend_patterns(tmp):
    """A malformed pattern file and a pattern Hyperscan rejects: exit 2, file:line: key."""
    bad = os.path.join(tmp, "bad.csv")
    for text, want in [
            ("company,a\nX,a/A,b/AAAA\n",
             f"{bad}:2: learning.backend_patterns: backend.record: expected 4 comma-separated "
             "fields (company, A, AAAA, CNAME regex), got 3"),
            ("company,a\nX,(x/A,(x/AAAA,(x/CNAME\n",
             f"{bad}:2: learning.backend_patterns: backend.regex: pattern '(x' does not compile")]:
        with open(bad, "w") as f:
            f.write(text)
        cfg = learning_config(tmp).replace(f"{LEARN}/top16_companies_dnsdb_patterns.csv", bad)
        r = run_haystackd(tmp, cfg, prefix="learnbad")
        check(r.rc == 2, f"exit code 2 (rc={r.rc})")
        check(want in r.err, f"error names file, line and key: {want}")



if __name__ == "__main__":
    run_case(globals(), "haystack-learn-", args=3)
