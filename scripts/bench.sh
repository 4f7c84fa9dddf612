#!/usr/bin/env bash
# Benchmarks: numbers for the closing notes, never part of the test suite.
#
#   scripts/bench.sh engine [flags]   build (Release) and run the check-engine benchmark
#   scripts/bench.sh bus [flags]      build (Release) and run the bus benchmark
#   scripts/bench.sh outbox [flags]   build (Release) and run the outbox benchmark
#   scripts/bench.sh store [flags]    build (Release) and run the store-queries benchmark
#   scripts/bench.sh --help
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/bench.sh engine [flags...]
       scripts/bench.sh bus [flags...]
       scripts/bench.sh outbox [flags...]
       scripts/bench.sh store [flags...]
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

bus     Builds netmon_bus_bench, netmon-manager and netmon-monitor in Release
        (same build directory rules as engine) and runs the bus as real
        processes on 127.0.0.1 (free ports, temporary data dirs, everything
        stopped by PID at the end). Three figures, each from a fresh cluster
        of one netmon-manager (embedded broker) and N netmon-monitor
        --synthetic processes, read back from the manager's store:
          - committed results/s: rows whose COMMIT time (stored_us) falls in
            a 10 s window / 10 s, with the monitors offering 100,000,
            150,000 and 200,000/s in turn (fresh cluster each); the best is
            the figure (offering much more than the manager takes only gives
            the 2 cores to the monitors). Target >= 100,000/s.
          - latency p50/p99 at 10,000 results/s in total: check completion
            (ts + latency) to COMMIT (stored_us). Target p99 <= 20 ms.
          - replay: the monitors buffer 1,000,000 results with no manager
            running, stop; a manager starts on an empty store and the
            monitors restart without --synthetic; time from their start to
            the COMMIT of the last buffered result. Target >= 100,000/s.
        Each figure comes with the CPU every process used in its window
        (/proc/PID/stat), the machine's busy and iowait cores (/proc/stat),
        the COMMITs per second and rows per COMMIT, and a verdict on what
        limited it. Ends with a Markdown table. Takes about 2 minutes; run it
        on an idle machine.

        Flags (passed to the benchmark program):
          --monitors=4 --offered=100000,150000,200000 --warmup-ms=3000
          --window-ms=10000
          --latency-rate=10000 --latency-window-ms=10000
          --replay-count=1000000 --fill-rate=100000 --fill-timeout-s=90
          --replay-timeout-s=90 --sync=full|normal (the monitors' outboxes)
          --phases=throughput,latency,replay --keep-dirs (logs and stores)

outbox  Builds netmon_outbox_bench in Release (same build directory rules as
        engine) and runs it: results committed per second by the monitor's
        outbox, one transaction per batch of 1, 100 and 1000 results, with
        synchronous=FULL and NORMAL, on a real file in a temporary directory.

        Flags: Google Benchmark's own, e.g. --benchmark_filter=OutboxAppend
          --benchmark_format=json --benchmark_out=FILE

store   Builds netmon_store_bench in Release (same build directory rules as
        engine) and runs it: first it builds a store of 1,000,000 records
        through ResultStore in a temporary directory (4 monitors x 25 checks x
        10,000 results at 60 s, with DOWN runs and their events; about a
        minute), then times the console's queries on it (StoreReader: stats
        over everything, the last 24 h and 1 h, one check; events; last
        results of a monitor, also with a check that has no results), the
        restore of 100 check states (also with one that has no results),
        and ingest in batches of 1,000 as the store is and with an index on
        (monitor_id, check) or on ts_us added (what they would cost).

        Flags: Google Benchmark's own, e.g. --benchmark_filter=stats
          --benchmark_format=json --benchmark_out=FILE
EOF
}

# build_release TARGET...: configures (Release) and builds the targets.
build_release() {
  build_dir=${NETMON_BUILD_DIR:-build/release}
  if [ -z "${NETMON_BUILD_DIR:-}" ]; then
    scripts/bootstrap.sh release
  elif [ ! -f "$build_dir/build.ninja" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  fi
  cmake --build "$build_dir" --target "$@" >&2
}

load_note() {
  echo "bench: load average $1 the run: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(2 cores: numbers are only meaningful near 0)"
}

case "${1:-}" in
  engine)
    shift
    build_release netmon_engine_bench
    load_note before
    exec "$build_dir/tests/bench/netmon_engine_bench" "$@"
    ;;
  bus)
    shift
    build_release netmon_bus_bench netmon-manager netmon-monitor
    load_note before
    status=0
    "$build_dir/tests/bench/netmon_bus_bench" "$@" || status=$?
    load_note after
    exit "$status"
    ;;
  outbox)
    shift
    build_release netmon_outbox_bench
    load_note before
    exec "$build_dir/tests/bench/netmon_outbox_bench" "$@"
    ;;
  store)
    shift
    build_release netmon_store_bench
    load_note before
    exec "$build_dir/tests/bench/netmon_store_bench" "$@"
    ;;
  -h | --help | help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
