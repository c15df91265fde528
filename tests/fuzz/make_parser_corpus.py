#!/usr/bin/env python3
"""Regenerates the parser fuzz seed corpus (tests/fuzz/corpus/parser) from the test pcaps.

Each corpus file is 1 link-type selector byte (0 Ethernet, 1 raw IP, 2 PPP; see
fuzz_parser.cc) followed by one captured frame, cut at MAX_FRAME bytes. Up to PER_FILE
distinct frames are taken from each capture, preferring frames whose outer headers differ
(so various_gre.pcap contributes GRE as well as STP). Files are named by SHA-1, like
libFuzzer's.

Usage: tests/fuzz/make_parser_corpus.py   (from anywhere; paths are relative to this file)
"""
import hashlib
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
PCAPS = HERE.parent / "data" / "pcaps"
OUT = HERE / "corpus" / "parser"
PER_FILE = 6
MAX_FRAME = 512

# pcap LINKTYPE_* -> fuzz selector byte
LINK_SELECTOR = {1: 0, 101: 1, 228: 1, 229: 1, 9: 2}


def read_pcap(path):
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap file")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, off + 8)[0]
        off += 16
        frames.append(data[off : off + caplen])
        off += caplen
    return linktype, frames


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    total = 0
    for pcap in sorted(PCAPS.glob("*.pcap")):
        linktype, frames = read_pcap(pcap)
        selector = LINK_SELECTOR[linktype]
        # Frames with a new (ethertype/PPP protocol, IPv4 protocol byte) pair first.
        def shape(f):
            return (f[12:14], f[23:24]) if selector == 0 else (f[:4], f[9:10])

        shapes, first, rest = set(), [], []
        for frame in frames:
            (rest if shape(frame) in shapes else first).append(frame)
            shapes.add(shape(frame))
        seen = set()
        for frame in first + rest:
            unit = bytes([selector]) + frame[:MAX_FRAME]
            digest = hashlib.sha1(unit).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            (OUT / digest).write_bytes(unit)
            total += len(unit)
            if len(seen) == PER_FILE:
                break
    print(f"{sum(1 for _ in OUT.iterdir())} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
