#!/usr/bin/env python3
"""Convert the BehavIoT destination-party tables into a builder catalog (catalog 1,
docs/hitlist-builder.md).

Reuses the parsing and the service tree of scripts/catalog-to-hitlist.py (one place for
SERVICES, DEVICES, PINNED and the row rules):
  * party 1 -> primary, 2 -> support (primary wins across devices); a domain belongs to the
    lowest common ancestor service of the devices using it, or to its PINNED service;
  * party 3 rows and DNS/NTP rows -> `generic` lines under the device's service; a domain
    whose devices have no common ancestor -> `generic` under each device's service;
  * TCP -> tcp/443, UDP -> udp/any (the tables give the protocol only);
  * wildcards are expanded against the passive-DNS names (--pdns), as in the example script.
All services of SERVICES are written, also those left without a primary domain: the builder
drops them and says why.

Usage: scripts/catalog-from-behaviot.py [--catalog DIR] [--pdns FILE] OUT
"""
import argparse
import collections
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('c2h', os.path.join(HERE, 'catalog-to-hitlist.py'))
c2h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(c2h)


def pdns_names(path):
    names = set()
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) == 2 and c2h.is_ip(parts[0].strip()) and parts[1].strip():
                names.add(parts[1].strip().lower().rstrip('.'))
    return names


def main():
    shared = os.path.normpath(os.path.join(HERE, '..', '..', 'shared', 'data'))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--catalog', default=os.path.join(shared, 'iot-catalog', 'behaviot-destination-party'))
    ap.add_argument('--pdns', default=os.path.join(shared, 'passive-dns', 'intl-iot.tshark_all.hosts'))
    ap.add_argument('out')
    args = ap.parse_args()

    dropped = collections.Counter()
    generic_rows = set()
    doms = c2h.read_destination_parties(args.catalog, pdns_names(args.pdns), dropped, generic_rows)

    lines = {}  # (fqdn, service) -> (role, ports)
    for fqdn, d in sorted(doms.items()):
        svc = next((key for rx, key in c2h.PINNED if rx.search(fqdn)), None)
        if svc is None:
            svc = c2h.lca(c2h.DEVICES[dev] for dev in d['devices'])
        ports = sorted('tcp/443' if p == 'TCP' else 'udp/any' for p in d['protos'])
        if svc is None:  # used by unrelated vendors: not specific to one of them
            for dev in sorted(d['devices']):
                lines[(fqdn, c2h.DEVICES[dev])] = ('generic', ports)
            continue
        lines[(fqdn, svc)] = ('primary' if d['primary'] else 'support', ports)
    for dev, dom, proto in sorted(generic_rows):
        if c2h.is_ip(dom) or c2h.MAC_RE.match(dom) or dom.startswith('*.') or not dom:
            continue
        lines.setdefault((dom, c2h.DEVICES[dev]), ('generic', []))

    out = ['catalog 1',
           '# Built by scripts/catalog-from-behaviot.py from the NEU-SNS/BehavIoT destination-party',
           '# tables (Apache-2.0). Roles: party 1 primary, 2 support, 3 and DNS/NTP rows generic.',
           '']
    for key, (level, parent, name) in c2h.SERVICES.items():
        out.append(f'service {key} {level} {parent or "-"} {name}')
    out.append('')
    for (fqdn, svc), (role, ports) in sorted(lines.items()):
        out.append(' '.join(['domain', fqdn, svc, role] + ports))
    with open(args.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    roles = collections.Counter(r for r, _ in lines.values())
    print(f'{args.out}: {len(c2h.SERVICES)} services, {len(lines)} domain lines '
          f'({", ".join(f"{n} {r}" for r, n in sorted(roles.items()))})', file=sys.stderr)


if __name__ == '__main__':
    main()
