#!/usr/bin/env python3
"""Extracts the announced prefixes of python3-pyasn's IP-ASN tables into a text file,
one "prefix/len" per line (IPv4 table first, then IPv6), for the synthetic Zipf traffic
that `haystack-bench flowtree-accuracy|flowtree-speed` generates in C++ (docs/benchmarks.md).

  scripts/gen-zipf-traffic.py --out build/flowtree-prefixes.txt

Reads the pyasn .dat.gz files directly (no pyasn import needed); install them with
`apt-get install python3-pyasn` (scripts/install-deps.sh)."""
import argparse
import glob
import gzip
import os
import sys

DIRS = ["/usr/lib/python3/dist-packages/data", "/usr/share/python3-pyasn/data"]
V4 = "ipasn_20140513.dat.gz"
V6 = "ipasn6_20151101.dat.gz"


def find(name, dirs):
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    hits = sorted(glob.glob(f"/usr/**/{name}", recursive=True))
    return hits[0] if hits else None


def prefixes(path, want_v6):
    out = []
    with gzip.open(path, "rt", errors="replace") as f:
        for line in f:
            if not line or line[0] == ";":
                continue
            pfx = line.split()[0]
            if ("/" in pfx) and ((":" in pfx) == want_v6):
                out.append(pfx)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output text file")
    ap.add_argument("--data-dir", action="append", default=[], help="pyasn data directory")
    a = ap.parse_args()
    dirs = a.data_dir + DIRS
    v4, v6 = find(V4, dirs), find(V6, dirs)
    if not v4:
        sys.exit(f"gen-zipf-traffic: {V4} not found; apt-get install python3-pyasn")
    p4 = prefixes(v4, False)
    p6 = prefixes(v6, True) if v6 else []
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"# announced prefixes from {os.path.basename(v4)}"
                f"{' and ' + os.path.basename(v6) if v6 else ''} (python3-pyasn)\n")
        for p in p4 + p6:
            f.write(p + "\n")
    os.replace(tmp, a.out)
    print(f"gen-zipf-traffic: {len(p4)} IPv4 + {len(p6)} IPv6 prefixes -> {a.out}")


if __name__ == "__main__":
    main()
