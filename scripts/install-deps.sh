#!/usr/bin/env bash
# Installs every Debian 12 package Haystack needs to build, run and test.
# Idempotent; safe to re-run. Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential g++ pkg-config meson ninja-build clang clang-format lld
  libclang-rt-14-dev llvm
  dpdk dpdk-dev libpcap-dev
  libhyperscan-dev libbpf-dev libjemalloc-dev libspdlog-dev libfmt-dev
  libboost-test-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  tcpreplay linux-perf valgrind
  libnuma-dev python3 python3-pyelftools python3-pyasn tcpdump jq iproute2 procps
  prometheus ieee-data nfdump publicsuffix
  clickhouse-server clickhouse-client libcurl4-openssl-dev
  libsqlite3-dev sqlite3 python3-matplotlib
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
