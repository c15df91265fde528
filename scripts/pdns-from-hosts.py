#!/usr/bin/env python3
"""Convert an `IP<TAB>hostname` file (intl-iot tshark_all.hosts) into DNS observations
(dns 1, docs/hitlist-builder.md): one A or AAAA record per pair.

The hosts file has no timestamps, so --first-seen/--last-seen (YYYY-MM-DD, UTC) state the
period the pairs are taken to cover: first_seen = 00:00:00 of the first day, last_seen =
23:59:59 of the last. Skipped, and counted on stderr: names of 63 or more characters (the
file cuts names at 63 characters, e.g. `...elb.amazon`, so their SLD would be wrong),
names that are not valid host names, and lines without an IP address.
With --only-catalog CATALOG, only the records on IPs that a catalog domain resolves to are
kept: for this A/AAAA-only input the builder's result for that catalog is the same, and the
file stays small enough for a test fixture.

Usage: scripts/pdns-from-hosts.py --first-seen D --last-seen D [--only-catalog C] HOSTS OUT
"""
import argparse
import calendar
import collections
import datetime
import ipaddress
import re
import sys

LABEL = re.compile(r'^[a-z0-9_-]{1,63}$')
TRUNCATED_AT = 63


def day_start(s):
    d = datetime.date.fromisoformat(s)
    return calendar.timegm(d.timetuple())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--first-seen', required=True)
    ap.add_argument('--last-seen', required=True)
    ap.add_argument('--only-catalog', metavar='CATALOG')
    ap.add_argument('hosts')
    ap.add_argument('out')
    args = ap.parse_args()
    first, last = day_start(args.first_seen), day_start(args.last_seen) + 86399
    if last < first:
        sys.exit('--last-seen is before --first-seen')

    skipped = collections.Counter()
    pairs = set()
    with open(args.hosts, encoding='utf-8', errors='replace') as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 2:
                skipped['not IP<TAB>name'] += 1
                continue
            try:
                ip = ipaddress.ip_address(parts[0].strip())
            except ValueError:
                skipped['no IP address'] += 1
                continue
            name = parts[1].strip().lower().rstrip('.')
            if len(name) >= TRUNCATED_AT:
                skipped['name of >= 63 characters (possibly truncated)'] += 1
                continue
            if len(name) > 253 or not all(LABEL.match(l) for l in name.split('.')):
                skipped['invalid host name'] += 1
                continue
            if ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            pairs.add((name, ip))

    if args.only_catalog:
        wanted = set()
        with open(args.only_catalog, encoding='utf-8') as f:
            for line in f:
                t = line.split()
                if len(t) >= 2 and t[0] == 'domain':
                    wanted.add(t[1].lower().rstrip('.'))
        ips = {ip for name, ip in pairs if name in wanted}
        before = len(pairs)
        pairs = {(name, ip) for name, ip in pairs if ip in ips}
        skipped['not on an IP of a catalog domain (--only-catalog)'] += before - len(pairs)

    out = ['dns 1',
           f'# Converted by scripts/pdns-from-hosts.py from {args.hosts.split("/")[-1]};',
           f'# period stated on the command line: {args.first_seen}..{args.last_seen}.']
    for name, ip in sorted(pairs, key=lambda p: (p[0], p[1].version, int(p[1]))):
        rr = 'A' if ip.version == 4 else 'AAAA'
        out.append(f'{name} {rr} {ip} {first} {last}')
    with open(args.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print(f'{args.out}: {len(pairs)} records', file=sys.stderr)
    for reason, n in sorted(skipped.items()):
        print(f'  skipped {n}: {reason}', file=sys.stderr)


if __name__ == '__main__':
    main()
