#!/usr/bin/env bash
# Starts and stops the real third-party servers of the integration tier on
# 127.0.0.1, all of them on free high ports, every file under one temp dir:
#
#   nginx    HTTP + HTTPS (self-signed certificate made here with openssl)
#   knotd    authoritative for netmon.test. and 0.0.127.in-addr.arpa.
#   chronyd  NTP server, `local stratum 8`, never touching the system clock (-x)
#   chronyd  a second one under libfaketime, serving a clock 30 s ahead
#
#   servers.sh start STATE_DIR   start all three, wait until each answers,
#                                write STATE_DIR/servers.env (ports, cert, pids)
#   servers.sh stop STATE_DIR    stop them by PID and remove the temp dir
#
# No systemd, no /etc config, no system service is touched; works as root.
# NETMON_SKIP_INTEGRATION=1 makes `start` write a skip marker instead.
set -euo pipefail

readonly kReadyDeadlineSeconds=20
readonly kStopDeadlineSeconds=5
# What nginx, knotd and chronyd log when their port is taken.
readonly kBindFailure="address already in use|address in use|cannot bind|could not open"
readonly kNtpAheadSeconds=30 # the "ahead" chronyd serves time this far in the future

die() {
  echo "servers.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
action=$1
state_dir=$2
env_file=$state_dir/servers.env

# Prints a port in 20000..32767 (below the kernel's ephemeral range) that is
# free for TCP and UDP on 127.0.0.1 and TCP on 127.0.0.2, and not in `taken`.
pick_port() {
  local taken=" $* " port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12768))
    case "$taken" in *" $port "*) continue ;; esac
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found in 20000..32767"
}

port_free() {
  /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
for address, kind in (("127.0.0.1", socket.SOCK_STREAM), ("127.0.0.1", socket.SOCK_DGRAM),
                      ("127.0.0.2", socket.SOCK_STREAM)):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((address, port))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
EOF
}

# wait_ready NAME COMM PID LOG COMMAND...: runs COMMAND until it succeeds, the
# server process PID (named COMM) dies or the deadline passes.
wait_ready() {
  local name=$1 comm=$2 pid=$3 log=$4
  shift 4
  local deadline=$((SECONDS + kReadyDeadlineSeconds))
  while [ $SECONDS -lt $deadline ]; do
    if ! running "$pid" "$comm"; then
      echo "servers.sh: $name (pid $pid) exited during start-up; its log:" >&2
      cat "$log" >&2 || true
      return 1
    fi
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if grep -qiE "$kBindFailure" "$log" 2>/dev/null; then
      echo "servers.sh: $name could not bind its port; its log:" >&2
      cat "$log" >&2 || true
      return 1
    fi
    sleep 0.1 # polling interval, bounded by the deadline above
  done
  echo "servers.sh: $name not ready within ${kReadyDeadlineSeconds}s; its log:" >&2
  cat "$log" >&2 || true
  return 1
}

tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dns_ready() {
  local port=$1
  [ -n "$(kdig @127.0.0.1 -p "$port" +tcp +short +timeout=1 +retry=0 netmon.test SOA)" ] &&
    [ -n "$(kdig @127.0.0.1 -p "$port" +short +timeout=1 +retry=0 10.0.0.127.in-addr.arpa PTR)" ]
}

ntp_ready() {
  # Ready means synchronised to the local reference (leap != 3, stratum 8)
  # and serving a clock the expected number of seconds ($2) ahead of ours.
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, ntplib
r = ntplib.NTPClient().request("127.0.0.1", port=int(sys.argv[1]), version=4, timeout=0.5)
sys.exit(0 if r.leap != 3 and r.stratum == 8 and abs(r.offset - float(sys.argv[2])) < 1 else 1)
EOF
}

write_certificate() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 30 \
    -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" 2>"$dir/tls/openssl.log" ||
    { cat "$dir/tls/openssl.log" >&2; die "openssl could not make the test certificate"; }
}

start_nginx() {
  local dir=$1 http_port=$2 https_port=$3
  mkdir -p "$dir/nginx/tmp"
  cat >"$dir/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log info;
events { worker_connections 256; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/tmp/body;
  proxy_temp_path $dir/nginx/tmp/proxy;
  fastcgi_temp_path $dir/nginx/tmp/fastcgi;
  uwsgi_temp_path $dir/nginx/tmp/uwsgi;
  scgi_temp_path $dir/nginx/tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    # Same certificate on an address it does not name: hostname verification.
    listen 127.0.0.2:$https_port ssl;
    server_name localhost;
    ssl_certificate $dir/tls/cert.pem;
    ssl_certificate_key $dir/tls/key.pem;
    location = /ok { return 200 "netmon integration ok\n"; }
    location = /missing { return 404 "nothing here\n"; }
    location = /error { return 500 "internal error\n"; }
    location = /found { return 302 /ok; }
    location = /moved { return 301 /ok; }
    location = /loop { return 302 /loop; }
    location = /echo { return 200 "method=\$request_method x-netmon=\$http_x_netmon\n"; }
    location / { return 404 "nothing here\n"; }
  }
}
EOF
  nginx -t -q -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" ||
    { cat "$dir/nginx/error.log" >&2; die "nginx rejected its configuration"; }
  nginx -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" \
    >>"$dir/nginx/stdout.log" 2>&1 </dev/null &
  echo $!
}

start_knot() {
  local dir=$1 port=$2
  mkdir -p "$dir/knot"
  # 20 strings of 200 characters (~4 KB): more than any UDP answer knot sends
  # (udp-max-payload 1232), so every UDP client gets TC=1 and must use TCP.
  local big="" filler i
  filler=$(printf 'abcdefghij%.0s' $(seq 1 20))
  for i in $(seq -w 1 20); do
    big+=" \"part-$i-${filler:0:192}\""
  done
  cat >"$dir/knot/netmon.test.zone" <<EOF
\$ORIGIN netmon.test.
\$TTL 300
@        SOA   ns1.netmon.test. hostmaster.netmon.test. 2024010101 3600 600 86400 300
@        NS    ns1.netmon.test.
@        NS    ns2.netmon.test.
@        MX    10 mail.netmon.test.
@        MX    20 mail2.netmon.test.
@        TXT   "v=spf1 -all"
ns1      A     127.0.0.1
ns2      A     127.0.0.2
www      A     127.0.0.10
www      A     127.0.0.11
www      AAAA  2001:db8::10
www      AAAA  ::1
mail     A     127.0.0.20
mail2    A     127.0.0.21
alias    CNAME www.netmon.test.
txt      TXT   "hello netmon" "second string"
escaped  TXT   "say \\"hi\\" \\\\ back" "tab\\009end"
big      TXT  $big
_http._tcp SRV 10 60 8080 www.netmon.test.
_http._tcp SRV 20 40 8081 mail.netmon.test.
EOF
  cat >"$dir/knot/0.0.127.in-addr.arpa.zone" <<EOF
\$ORIGIN 0.0.127.in-addr.arpa.
\$TTL 300
@        SOA   ns1.netmon.test. hostmaster.netmon.test. 2024010101 3600 600 86400 300
@        NS    ns1.netmon.test.
10       PTR   www.netmon.test.
EOF
  cat >"$dir/knot/knot.conf" <<EOF
server:
    rundir: "$dir/knot"
    listen: 127.0.0.1@$port
    udp-max-payload: 1232
    tcp-reuseport: off
log:
  - target: stderr
    any: info
database:
    storage: "$dir/knot"
control:
    listen: "$dir/knot/knot.sock"
template:
  - id: default
    storage: "$dir/knot"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: netmon.test.
  - domain: 0.0.127.in-addr.arpa.
EOF
  knotd -c "$dir/knot/knot.conf" >>"$dir/knot/knotd.log" 2>&1 </dev/null &
  echo $!
}

# start_chrony DIR PORT NAME [VAR=VALUE...]: NAME is its sub-directory; the
# optional assignments go to its environment (libfaketime).
start_chrony() {
  local dir=$1/$3 port=$2
  shift 3
  mkdir -p "$dir"
  cat >"$dir/chrony.conf" <<EOF
port $port
bindaddress 127.0.0.1
cmdport 0
local stratum 8
allow 127.0.0.1
pidfile $dir/chronyd.pid
driftfile $dir/chrony.drift
ntsdumpdir $dir
dumpdir $dir
logdir $dir
EOF
  # -d: foreground (we background it and keep the PID); -x: never touch the
  # system clock. As root, -u root keeps it from dropping to _chrony (which
  # cannot enter the private temp dir); as any other user, -U lets it run.
  local user_option=(-U)
  [ "$(id -u)" = 0 ] && user_option=(-u root)
  env "$@" chronyd -d -x "${user_option[@]}" -f "$dir/chrony.conf" \
    >>"$dir/chronyd.log" 2>&1 </dev/null &
  echo $!
}

# libfaketime, to run a second chronyd whose clock is kNtpAheadSeconds ahead.
faketime_library() {
  local lib
  for lib in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    [ -f "$lib" ] && { echo "$lib"; return 0; }
  done
  return 1
}

# running PID COMMAND: true while PID is alive (not a zombie) and runs COMMAND,
# so a recycled PID is never signalled. The servers are re-parented to PID 1
# when this script exits; a zombie waiting for PID 1 to reap it counts as gone.
running() {
  local pid=$1 comm=$2 stat
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  stat=$(cut -d')' -f2 "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f2)
  [ -n "$stat" ] && [ "$stat" != Z ] && [ "$stat" != X ]
}

stop_pid() {
  local name=$1 pid=$2
  [ -n "$pid" ] || return 0
  running "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + kStopDeadlineSeconds))
  while running "$pid" "$name" && [ $SECONDS -lt $deadline ]; do
    sleep 0.05 # polling interval, bounded by the deadline above
  done
  if running "$pid" "$name"; then
    echo "servers.sh: $name (pid $pid) ignored SIGTERM, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

do_stop() {
  [ -f "$env_file" ] || return 0
  local NETMON_TMP_DIR="" NGINX_PID="" KNOT_PID="" CHRONY_PID="" CHRONY_AHEAD_PID=""
  # shellcheck disable=SC1090
  . "$env_file"
  stop_pid nginx "$NGINX_PID"
  stop_pid knotd "$KNOT_PID"
  stop_pid chronyd "$CHRONY_PID"
  stop_pid chronyd "$CHRONY_AHEAD_PID"
  case "$NETMON_TMP_DIR" in
    */netmon-integration.*) rm -rf "$NETMON_TMP_DIR" ;;
  esac
  rm -f "$env_file"
}

do_start() {
  mkdir -p "$state_dir"
  do_stop # leftovers of an interrupted run
  if [ "${NETMON_SKIP_INTEGRATION:-0}" = 1 ]; then
    echo "NETMON_SKIP=1" >"$env_file"
    echo "servers.sh: NETMON_SKIP_INTEGRATION=1, not starting servers"
    return 0
  fi
  local tool
  for tool in nginx knotd kdig chronyd curl openssl /usr/bin/python3 env; do
    command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/bootstrap.sh)"
  done
  /usr/bin/python3 -c 'import ntplib' 2>/dev/null ||
    die "python3-ntplib is not installed (run scripts/bootstrap.sh)"
  faketime_library >/dev/null || die "libfaketime is not installed (run scripts/bootstrap.sh)"

  # A port seen free can be taken by someone else before our server binds it:
  # then (and only then) start again on new ports.
  local attempt
  for attempt in 1 2 3; do
    start_once && return 0
    [ "$port_conflict" = 1 ] || die "a server did not start (see above)"
    echo "servers.sh: a port was taken meanwhile (attempt $attempt), choosing new ports" >&2
  done
  die "servers did not start after 3 attempts (ports kept being taken)"
}

port_conflict=0

# Starts every server once on fresh ports; on failure stops them again and sets
# port_conflict=1 when a server's log says its address was in use.
start_once() {
  port_conflict=0
  local faketime_lib
  faketime_lib=$(faketime_library)
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/netmon-integration.XXXXXX")
  mkdir -p "$dir/tls"
  local http_port https_port dns_port ntp_port ntp_ahead_port
  http_port=$(pick_port)
  https_port=$(pick_port "$http_port")
  dns_port=$(pick_port "$http_port" "$https_port")
  ntp_port=$(pick_port "$http_port" "$https_port" "$dns_port")
  ntp_ahead_port=$(pick_port "$http_port" "$https_port" "$dns_port" "$ntp_port")

  write_certificate "$dir"
  local nginx_pid knot_pid chrony_pid chrony_ahead_pid
  nginx_pid=$(start_nginx "$dir" "$http_port" "$https_port")
  knot_pid=$(start_knot "$dir" "$dns_port")
  chrony_pid=$(start_chrony "$dir" "$ntp_port" chrony)
  chrony_ahead_pid=$(start_chrony "$dir" "$ntp_ahead_port" chrony-ahead \
    LD_PRELOAD="$faketime_lib" FAKETIME="+${kNtpAheadSeconds}s" FAKETIME_DONT_RESET=1)
  # Written before waiting, so `stop` cleans up even when a server fails to start.
  cat >"$env_file" <<EOF
NETMON_TMP_DIR=$dir
NETMON_HTTP_PORT=$http_port
NETMON_HTTPS_PORT=$https_port
NETMON_DNS_PORT=$dns_port
NETMON_NTP_PORT=$ntp_port
NETMON_NTP_AHEAD_PORT=$ntp_ahead_port
NETMON_NTP_AHEAD_SECONDS=$kNtpAheadSeconds
NETMON_CA_FILE=$dir/tls/cert.pem
NGINX_PID=$nginx_pid
KNOT_PID=$knot_pid
CHRONY_PID=$chrony_pid
CHRONY_AHEAD_PID=$chrony_ahead_pid
EOF

  local ok=1
  wait_ready nginx nginx "$nginx_pid" "$dir/nginx/error.log" \
    curl -s -f -o /dev/null --max-time 1 "http://127.0.0.1:$http_port/ok" || ok=0
  wait_ready "nginx (https)" nginx "$nginx_pid" "$dir/nginx/error.log" tcp_open "$https_port" || ok=0
  wait_ready knotd knotd "$knot_pid" "$dir/knot/knotd.log" dns_ready "$dns_port" || ok=0
  wait_ready chronyd chronyd "$chrony_pid" "$dir/chrony/chronyd.log" ntp_ready "$ntp_port" 0 ||
    ok=0
  wait_ready "chronyd (ahead)" chronyd "$chrony_ahead_pid" "$dir/chrony-ahead/chronyd.log" \
    ntp_ready "$ntp_ahead_port" "$kNtpAheadSeconds" || ok=0
  if [ "$ok" != 1 ]; then
    grep -qiE "$kBindFailure" "$dir"/*/*.log 2>/dev/null && port_conflict=1
    do_stop
    return 1
  fi
  echo "servers.sh: nginx http=$http_port https=$https_port (pid $nginx_pid)," \
    "knotd dns=$dns_port (pid $knot_pid), chronyd ntp=$ntp_port (pid $chrony_pid)," \
    "ntp+${kNtpAheadSeconds}s=$ntp_ahead_port (pid $chrony_ahead_pid); state $dir"
}

case "$action" in
  start) do_start ;;
  stop) do_stop ;;
  *) usage ;;
esac
