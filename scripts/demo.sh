#!/usr/bin/env bash
# A local demo on loopback: installs what is missing, builds, starts
# netmon-echo and real nginx/knotd/chronyd on 127.0.0.1 (the integration
# tier's servers.sh), and monitors all of them, plus ping to 127.0.0.1 and an
# open and a closed TCP port, with netmon-probe until Ctrl+C.
#
#   scripts/demo.sh            run until Ctrl+C
#   scripts/demo.sh --rounds N stop after N rounds (used by the tests)
#
# Everything it starts it stops again, by PID. Logs and the JSON export go to
# a fresh /tmp/netmon-demo.* directory, printed at start.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--rounds N]" >&2; exit 2 ;;
  esac
done

./scripts/bootstrap.sh release
cmake --build build/release -j "$(nproc)" --target netmon-echo netmon-probe

bin=build/release
logs=$(mktemp -d /tmp/netmon-demo.XXXXXX)
echo_pid=""
servers_started=0
cleanup() {
  if [ -n "$echo_pid" ]; then kill "$echo_pid" 2>/dev/null || true; wait "$echo_pid" 2>/dev/null || true; fi
  if [ "$servers_started" = 1 ]; then tests/integration/servers.sh stop "$logs/servers" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin/echo/netmon-echo" --tcp 127.0.0.1:12345 --udp 127.0.0.1:10100 >"$logs/echo.log" 2>&1 &
echo_pid=$!

checks=$logs/checks.yaml
cat >"$checks" <<YAML
defaults: {interval: 1s, timeout: 800ms}
checks:
  - {id: echo-tcp, type: tcp_echo, host: 127.0.0.1, port: 12345}
  - {id: echo-udp, type: udp_echo, host: 127.0.0.1, port: 10100}
  - {id: ping-local, type: icmp, host: 127.0.0.1, count: 3}
  - {id: port-open, type: tcp, host: 127.0.0.1, port: 12345}
  - {id: port-closed, type: tcp, host: 127.0.0.1, port: 1}
YAML

if mkdir -p "$logs/servers" && tests/integration/servers.sh start "$logs/servers" >"$logs/servers.log" 2>&1; then
  servers_started=1
  # shellcheck disable=SC1091
  . "$logs/servers/servers.env"
  cat >>"$checks" <<YAML
  - {id: web, type: http, url: "http://127.0.0.1:$NETMON_HTTP_PORT/ok", body_contains: ok}
  - {id: web-tls, type: https, url: "https://127.0.0.1:$NETMON_HTTPS_PORT/ok", ca_file: "$NETMON_CA_FILE", min_cert_days: 7}
  - {id: web-missing, type: http, url: "http://127.0.0.1:$NETMON_HTTP_PORT/missing"}
  - {id: dns-www, type: dns, server: 127.0.0.1, port: $NETMON_DNS_PORT, name: www.netmon.test, record: A}
  - {id: dns-big-txt, type: dns, server: 127.0.0.1, port: $NETMON_DNS_PORT, name: big.netmon.test, record: TXT}
  - {id: ntp-local, type: ntp, server: 127.0.0.1, port: $NETMON_NTP_PORT, max_offset_ms: 100}
YAML
else
  echo "demo: nginx/knotd/chronyd did not start (see $logs/servers.log); monitoring echo and ports only"
fi

cat <<TXT
demo: logs and results in $logs
  netmon-echo   pid $echo_pid, log $logs/echo.log
  servers       $( [ "$servers_started" = 1 ] && echo "nginx/knotd/chronyd, log $logs/servers.log" || echo "not running")
  checks        $checks
  results       $logs/results.json (written when the probe ends)
Ctrl+C stops everything.
TXT

status=0
"$bin/monitor/probe/netmon-probe" --checks "$checks" -i 1s -c "$rounds" -v -o "$logs/results.json" || status=$?
# Exit 1 only means some check was down in the last round (web-missing and port-closed are by design).
[ "$status" -le 1 ] && status=0
exit "$status"
