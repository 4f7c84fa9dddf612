#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Release build with
# warnings as errors, then the same suite under AddressSanitizer +
# UndefinedBehaviorSanitizer, with the fault suite's CI subset
# (scripts/faults.sh --fast, as root) in between. `--fast` skips the sanitizer
# pass. Each phase prints how long it took.
set -euo pipefail

cd "$(dirname "$0")/.."
fast=0
for arg in "$@"; do
  case "$arg" in
    --fast) fast=1 ;;
    -h|--help) echo "usage: $0 [--fast]   (--fast: skip the ASan+UBSan pass)"; exit 0 ;;
    *) echo "usage: $0 [--fast]" >&2; exit 2 ;;
  esac
done
jobs=$(nproc)
# Most tests wait on sockets, timers and child processes, not on a core.
test_jobs=$((2 * jobs))
# ccache hits across checkouts in other folders (CI clones into a new one).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

phase_start=0
phase() { echo "== $1"; phase_start=$(date +%s); }
phase_done() { echo "== $1 took $(( $(date +%s) - phase_start ))s"; }

run_suite() {
  local flavor=$1
  phase "bootstrap ($flavor)"
  ./scripts/bootstrap.sh "$flavor"
  phase_done "bootstrap ($flavor)"
  phase "build ($flavor)"
  cmake --build "build/$flavor" -j "$jobs"
  phase_done "build ($flavor)"
  phase "test ($flavor)"
  local log="build/$flavor/ctest.log"
  "${isolate[@]}" ctest --test-dir "build/$flavor" --output-on-failure -j "$test_jobs" --timeout 300 |
    tee "$log"
  # As root every part is present and every privilege held, so a skipped test
  # means something is missing: fail instead of passing with a hole.
  if [ "$(id -u)" = 0 ] && grep -q "The following tests did not run" "$log"; then
    echo "== test ($flavor): tests were skipped as root (see above); every test must run here" >&2
    exit 1
  fi
  phase_done "test ($flavor)"
}

# Tests send traffic to loopback only. As root, run them in a network
# namespace of their own that has nothing but loopback, so a mistake cannot
# reach another address (not even the system resolver's server).
isolate=()
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
  isolate=(unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh)
  echo "== tests run in a private network namespace (loopback only)"
fi

start=$(date +%s)
run_suite release
# The fault suite's CI subset on the Release binaries: real processes in
# network namespaces it makes (and removes) itself, so not inside the isolate.
if [ "$(id -u)" = 0 ]; then
  phase "faults (--fast)"
  ./scripts/faults.sh --fast --build-dir build/release
  phase_done "faults (--fast)"
else
  echo "== faults: NOT RUN (needs root for network namespaces); run sudo ./scripts/faults.sh --fast" >&2
fi
if [ "$fast" = 0 ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite asan
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
