#!/usr/bin/env python3
"""Builds tests/data/pcaps/sample-iot.pcap, the bundled sample traffic.

It concatenates real IoT captures from the nDPI test suite (LGPL-3.0, see
tests/data/NOTICE), rebasing each capture's timestamps so that all of them start within
the same ten minutes (2026-11-01T10:00:00Z + 60 s * index), and merges them in time
order. Some test captures are themselves concatenations of sessions recorded years apart;
gaps longer than an hour (or backwards jumps) inside one capture are collapsed to one
second so the sample covers a few hours, not decades. The result is deterministic.

usage: make-sample-pcap.py OUTPUT INPUT.pcap [INPUT.pcap ...]
"""
import struct
import sys

T0 = 1793527200  # 2026-11-01T10:00:00Z


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian, nano = "<", False
    elif magic == 0xA1B23C4D:
        endian, nano = "<", True
    elif magic == 0xD4C3B2A1:
        endian, nano = ">", False
    elif magic == 0x4D3CB2A1:
        endian, nano = ">", True
    else:
        sys.exit(f"{path}: not a pcap file (pcapng is not supported)")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit(f"{path}: link type {linktype}, expected Ethernet (1)")
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            sys.exit(f"{path}: truncated record at byte {off}")
        ns = sec * 10**9 + (frac if nano else frac * 1000)
        pkts.append((ns, orig, data[off:off + incl]))
        off += incl
    return pkts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    merged = []
    for i, path in enumerate(sys.argv[2:]):
        pkts = read_pcap(path)
        if not pkts:
            continue
        t = (T0 + 60 * i) * 10**9
        prev = pkts[0][0]
        for seq, (ns, orig, raw) in enumerate(pkts):
            gap = ns - prev
            t += gap if 0 <= gap <= 3600 * 10**9 else 10**9
            prev = ns
            merged.append((t, i, seq, orig, raw))
    merged.sort()
    with open(sys.argv[1], "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        for ns, _, _, orig, raw in merged:
            out.write(struct.pack("<IIII", ns // 10**9, ns % 10**9, len(raw), orig))
            out.write(raw)
    print(f"{sys.argv[1]}: {len(merged)} packets from {len(sys.argv) - 2} captures")


if __name__ == "__main__":
    main()
