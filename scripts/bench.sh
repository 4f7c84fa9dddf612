#!/usr/bin/env bash
# Benchmarks: numbers for the closing notes, never part of the test suite.
#
#   scripts/bench.sh engine [flags]   build (Release) and run the check-engine benchmark
#   scripts/bench.sh bus              arrives with the bus issue
#   scripts/bench.sh --help
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/bench.sh engine [flags...]
       scripts/bench.sh bus        (arrives with the bus issue; not available yet)
       scripts/bench.sh --help

engine  Builds netmon_engine_bench in Release (scripts/bootstrap.sh release,
        build dir build/release; NETMON_BUILD_DIR=dir uses another, already
        Release-configured or new, directory) and runs it. One CheckEngine runs
        on one thread pinned to the first CPU; loopback servers the benchmark
        starts itself (tcp accept-and-close, DNS, SNTP, UDP echo, HTTP/1.1, and
        two dead targets) run on one thread pinned to the last CPU. Everything
        binds 127.0.0.1 and is stopped when the program exits. It prints
        Google Benchmark's lines with counters, then a table:
          - lateness/tcp_10pct_dead, lateness/udp_echo_10pct_dead: p50/p99
            scheduling lateness of 10,000 checks at 1 s while every tenth aims
            at a target that never answers (a listener that drops SYNs, a UDP
            port that swallows datagrams), and RSS per scheduled check
          - memory/<type>: resident memory per scheduled check, 10,000 checks at 1 s
          - <type> saturated: 10,000 checks at 100 ms (demand 100,000/s):
            completed results/s, share up, overruns, missed ticks
          - <type> sustained: the highest demand (15% steps, binary search)
            at which >= 99% of results were up
        for tcp, icmp, dns, ntp, udp_echo and http. A type that is not built
        yet is reported as such. Takes about 2 minutes; run it on an idle
        machine (the load average is printed before and after).

        Flags (passed to the benchmark program):
          --types=tcp,icmp,dns,ntp,udp_echo,http   which types' figures to run
          --warmup_ms=1000 --window_ms=3000 --search_window_ms=1500
          --memory_window_ms=1000 --lateness_window_ms=5000 --checks=10000
          --ports=16 --no_search
          --engine_cpu=N --server_cpu=N
          and Google Benchmark's own, e.g. --benchmark_filter=lateness
          --benchmark_format=json --benchmark_out=FILE

bus     Arrives with the bus issue (broker throughput and latency).
EOF
}

build_engine_bench() {
  local build_dir=${NETMON_BUILD_DIR:-build/release}
  if [ -z "${NETMON_BUILD_DIR:-}" ]; then
    scripts/bootstrap.sh release
  elif [ ! -f "$build_dir/build.ninja" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  fi
  cmake --build "$build_dir" --target netmon_engine_bench >&2
  bench_binary="$build_dir/tests/bench/netmon_engine_bench"
}

case "${1:-}" in
  engine)
    shift
    build_engine_bench
    echo "bench: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" \
      "(2 cores: numbers are only meaningful near 0)"
    exec "$bench_binary" "$@"
    ;;
  bus)
    echo "bench.sh: 'bus' arrives with the bus issue; only 'engine' exists so far" >&2
    exit 2
    ;;
  -h | --help | help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
