#!/usr/bin/env bash
# haystack-hitlist CLI: documented exit codes, file:line errors on stderr, and two runs on
# the real-data fixture giving byte-identical bundle and report.
# Usage: test_hitlist_tool.sh <haystack-hitlist> <tests/data dir>
set -u
tool=$1 data=$2/hitlist-builder
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { "$tool" build --catalog "$data/behaviot.catalog" --dns "$data/intl-iot-catalog-ips.dns" \
          --date 2026-11-01 "$@"; }

"$tool" --help >/dev/null || fail "--help exit $?"
"$tool" build --help | grep -q -- '--min-primary' || fail "build --help lacks --min-primary"
run --out "$tmp/a.hitlist" --report "$tmp/a.txt" || fail "build exit $?"
run --out "$tmp/b.hitlist" --report "$tmp/b.txt" || fail "second build exit $?"
cmp "$tmp/a.hitlist" "$tmp/b.hitlist" || fail "bundles differ"
cmp "$tmp/a.txt" "$tmp/b.txt" || fail "reports differ"
grep -q '^output: 12 services, 52 domains, 842 endpoints$' "$tmp/a.txt" || fail "report counts"
[ "$(grep -c '^endpoint ' "$tmp/a.hitlist")" = 842 ] || fail "endpoint lines"

run --out "$tmp/c.hitlist" >/dev/null 2>&1
[ $? = 2 ] || fail "missing --report: want exit 2"
printf 'catalog 1\nservice a platform - A\ndomain a.com a main\n' >"$tmp/bad.catalog"
"$tool" build --catalog "$tmp/bad.catalog" --dns "$data/intl-iot-catalog-ips.dns" \
  --date 2026-11-01 --out "$tmp/d.hitlist" --report "$tmp/d.txt" 2>"$tmp/err"
[ $? = 1 ] || fail "malformed catalog: want exit 1"
grep -qF "bad.catalog:3: domain.role: role 'main' is not primary, support or generic" "$tmp/err" \
  || fail "error text: $(cat "$tmp/err")"
[ ! -e "$tmp/d.hitlist" ] || fail "bundle written despite the error"
run --out "$tmp/nodir/e.hitlist" --report "$tmp/e.txt" 2>/dev/null
[ $? = 3 ] || fail "unwritable output: want exit 3"
echo "ok"
