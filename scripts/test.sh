#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test tier:
#   build/        g++ release-with-debug: unit (Boost.Test) + integration (haystackd on vdevs)
#   build-asan/   g++ ASan+UBSan: unit tests
#   build-fuzz/   clang libFuzzer targets, each run for a bounded time
# Ends with one line "N passed, N failed" computed from meson's test logs.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
build() {  # dir, setup args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -40; return 1; }
}

rm -f build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
      build-fuzz/meson-logs/testlog.json

if build build; then
  meson test -C build --print-errorlogs --num-processes 1 || status=1
else
  echo "build failed"; status=1
fi

if build build-asan -Ddaemon=false --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false; then
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --suite unit || status=1
else
  echo "asan build failed"; status=1
fi

if CXX=clang++ CC=clang build build-fuzz -Dfuzz=true -Ddaemon=false -Dtests=false; then
  meson test -C build-fuzz --print-errorlogs --suite fuzz || status=1
else
  echo "fuzz build failed"; status=1
fi

python3 scripts/test-summary.py build build-asan build-fuzz
exit $status
