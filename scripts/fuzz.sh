#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in
# build/fuzz and runs each for SECONDS, then prints one table: target,
# executions, exec/s, corpus size, crashes.
#
#   scripts/fuzz.sh [--merge] [--keep-going] [SECONDS] [TARGET...]
#     SECONDS       per target, default 60 (-max_total_time)
#     TARGET        control bus check_args check_file manager_config dns_reply
#                   ntp_reply icmp_reply export (default: all)
#     --merge       add the inputs that found new coverage to tests/fuzz/corpus/
#     --keep-going  go on after a crash (libFuzzer -fork=1 -ignore_crashes=1)
#
# New inputs go to build/fuzz/corpus/TARGET, crash inputs to
# build/fuzz/crashes/TARGET, the fuzzer's output to build/fuzz/logs/TARGET.log.
# Exit status: 0 when no target crashed, 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
all_targets=(control bus check_args check_file manager_config dns_reply ntp_reply icmp_reply export)
seconds=60
merge=0
keep_going=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    --keep-going) keep_going=1 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) seconds=$arg ;;
    *)
      if [[ " ${all_targets[*]} " != *" $arg "* ]]; then
        echo "fuzz: unknown target '$arg' (allowed: ${all_targets[*]})" >&2
        exit 2
      fi
      targets+=("$arg")
      ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

compiler=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$compiler" ]; then
  echo "fuzz: needs clang++ (libFuzzer); install clang" >&2
  exit 2
fi

build=build/fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Warnings are enforced by the gcc builds; clang's differ (and it does not know
# -Wno-restrict), so here they are not errors.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$compiler" \
  -DCMAKE_CXX_FLAGS=-Wno-unknown-warning-option -DNETMON_WERROR=OFF -DNETMON_SANITIZE=ON \
  -DNETMON_FUZZ=ON -DNETMON_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
binaries=()
for target in "${targets[@]}"; do binaries+=("netmon_${target}_fuzz"); done
echo "== build (${#binaries[@]} fuzzers in $build)"
cmake --build "$build" -j "$(nproc)" --target "${binaries[@]}"

# The export target keeps a store in TMPDIR, left behind by runs that crash.
export TMPDIR=$build/tmp
mkdir -p "$TMPDIR"
# Stop at the first sanitizer report, with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# libFuzzer dictionaries: the tokens of each input language.
dictionary_of() {
  case "$1" in
    control | bus) echo tests/fuzz/msgpack.dict ;;
    check_args) echo tests/fuzz/check_args.dict ;;
    check_file | manager_config) echo tests/fuzz/yaml.dict ;;
  esac
}

rows=()
crashed=0
for target in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$target
  work=$build/corpus/$target
  crashes=$build/crashes/$target
  log=$build/logs/$target.log
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$crashes/")
  dictionary=$(dictionary_of "$target")
  [ -n "$dictionary" ] && options+=(-dict="$dictionary")
  [ "$keep_going" = 1 ] && options+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  echo "== fuzz $target for ${seconds}s"
  start=$(date +%s)
  # The first corpus directory receives the new inputs; the seeds stay as they are.
  status=0
  "$build/tests/fuzz/netmon_${target}_fuzz" "${options[@]}" "$work" "$seeds" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  [ "$elapsed" -lt 1 ] && elapsed=1
  executions=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [ -z "$executions" ]; then
    # Fork mode prints no final stats: take the last status line (#N ...).
    executions=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  fi
  executions=${executions:-0}
  found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newermt "@$start" | wc -l)
  if [ "$found" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$keep_going" = 0 ]; }; then
    crashed=1
    [ "$found" -eq 0 ] && found="exit $status"
    echo "   $target: see $log and $crashes/"
  fi
  if [ "$merge" = 1 ]; then
    "$build/tests/fuzz/netmon_${target}_fuzz" -merge=1 "$seeds" "$work" >>"$log" 2>&1 || true
  fi
  corpus=$(find "$work" "$seeds" -type f | wc -l)
  rows+=("$(printf '%-16s %14s %10s %8s %8s' "$target" "$executions" $((executions / elapsed)) "$corpus" "$found")")
done

echo
printf '%-16s %14s %10s %8s %8s\n' target executions exec/s corpus crashes
for row in "${rows[@]}"; do echo "$row"; done
exit "$crashed"
