#!/usr/bin/env bash
# Installs dependencies, builds, and replays bundled traffic through haystackd (pcap vdev,
# packet clock, one worker) with the bundled example hitlist, then prints what it saw:
# traffic counters, IoT detections per subscriber line, and the top talkers.
# Traffic: tests/data/pcaps/iot-lines.pcap, a generated ISP trace with known IoT devices
# behind subscriber lines in 100.64.0.0/16 (scripts/gen-iot-pcap.py). Hitlist:
# tests/data/hitlist/example-2026-11-01.hitlist, built from real IoT catalogs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

WORK=$(mktemp -d /tmp/haystack-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/haystack.yaml" <<YAML
site_id: demo
mode: isp
subscriber_prefixes: [100.64.0.0/16, 2001:db8:100::/40]
state_dir: $WORK/state
ports:
  - name: sample
    device: "net_pcap0,rx_pcap=$ROOT/tests/data/pcaps/iot-lines.pcap"
mempool:
  mbufs: 4095
sampling:
  method: count
  flow_rate: 10
  iot_rate: 1
bins:
  seconds: 60
log:
  level: warn
iot:
  hitlist: $ROOT/tests/data/hitlist/example-2026-11-01.hitlist
  pseudonymize: false   # show raw line prefixes in the demo; on by default
YAML

build/control/haystackd --config "$WORK/haystack.yaml" --until-idle=1000 \
  --stats-out "$WORK/stats.json" -- --no-huge --no-pci -m 512 \
  --file-prefix "haystack-demo-$$" --log-level='*:error'

python3 scripts/print-stats.py "$WORK/stats.json"

# Top talkers over the whole day, from the persisted daily Flowtrees (sampled counts).
DAY=$(ls "$WORK/state/flowtrees/demo/1d" | head -1)
for set in SI DP; do
  echo
  echo "top talkers ($set, day $DAY, heaviest hierarchical heavy hitters):"
  build/control/haystack-flowtree top "$WORK/state/flowtrees/demo/1d/$DAY/$set.ftr" -k 8
done
echo
echo "IoT detections for the day ($WORK/state/detections/detections.jsonl):"
python3 - "$WORK/state/detections/detections.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"window":"day"' in l]
print(f"  {'line':<22} {'service':<16} {'level':<13} {'domains':>7} {'packets':>8}  active hours")
for d in sorted(rows, key=lambda d: (d["line"], d["level"], d["service"])):
    print(f"  {d['line']:<22} {d['service']:<16} {d['level']:<13} "
          f"{len(d['domains']):>4}/{d['domains_total']:<2} {d['packets']:>8}  {d['active_hours']}")
PY
echo
echo "alerts ($WORK/state/alerts.jsonl):"
python3 -c "
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    print(' ', a['time'][:19], a['type'], a['subject'], json.dumps(a['details'], sort_keys=True)[:110])
" "$WORK/state/alerts.jsonl"
