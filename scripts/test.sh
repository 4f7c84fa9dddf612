#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Release build with
# warnings as errors, then the same suite under AddressSanitizer +
# UndefinedBehaviorSanitizer. `--fast` skips the sanitizer pass.
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

run_suite() {
  local flavor=$1
  ./scripts/bootstrap.sh "$flavor"
  echo "== build ($flavor)"
  cmake --build "build/$flavor" -j "$jobs"
  echo "== test ($flavor)"
  "${isolate[@]}" ctest --test-dir "build/$flavor" --output-on-failure -j "$jobs" --timeout 300
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
if [ "$fast" = 0 ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite asan
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
