#!/usr/bin/env python3
"""Build an example hitlist bundle (docs/hitlist-format.md) from the real IoT catalog.

Inputs (NEU-SNS, Apache-2.0):
  * BehavIoT destination-party tables, one CSV per device:
      protocol,domain,period,org,party   (party 1 = first party, 2 = support, 3 = generic)
  * intl-iot passive DNS: IP<TAB>hostname pairs resolved by the Mon(IoT)r lab devices.

What the script does, in order:
  1. Rows with protocol DNS or NTP, party 3 (generic), IP literals and MAC addresses are
     dropped. party 1 -> role primary, party 2 -> role support (primary wins when devices
     disagree).
  2. Wildcard rows (`*.push.apple.com`) are expanded to the concrete names under that
     suffix seen in the passive DNS (sorted, at most MAX_EXPANSION). Wildcards under a
     generic cloud/CDN suffix (GENERIC_SUFFIXES, e.g. `*.us-east-1.amazonaws.com`) are
     dropped: those names are not specific to one vendor.
  3. Each device file maps to a leaf service (DEVICES). Services form the tree in SERVICES:
     platform (e.g. amazon-alexa: the shared Alexa voice-service domains) > manufacturer
     (amazon: what several Amazon products share) > product (amazon-echo, ...).
     A domain belongs to the most specific service that covers every device using it
     (lowest common ancestor of their leaf services), unless PINNED assigns it explicitly
     (platform domains). A domain used by devices with no common ancestor (e.g.
     `*.compute.amazonaws.com` by a fridge and a sous-vide) is not IoT-specific: dropped.
  4. A service left without a primary domain is dropped; its children move up to its
     parent (levels stay strictly decreasing).
  5. Endpoints: every IP the passive DNS gives for a kept domain. Only the protocol is
     known from the catalog, so TCP rows give (tcp, 443) and UDP rows give (udp, any).
     Domains sharing an IP and key are listed on one endpoint line. Domains without any
     passive-DNS IP stay in the bundle without endpoints.
  6. Optional (--extra-endpoints FILE): supplementary endpoints read from a small text file,
     one `address proto port-or-any fqdn...` per line (`#` comments and blank lines
     ignored; address = IPv4 or IPv6 host, proto = tcp|udp|any, port = 1..65535|any). Every
     fqdn must be a domain of the catalog-derived bundle (after steps 1-4), otherwise the
     script fails naming file and line; a key (address, proto, port) that repeats in the
     file or collides with a passive-DNS endpoint is an error too. The file name and the
     number of entries are recorded in a `provenance` line. The bundled example uses
     tests/data/hitlist/synthetic-endpoints.txt: SYNTHETIC documentation addresses for
     catalog domains the passive DNS has no IP for (see that file's header).
  No dedicated/shared classification is applied here (that is the hitlist builder's job):
  the output is an example of the format on real names and addresses, not an operational
  hitlist.

Usage: scripts/catalog-to-hitlist.py [--catalog DIR] [--pdns FILE] [--date YYYY-MM-DD]
                                     [--extra-endpoints FILE] OUT
The bundled example: scripts/catalog-to-hitlist.py \
    --extra-endpoints tests/data/hitlist/synthetic-endpoints.txt \
    tests/data/hitlist/example-2026-11-01.hitlist
"""
import argparse
import collections
import csv
import ipaddress
import os
import re
import sys

MAX_EXPANSION = 8

GENERIC_SUFFIXES = ('amazonaws.com', 'akadns.net', 'akamaiedge.net', 'cloudfront.net',
                    'linodeusercontent.com', 'hwclouds-dns.com')

# service key -> (level, parent key or None, human name). Order = output order.
SERVICES = {
    'amazon-alexa': ('platform', None, 'Alexa Enabled (Alexa voice service)'),
    'amazon': ('manufacturer', 'amazon-alexa', 'Amazon devices'),
    'amazon-echo': ('product', 'amazon', 'Amazon Echo smart speakers'),
    'amazon-echo-show': ('product', 'amazon', 'Amazon Echo Show / Spot (screen)'),
    'amazon-smart-plug': ('product', 'amazon', 'Amazon Smart Plug'),
    'tuya': ('platform', None, 'Tuya IoT platform'),
    'smartthings': ('platform', None, 'Samsung SmartThings'),
    'samsung': ('manufacturer', 'smartthings', 'Samsung appliances'),
    'samsung-fridge': ('product', 'samsung', 'Samsung Family Hub fridge'),
    'smartthings-hub': ('product', 'samsung', 'SmartThings hub'),
    'google-home': ('manufacturer', None, 'Google Home / Nest Mini'),
    'nest': ('manufacturer', None, 'Nest thermostat'),
    'apple-homepod': ('manufacturer', None, 'Apple HomePod'),
    'ring': ('manufacturer', None, 'Ring'),
    'ring-camera': ('product', 'ring', 'Ring camera'),
    'ring-chime': ('product', 'ring', 'Ring chime'),
    'ring-doorbell': ('product', 'ring', 'Ring doorbell'),
    'tplink-kasa': ('manufacturer', None, 'TP-Link Kasa'),
    'dlink': ('manufacturer', None, 'D-Link cameras and sensors'),
    'aqara': ('manufacturer', None, 'Aqara hub'),
    'meross': ('manufacturer', None, 'Meross'),
    'microseven': ('manufacturer', None, 'Microseven camera'),
    'ge-appliances': ('manufacturer', None, 'GE Appliances'),
    'philips-hue': ('manufacturer', None, 'Philips Hue'),
    'wemo': ('manufacturer', None, 'Belkin Wemo'),
    'govee': ('manufacturer', None, 'Govee'),
    'ikea-tradfri': ('manufacturer', None, 'IKEA Tradfri'),
    'switchbot': ('manufacturer', None, 'SwitchBot'),
    'icsee': ('manufacturer', None, 'iCSee (XM) cameras'),
    'wansview': ('manufacturer', None, 'Wansview camera'),
    'wink': ('manufacturer', None, 'Wink hub'),
    'anova': ('manufacturer', None, 'Anova sous vide'),
    'wyze': ('manufacturer', None, 'Wyze camera'),
    'yi': ('manufacturer', None, 'YI camera'),
}

# BehavIoT device file -> leaf service. Devices that only talk to generic (party 3)
# destinations or IP literals contribute nothing.
DEVICES = {
    'echodot': 'amazon-echo', 'echodot3a': 'amazon-echo', 'echodot4b': 'amazon-echo',
    'echoflex1': 'amazon-echo', 'echoplus': 'amazon-echo',
    'echoshow5': 'amazon-echo-show', 'echospot': 'amazon-echo-show',
    'amazon-plug': 'amazon-smart-plug',
    'bulb1': 'tuya', 'gosund-bulb1': 'tuya', 'smartlife-bulb': 'tuya',
    'thermopro-sensor': 'tuya', 'tuya-camera': 'tuya',
    'fridge': 'samsung-fridge', 'smartthings-hub': 'smartthings-hub',
    'google-home-mini': 'google-home', 'google-nest-mini1': 'google-home',
    'nest-tstat': 'nest',
    'homepod': 'apple-homepod', 'homepod-mini1': 'apple-homepod',
    'ring-camera': 'ring-camera', 'ring-chime1': 'ring-chime', 'ring-doorbell': 'ring-doorbell',
    'tplink-bulb': 'tplink-kasa', 'tplink-plug': 'tplink-kasa',
    'dlink-camera': 'dlink', 'dlink-mov': 'dlink',
    'aqara-hub': 'aqara', 'meross-dooropener': 'meross', 'microseven-camera': 'microseven',
    'microwave': 'ge-appliances', 't-philips-hub': 'philips-hue', 't-wemo-plug': 'wemo',
    'govee-led1': 'govee', 'ikea-hub': 'ikea-tradfri', 'switchbot-hub': 'switchbot',
    'icsee-doorbell': 'icsee', 'wansview-cam-wired': 'wansview', 'wink-hub2': 'wink',
    'sousvide': 'anova', 'wyze-cam': 'wyze', 'yi-camera': 'yi',
}

# Domains assigned explicitly (platform level).
PINNED = [
    (re.compile(r'^avs-alexa-\d+-na\.amazon\.com$'), 'amazon-alexa'),
    (re.compile(r'^api\.amazonalexa\.com$'), 'amazon-alexa'),
    (re.compile(r'(^|\.)smartthings\.com$'), 'smartthings'),
]

MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


def ancestors(key):
    chain = []
    while key is not None:
        chain.append(key)
        key = SERVICES[key][1]
    return chain


def lca(keys):
    keys = list(keys)
    common = ancestors(keys[0])
    for k in keys[1:]:
        a = set(ancestors(k))
        common = [c for c in common if c in a]
    return common[0] if common else None


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def read_destination_parties(catalog_dir, names, dropped, generic=None):
    """Steps 1-2 over the BehavIoT destination-party CSVs of the devices in DEVICES.
    Returns {fqdn: {'devices': set, 'primary': bool, 'protos': set}}; counts skipped rows
    in `dropped`. If `generic` is a set, (device, domain, proto) of the rows dropped as not
    IoT-specific (DNS/NTP protocol, party 3) are added to it
    (scripts/catalog-from-behaviot.py writes them as generic catalog lines)."""
    names = sorted(names)
    # domain -> {'devices': set, 'primary': bool, 'protos': set}
    doms = {}
    for fn in sorted(os.listdir(catalog_dir)):
        dev = fn[:-4]
        if not fn.endswith('.csv') or dev not in DEVICES:
            continue
        with open(os.path.join(catalog_dir, fn), newline='') as f:
            for row in csv.DictReader(f):
                proto = row['protocol'].strip().upper()
                dom = row['domain'].strip().lower().rstrip('.')
                party = row['party'].strip()
                if proto not in ('TCP', 'UDP'):
                    dropped['dns/ntp/other protocol'] += 1
                    if generic is not None:
                        generic.add((dev, dom, proto))
                    continue
                if party not in ('1', '2'):
                    dropped['generic (party 3)'] += 1
                    if generic is not None:
                        generic.add((dev, dom, proto))
                    continue
                if is_ip(dom) or MAC_RE.match(dom):
                    dropped['address literal'] += 1
                    continue
                if dom.startswith('*.'):
                    suffix = dom[2:]
                    if any(suffix == g or suffix.endswith('.' + g) for g in GENERIC_SUFFIXES):
                        dropped['generic wildcard'] += 1
                        continue
                    concrete = [n for n in names if n.endswith('.' + suffix)][:MAX_EXPANSION]
                    if not concrete:
                        dropped['wildcard without passive-DNS names'] += 1
                else:
                    concrete = [dom]
                for c in concrete:
                    d = doms.setdefault(c, {'devices': set(), 'primary': False, 'protos': set()})
                    d['devices'].add(dev)
                    d['primary'] |= party == '1'
                    d['protos'].add(proto)
    return doms


def read_extra_endpoints(path, known):
    """Parse the supplementary endpoint file: [(line, ip, proto, port, [fqdn...])].
    `known`: the bundle's domains. Exits with file:line: message on any error."""
    out, seen = [], {}
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            t = line.split()
            if not t or t[0].startswith('#'):
                continue

            def bad(msg):
                sys.exit(f'{path}:{n}: {msg}')
            if len(t) < 4:
                bad('expected: address proto port-or-any fqdn...')
            try:
                ip = ipaddress.ip_address(t[0])
            except ValueError:
                bad(f"address '{t[0]}' is not an IPv4/IPv6 host address")
            if ip.version == 6 and ip.ipv4_mapped is not None:
                bad(f"address '{t[0]}' is IPv4-mapped IPv6; write it as IPv4")
            proto = t[1].lower()
            if proto not in ('tcp', 'udp', 'any'):
                bad(f"protocol '{t[1]}' is not tcp, udp or any")
            port = t[2].lower()
            if port != 'any' and not (port.isdigit() and 1 <= int(port) <= 65535):
                bad(f"port '{t[2]}' is not 1..65535 or any")
            if port != 'any':
                port = str(int(port))
            fqdns = [d.lower().rstrip('.') for d in t[3:]]
            for d in fqdns:
                if d not in known:
                    bad(f"domain '{d}' is not in the catalog-derived bundle")
            if len(set(fqdns)) != len(fqdns):
                bad('a domain is listed twice')
            key = (ip, proto, port)
            if key in seen:
                bad(f'endpoint {ip} {proto} {port} already given on line {seen[key]}')
            seen[key] = n
            out.append((n, ip, proto, port, fqdns))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    shared = os.path.normpath(os.path.join(here, '..', '..', 'shared', 'data'))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--catalog', default=os.path.join(shared, 'iot-catalog', 'behaviot-destination-party'))
    ap.add_argument('--pdns', default=os.path.join(shared, 'passive-dns', 'intl-iot.tshark_all.hosts'))
    ap.add_argument('--date', default='2026-11-01')
    ap.add_argument('--extra-endpoints', metavar='FILE',
                    help='supplementary endpoints (address proto port-or-any fqdn...) for '
                         'domains of the catalog-derived bundle')
    ap.add_argument('out')
    args = ap.parse_args()

    def rel(path):
        return os.path.relpath(os.path.abspath(path), root)

    # The command, repo-relative and independent of the caller's directory.
    command = ['scripts/catalog-to-hitlist.py']
    for opt, default in (('catalog', ap.get_default('catalog')), ('pdns', ap.get_default('pdns')),
                         ('date', ap.get_default('date'))):
        v = getattr(args, opt)
        if v != default:
            command += [f'--{opt}', rel(v) if opt != 'date' else v]
    if args.extra_endpoints:
        command += ['--extra-endpoints', rel(args.extra_endpoints)]
    command.append(rel(args.out))

    pdns = collections.defaultdict(set)  # name -> IPs
    with open(args.pdns, encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 2:
                continue
            addr, name = parts[0].strip(), parts[1].strip().lower().rstrip('.')
            if is_ip(addr) and name:
                pdns[name].add(ipaddress.ip_address(addr))
    names = sorted(pdns)

    dropped = collections.Counter()
    doms = read_destination_parties(args.catalog, names, dropped)

    # Assign domains to services.
    svc_domains = collections.defaultdict(dict)  # service -> {fqdn: role}
    for fqdn, d in sorted(doms.items()):
        svc = None
        for rx, key in PINNED:
            if rx.search(fqdn):
                svc = key
                break
        if svc is None:
            svc = lca(DEVICES[dev] for dev in d['devices'])
        if svc is None:
            dropped['domain shared by unrelated vendors'] += 1
            continue
        svc_domains[svc][fqdn] = 'primary' if d['primary'] else 'support'

    # Drop services without a primary domain; children move up.
    parent = {k: v[1] for k, v in SERVICES.items()}
    alive = [k for k in SERVICES]
    changed = True
    while changed:
        changed = False
        for k in list(alive):
            if 'primary' not in svc_domains.get(k, {}).values():
                alive.remove(k)
                for c in alive:
                    if parent[c] == k:
                        parent[c] = parent[k]
                svc_domains.pop(k, None)
                dropped['service without primary domain'] += 1
                changed = True

    # Endpoints: (ip, proto, port) -> set of domains.
    eps = collections.defaultdict(set)
    for svc in alive:
        for fqdn in svc_domains[svc]:
            for ip in pdns.get(fqdn, ()):
                for proto in sorted(doms[fqdn]['protos']):
                    key = (ip, 'tcp', '443') if proto == 'TCP' else (ip, 'udp', 'any')
                    eps[key].add(fqdn)

    # Supplementary (synthetic) endpoints for domains already in the bundle.
    extra = []
    if args.extra_endpoints:
        known = {fqdn for svc in alive for fqdn in svc_domains[svc]}
        extra = read_extra_endpoints(args.extra_endpoints, known)
        for n, ip, proto, port, fqdns in extra:
            if (ip, proto, port) in eps:
                sys.exit(f'{args.extra_endpoints}:{n}: endpoint {ip} {proto} {port} collides '
                         f'with a passive-DNS endpoint')
            eps[(ip, proto, port)] = set(fqdns)

    out = []
    w = out.append
    w('# Example Haystack hitlist bundle derived from the real NEU-SNS IoT catalog.')
    w('# Generated by scripts/catalog-to-hitlist.py; see tests/data/NOTICE. Not an')
    w('# operational hitlist: no dedicated/shared IP classification was applied.')
    if extra:
        w(f'# The {len(extra)} endpoints from {rel(args.extra_endpoints)} are SYNTHETIC')
        w('# (documentation addresses, not passive-DNS observations); see that file.')
    w('# Command: python3 ' + ' '.join(command))
    w('hitlist 1')
    w(f'valid_from {args.date}')
    w(f'valid_until {args.date}')
    w('provenance generated by scripts/catalog-to-hitlist.py')
    w('provenance catalog: NEU-SNS/BehavIoT destination-party tables '
      '(shared/data/iot-catalog/behaviot-destination-party/*.csv), licence Apache-2.0')
    w('provenance passive DNS: NEU-SNS/intl-iot tshark_all.hosts '
      '(shared/data/passive-dns/intl-iot.tshark_all.hosts), licence Apache-2.0')
    w('provenance rules: party 1 = primary, 2 = support, 3 dropped; DNS/NTP rows dropped; '
      'TCP -> tcp 443, UDP -> udp any')
    if extra:
        ext_doms = sorted({d for *_, fqdns in extra for d in fqdns})
        w(f'provenance synthetic endpoints: {len(extra)} entries from {rel(args.extra_endpoints)} '
          f'(documentation addresses from RFC 5737 / RFC 3849, not observed in passive DNS) '
          f'for {len(ext_doms)} domains: ' + ' '.join(ext_doms))
    w('')
    w('# service <key> <level> <parent|-> <name>')
    for k in alive:
        level, _, name = SERVICES[k]
        w(f'service {k} {level} {parent[k] or "-"} {name}')
    w('')
    w('# domain <fqdn> <service:role>...')
    for k in alive:
        for fqdn in sorted(svc_domains[k]):
            w(f'domain {fqdn} {k}:{svc_domains[k][fqdn]}')
    w('')
    w('# endpoint <address[/len]> <tcp|udp|any> <port|any> <fqdn>...')
    for (ip, proto, port) in sorted(eps, key=lambda e: (e[0].version, int(e[0]), e[1], e[2])):
        w(f'endpoint {ip} {proto} {port} ' + ' '.join(sorted(eps[(ip, proto, port)])))
    with open(args.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    n_dom = sum(len(v) for v in svc_domains.values())
    print(f'{args.out}: {len(alive)} services, {n_dom} domains, {len(eps)} endpoints'
          f' ({len(extra)} synthetic)', file=sys.stderr)
    for reason, n in sorted(dropped.items()):
        print(f'  dropped {n}: {reason}', file=sys.stderr)


if __name__ == '__main__':
    main()
