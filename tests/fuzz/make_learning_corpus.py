#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_dns_message and fuzz_tls_sni from the test pcaps.

dns_message: 1 framing byte (0 UDP, 1 TCP: the payload keeps its 2-byte length) + the
payload of the first 16 source-port-53 segments. tls_sni: the TCP payload of the first 12
segments that start a TLS handshake record. Files are named by SHA-1.

Usage: tests/fuzz/make_learning_corpus.py   (paths are relative to this file)
"""
import hashlib
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
PCAPS = HERE.parent / "data" / "pcaps"
SOURCES = ["dns_udp.pcap", "dns_tcp.pcap", "alexa-dns-sni.pcap", "tls_verylong_certificate.pcap"]


def frames(path):
    data = path.read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, cap, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield data[off:off + cap]
        off += cap


def l4(frame):
    """(proto, sport, payload) of an Ethernet IPv4/IPv6 TCP/UDP frame, else None."""
    et, o = struct.unpack(">H", frame[12:14])[0], 14
    if et == 0x0800:
        ihl = (frame[o] & 15) * 4
        total = struct.unpack(">H", frame[o + 2:o + 4])[0]
        proto, seg = frame[o + 9], frame[o + ihl:o + total]
    elif et == 0x86DD:
        plen = struct.unpack(">H", frame[o + 4:o + 6])[0]
        proto, seg = frame[o + 6], frame[o + 40:o + 40 + plen]
    else:
        return None
    if proto == 17 and len(seg) >= 8:
        return proto, struct.unpack(">H", seg[:2])[0], seg[8:]
    if proto == 6 and len(seg) >= 20:
        return proto, struct.unpack(">H", seg[:2])[0], seg[(seg[12] >> 4) * 4:]
    return None


LIMIT = {"dns_message": 16, "tls_sni": 12}  # small: libFuzzer finds the rest
written = {"dns_message": 0, "tls_sni": 0}


def write(dirname, blob):
    if written[dirname] == LIMIT[dirname]:
        return
    written[dirname] += 1
    out = HERE / "corpus" / dirname
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


for name in SOURCES:
    for f in frames(PCAPS / name):
        r = l4(f)
        if r is None or not r[2]:
            continue
        proto, sport, payload = r
        if sport == 53:
            write("dns_message", bytes([0 if proto == 17 else 1]) + payload)
        elif proto == 6 and payload[0] == 22:
            write("tls_sni", payload)
