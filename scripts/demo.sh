#!/usr/bin/env bash
# The local cluster on loopback: installs what is missing, builds, then starts
#   real nginx/knotd/chronyd on 127.0.0.1 high ports (tests/integration/servers.sh),
#   netmon-echo (127.0.0.1:12345/tcp, 127.0.0.1:10100/udp),
#   netmon-manager with its embedded broker and the checks of scripts/demo.yaml,
#   two monitors, edge-1 and edge-2, with different check sets,
# and netmon-logger in the foreground, printing every result and state change.
# Once the cluster is up it prints `netmon-ctl status` and the netmon-ctl
# command line that drives this cluster from another terminal.
#
#   scripts/demo.sh                  run until Ctrl+C
#   scripts/demo.sh --seconds N      stop after N seconds (used for testing)
#   scripts/demo.sh --json           the logger prints JSON lines
#   scripts/demo.sh --base-port P    control P, broker in P+1, broker out P+2 (default 5555)
#   scripts/demo.sh --build-dir DIR  use (and build) an existing CMake build dir instead of
#                                    bootstrapping build/release
#
# The logger starts before the monitors, so their connections show. Every
# process is awaited until it says it is ready (bounded), and stopped again
# by PID, in reverse order, on Ctrl+C or at the end. Logs and state go
# to a fresh /tmp/netmon-demo.* directory, printed at start.
# shellcheck disable=SC2317  # stop_pid and cleanup run from traps
set -euo pipefail

readonly kReadyDeadlineSeconds=30
readonly kStopDeadlineSeconds=10

cd "$(dirname "$0")/.."
seconds=0
base_port=5555
build_dir=""
logger_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --base-port) base_port=${2:?--base-port needs a port}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --json) logger_args+=(--json); shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--seconds N] [--json] [--base-port P] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "demo: --seconds '$seconds' must be a whole number" >&2; exit 2 ;; esac
case "$base_port" in ''|*[!0-9]*) echo "demo: --base-port '$base_port' must be a number" >&2; exit 2 ;; esac
if [ "$base_port" -lt 1024 ] || [ "$base_port" -gt 65533 ]; then
  echo "demo: --base-port $base_port must be in 1024..65533 (it uses P, P+1 and P+2)" >&2
  exit 2
fi

targets=(netmon-echo netmon-manager netmon-monitor netmon-logger netmon-ctl)
if [ -z "$build_dir" ]; then
  ./scripts/bootstrap.sh release
  build_dir=build/release
fi
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
echo_bin=$build_dir/echo/netmon-echo
manager_bin=$build_dir/manager/netmon-manager
monitor_bin=$build_dir/monitor/agent/netmon-monitor
logger_bin=$build_dir/broker/logger/netmon-logger
ctl_bin=$build_dir/manager/console/netmon-ctl

control=tcp://127.0.0.1:$base_port
broker_in=tcp://127.0.0.1:$((base_port + 1))
broker_out=tcp://127.0.0.1:$((base_port + 2))

state=$(mktemp -d /tmp/netmon-demo.XXXXXX)
# Started processes, in start order: "name pid" per entry.
started=()
servers_started=0

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  local stat
  stat=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2) || return 1
  [ -n "$stat" ] && [ "$stat" != Z ] && [ "$stat" != X ]
}

# stop_pid NAME PID: SIGTERM, then SIGKILL after kStopDeadlineSeconds. Our own
# children only, so the PID cannot have been recycled before we reap it.
stop_pid() {
  local name=$1 pid=$2
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + kStopDeadlineSeconds))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.05 # polling interval, bounded by the deadline above
  done
  if alive "$pid"; then
    echo "demo: $name (pid $pid) ignored SIGTERM for ${kStopDeadlineSeconds}s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local index entry
  for ((index = ${#started[@]} - 1; index >= 0; index--)); do
    entry=${started[$index]}
    stop_pid "${entry% *}" "${entry#* }"
  done
  if [ "$servers_started" = 1 ]; then
    tests/integration/servers.sh stop "$state/servers" >>"$state/servers.log" 2>&1 || true
  fi
  echo "demo: stopped everything it started; logs and the store stay in $state"
  echo "demo: stored history: $manager_bin export --data-dir $state/manager --format jsonl"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOG COMMAND...: runs COMMAND in the background in its own session
# (so Ctrl+C reaches only this script, which stops everything in order).
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  started+=("$name $!")
  last_pid=$!
}

# await NAME PID LOG PATTERN: until LOG has a line matching PATTERN; fails when
# the process exits first or after kReadyDeadlineSeconds.
await() {
  local name=$1 pid=$2 log=$3 pattern=$4
  local deadline=$((SECONDS + kReadyDeadlineSeconds))
  until grep -qE "$pattern" "$log" 2>/dev/null; do
    if ! alive "$pid"; then
      echo "demo: $name (pid $pid) exited during start-up; its log ($log):" >&2
      cat "$log" >&2 || true
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "demo: $name (pid $pid) not ready within ${kReadyDeadlineSeconds}s; its log ($log):" >&2
      cat "$log" >&2 || true
      exit 1
    fi
    sleep 0.1 # polling interval, bounded by the deadline above
  done
}

# The checks: scripts/demo.yaml with the real ports of the local servers.
config=$state/demo.yaml
cp scripts/demo.yaml "$config"
servers_note="not running (see $state/servers.log): their checks show DOWN"
if mkdir -p "$state/servers" &&
  tests/integration/servers.sh start "$state/servers" >"$state/servers.log" 2>&1; then
  servers_started=1
  # shellcheck disable=SC1091
  . "$state/servers/servers.env"
  if [ "${NETMON_SKIP:-0}" != 1 ]; then
    sed -i -e "s#127.0.0.1:18080/#127.0.0.1:$NETMON_HTTP_PORT/#g" \
      -e "s#127.0.0.1:18443/#127.0.0.1:$NETMON_HTTPS_PORT/#g" \
      -e "s#port: 18053#port: $NETMON_DNS_PORT#g" \
      -e "s#port: 18123#port: $NETMON_NTP_PORT#g" \
      -e "s#ca_file: /etc/ssl/certs/ca-certificates.crt#ca_file: $NETMON_CA_FILE#g" "$config"
    servers_note="nginx http=$NETMON_HTTP_PORT https=$NETMON_HTTPS_PORT, knotd dns=$NETMON_DNS_PORT,"
    servers_note+=" chronyd ntp=$NETMON_NTP_PORT; log $state/servers.log"
  fi
fi

start netmon-echo "$state/echo.log" "$echo_bin" --tcp 127.0.0.1:12345 --udp 127.0.0.1:10100
echo_pid=$last_pid
await netmon-echo "$echo_pid" "$state/echo.log" "listening"

# --no-shell: the manager never takes the terminal (its stdin is /dev/null too).
start netmon-manager "$state/manager.log" "$manager_bin" --no-shell --config "$config" \
  --data-dir "$state/manager" --control "$control" --broker-in "$broker_in" \
  --broker-out "$broker_out"
manager_pid=$last_pid
await netmon-manager "$manager_pid" "$state/manager.log" "\\bready\\b"

cat <<TXT
demo: everything on 127.0.0.1; logs and state in $state
  servers        $servers_note
  netmon-echo    pid $echo_pid, log $state/echo.log
  netmon-manager pid $manager_pid, log $state/manager.log (status table, state changes), store $state/manager
  checks         $config
  netmon-logger  log $state/logger.log; its lines follow$( [ "$seconds" -gt 0 ] && echo " for ${seconds}s" || echo ". Ctrl+C stops everything.")
TXT

# The logger starts before the monitors, so their connections (EVENT lines)
# and first results are on screen. Its results go to this terminal; its own
# messages to its log.
"$logger_bin" --broker "$broker_out" "${logger_args[@]}" 2>"$state/logger.log" &
logger_pid=$!
started+=("netmon-logger $logger_pid")
await netmon-logger "$logger_pid" "$state/logger.log" "\\bready\\b"

for name in edge-1 edge-2; do
  start "$name" "$state/$name.log" "$monitor_bin" --name "$name" --data-dir "$state/$name" \
    --manager "$control" --broker "$broker_in"
  echo "demo: $name started: pid $last_pid, log $state/$name.log, outbox $state/$name"
  await "$name" "$last_pid" "$state/$name.log" "\\bready\\b"
done

# The cluster is up. port-closed is DOWN after 2 failures 2 s apart: wait for
# that (bounded; the status is shown anyway) so the status has something to say.
deadline=$((SECONDS + 15))
until grep -q "check edge-1/port-closed UNKNOWN -> DOWN" "$state/manager.log" 2>/dev/null ||
  [ $SECONDS -ge $deadline ]; do
  sleep 0.1 # polling interval, bounded by the deadline above
done
echo "demo: \$ netmon-ctl --data-dir $state/manager status"
"$ctl_bin" --data-dir "$state/manager" status || true
echo "demo: edge-1's port-closed and web-missing are DOWN on purpose (a closed port, a 404)"
echo "demo: the console, from another terminal: $ctl_bin --data-dir $state/manager"
echo "demo:   without a command it is a shell (help, TAB completion, exit); with one (status, checks edge-1) it runs it; docs/CONSOLE.md"

if [ "$seconds" -gt 0 ]; then
  end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do
    for entry in "${started[@]}"; do
      if ! alive "${entry#* }"; then
        echo "demo: ${entry% *} (pid ${entry#* }) exited early; see $state" >&2
        exit 1
      fi
    done
    sleep 0.2 # the run's length is the point here, not a synchronisation
  done
  exit 0
fi
status=0
wait "$logger_pid" || status=$?
echo "demo: netmon-logger exited (status $status); see $state/logger.log" >&2
exit "$status"
