#!/usr/bin/env python3
"""Convert the MUD rule files (barmey/IoT_mud_files_locations, MIT) into a builder catalog
(catalog 1, docs/hitlist-builder.md).

Each `<device>_<location>.rule.csv` is mapped to a device family (FAMILY_RULES) and the
family to a service (SERVICES). Only rules from the device (srcMac `<deviceMac>`) to a DNS
name are used; dstIp IP literals, multicast and `*` are skipped. MUD files carry no
first/third-party label, so the role is a heuristic, stated here once:
  * DNS (53), NTP (123) and DHCP (67) ports, and names under GENERIC_SLDS -> generic;
  * a name containing one of the service's vendor tokens -> primary;
  * anything else (CDNs, clouds, ad networks, streaming partners) -> support.
Ports come from the rule: ipProto 6 -> tcp, 17 -> udp, dstPort `*` -> any.

Usage: scripts/catalog-from-mud.py [--mud DIR] OUT
"""
import argparse
import collections
import csv
import ipaddress
import os
import re
import sys

# service key -> (level, parent, name, vendor tokens). Order = output order.
SERVICES = {
    'amazon': ('manufacturer', None, 'Amazon devices', ('amazon', 'a2z', 'alexa', 'amcs')),
    'amazon-echo': ('product', 'amazon', 'Amazon Echo', ('amazon', 'a2z', 'alexa', 'amcs')),
    'amazon-fire-tv': ('product', 'amazon', 'Amazon Fire TV', ('amazon', 'a2z', 'fireos')),
    'apple-tv': ('manufacturer', None, 'Apple TV', ('apple', 'icloud', 'mzstatic')),
    'blink': ('manufacturer', None, 'Blink cameras', ('blink', 'immedia-semi')),
    'google-home': ('manufacturer', None, 'Google Home Mini', ('google',)),
    'insteon': ('manufacturer', None, 'Insteon hub', ('insteon',)),
    'lifx': ('manufacturer', None, 'LIFX bulbs', ('lifx',)),
    'lightify': ('manufacturer', None, 'Osram Lightify hub', ('lightify', 'osram')),
    'magichome': ('manufacturer', None, 'MagicHome LED strip', ('magichome', 'magic-home')),
    'nest': ('manufacturer', None, 'Nest thermostat', ('nest',)),
    'philips-hue': ('manufacturer', None, 'Philips Hue', ('meethue', 'philips')),
    'ring': ('manufacturer', None, 'Ring doorbell', ('ring.com',)),
    'roku': ('manufacturer', None, 'Roku TV', ('roku',)),
    'samsung-tv': ('manufacturer', None, 'Samsung smart TV', ('samsung',)),
    'sengled': ('manufacturer', None, 'Sengled hub', ('sengled',)),
    'smartthings': ('manufacturer', None, 'SmartThings hub', ('smartthings',)),
    'anova': ('manufacturer', None, 'Anova sous vide', ('anova',)),
    'tplink': ('manufacturer', None, 'TP-Link Kasa', ('tplink',)),
    'wansview': ('manufacturer', None, 'Wansview camera', ('wansview', 'ajcloud')),
    'wemo': ('manufacturer', None, 'Belkin Wemo', ('wemo', 'belkin', 'xbcs')),
    'xiaomi': ('manufacturer', None, 'Xiaomi devices', ('xiaomi', 'mi.com', 'mi-img', 'miui')),
    'yi': ('manufacturer', None, 'YI cameras', ('xiaoyi', 'yitechnology')),
}

# (regex over the file's device part, service key), first match wins.
FAMILY_RULES = [
    (r'echo_(dot|plus|spot)', 'amazon-echo'), (r'fire_tv', 'amazon-fire-tv'),
    (r'appletv', 'apple-tv'), (r'blink', 'blink'), (r'google_home', 'google-home'),
    (r'insteon', 'insteon'), (r'lifx', 'lifx'), (r'lightify', 'lightify'),
    (r'magichome', 'magichome'), (r'nest_tstat', 'nest'), (r'philips', 'philips-hue'),
    (r'ring_doorbell', 'ring'), (r'roku', 'roku'), (r'samsungtv', 'samsung-tv'),
    (r'sengled', 'sengled'), (r'smartthings', 'smartthings'), (r'sousvide', 'anova'),
    (r'tp_?(link_)?(plug|bulb)|tplink', 'tplink'), (r'wansview', 'wansview'),
    (r'[wv]emo', 'wemo'), (r'mi_b[uo]lb|mi_bolb|xiaomi', 'xiaomi'), (r'yi_camera', 'yi'),
]

GENERIC_PORTS = {'53', '67', '123'}
GENERIC_SLDS = ('ntp.org', 'pool.ntp.org', 'in-addr.arpa', 'local')
NAME = re.compile(r'^([a-z0-9_-]{1,63}\.)+[a-z0-9_-]{1,63}$')


def service_of(device):
    for rx, key in FAMILY_RULES:
        if re.search(rx, device):
            return key
    return None


def role_of(name, port, key):
    if port in GENERIC_PORTS or any(name == g or name.endswith('.' + g) for g in GENERIC_SLDS):
        return 'generic'
    return 'primary' if any(t in name for t in SERVICES[key][3]) else 'support'


def main():
    shared = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                           'shared', 'data'))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mud', default=os.path.join(shared, 'iot-catalog', 'mud-rules'))
    ap.add_argument('out')
    args = ap.parse_args()

    uses = collections.defaultdict(lambda: {'roles': set(), 'ports': set()})  # (fqdn, svc)
    unmapped = []
    for fn in sorted(os.listdir(args.mud)):
        if not fn.endswith('.rule.csv'):
            continue
        key = service_of(fn[:-len('.rule.csv')])
        if key is None:
            unmapped.append(fn)
            continue
        with open(os.path.join(args.mud, fn), newline='') as f:
            rows = csv.reader(f)
            next(rows, None)
            for row in rows:
                if len(row) < 8 or row[0].strip() != '<deviceMac>':
                    continue
                name = row[4].strip().lower().rstrip('.')
                try:
                    ipaddress.ip_network(name, strict=False)
                    continue  # address literal or prefix
                except ValueError:
                    pass
                if not NAME.match(name):
                    continue
                proto, port = row[5].strip(), row[7].strip()
                p = {'6': 'tcp', '17': 'udp'}.get(proto, 'any')
                u = uses[(name, key)]
                u['roles'].add(role_of(name, port, key))
                u['ports'].add(f'{p}/{"any" if port == "*" else port}')

    # A name two sibling services use belongs to their parent (e.g. Echo and Fire TV -> amazon).
    by_name = collections.defaultdict(list)
    for fqdn, key in list(uses):
        by_name[fqdn].append(key)
    for fqdn, keys in by_name.items():
        parents = {SERVICES[k][1] for k in keys}
        if len(keys) > 1 and len(parents) == 1 and None not in parents:
            merged = uses[(fqdn, parents.pop())]
            for k in keys:
                u = uses.pop((fqdn, k))
                merged['roles'] |= u['roles']
                merged['ports'] |= u['ports']

    out = ['catalog 1',
           '# Built by scripts/catalog-from-mud.py from barmey/IoT_mud_files_locations (MIT).',
           '# Roles are a heuristic (see the script): vendor token -> primary, DNS/NTP -> generic.',
           '']
    for key, (level, parent, name, _) in SERVICES.items():
        out.append(f'service {key} {level} {parent or "-"} {name}')
    out.append('')
    roles = collections.Counter()
    for (fqdn, key), u in sorted(uses.items()):
        # A name seen on DNS/NTP ports only is generic; primary wins over support.
        role = next(r for r in ('primary', 'support', 'generic') if r in u['roles'])
        roles[role] += 1
        ports = [] if role == 'generic' else sorted(u['ports'])
        if 'any/any' in ports:
            ports = []
        out.append(' '.join(['domain', fqdn, key, role] + ports))
    with open(args.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print(f'{args.out}: {len(SERVICES)} services, {len(uses)} domain lines '
          f'({", ".join(f"{n} {r}" for r, n in sorted(roles.items()))})', file=sys.stderr)
    for fn in unmapped:
        print(f'  unmapped device file: {fn}', file=sys.stderr)


if __name__ == '__main__':
    main()
