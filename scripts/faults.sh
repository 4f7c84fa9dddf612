#!/usr/bin/env bash
# The fault suite: runs the cluster as real processes (netmon-manager with its
# embedded or a standalone netmon-broker, two monitors, netmon-logger,
# netmon-echo as the checks' target) in private network namespaces, injects
# one fault per scenario for a bounded time, and prints one table: scenario,
# produced, stored, reported lost, lost silently, duplicated, detection time,
# recovery time, pass/fail. Exits 1 if any row fails.
#
#   scripts/faults.sh                    every scenario (about 20 minutes)
#   scripts/faults.sh --fast             the CI subset (about 80 s)
#   scripts/faults.sh --only A,B         these scenarios
#   scripts/faults.sh --list             the scenarios
#   scripts/faults.sh --build-dir DIR    use (and build) DIR instead of build/release
#   scripts/faults.sh --seed N           the random moments and bytes of a previous run
#
# Needs root (network namespaces, nftables, tmpfs mounts in private mount
# namespaces), iproute2, nftables, python3 and libfaketime; installs the last
# two packages when missing unless NETMON_NO_INSTALL=1. Nothing is added to
# the host's network namespace; every process is stopped by PID and every
# namespace deleted at the end or on Ctrl+C. Scenarios: tests/faults/.
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=""
list=0
suite_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) suite_args+=("$1"); shift ;;
    --list) list=1; shift ;;
    --only|--seed) suite_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--fast] [--only NAME,...] [--list] [--build-dir DIR] [--seed N]" >&2
       exit 2 ;;
  esac
done

[ "$list" = 0 ] || exec python3 tests/faults/fault_suite.py --list
if [ "$(id -u)" != 0 ]; then
  echo "faults: needs root (network namespaces, nftables, mounts); run it with sudo" >&2
  exit 2
fi
missing=()
command -v nft >/dev/null || missing+=(nftables)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(libfaketime)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${NETMON_NO_INSTALL:-0}" = 1 ]; then
    echo "faults: missing ${missing[*]}: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
fi

targets=(netmon-manager netmon-monitor netmon-broker netmon-logger netmon-echo)
if [ -z "$build_dir" ]; then
  ./scripts/bootstrap.sh release
  build_dir=build/release
fi
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"

exec python3 tests/faults/fault_suite.py "${suite_args[@]}" \
  --manager "$build_dir/manager/netmon-manager" \
  --monitor "$build_dir/monitor/agent/netmon-monitor" \
  --broker "$build_dir/broker/netmon-broker" \
  --logger "$build_dir/broker/logger/netmon-logger" \
  --echo "$build_dir/echo/netmon-echo"
