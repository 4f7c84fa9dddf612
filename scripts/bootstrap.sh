#!/usr/bin/env bash
# Installs the Debian packages netmon's build and tests need (only those that
# are missing; we run as root), then configures a CMake build directory.
#
#   scripts/bootstrap.sh [release|asan]     default: release -> build/release
#   NETMON_NO_INSTALL=1 skips the package step (for machines you manage yourself).
set -euo pipefail

cd "$(dirname "$0")/.."
flavor=${1:-release}

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang-format
  # libraries
  libasio-dev libcli11-dev libcurl4-openssl-dev libldns-dev libmsgpack-cxx-dev
  libspdlog-dev libsqlite3-dev libssl-dev libyaml-cpp-dev nlohmann-json3-dev
  libzmq3-dev cppzmq-dev zlib1g-dev libedit-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real third-party servers and reference clients for the integration tier
  nginx-light knot knot-dnsutils chrony curl openssl python3 python3-ntplib socat
  libfaketime iproute2 procps
)

install_missing() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing ${missing[*]}"
  # Servers we install are started by our tests on high ports, never as system
  # services: keep dpkg from starting nginx/knot/chrony on port 80/53/123.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$added_policy" = 1 ] && rm -f "$policy"
  return 0
}

if [ "${NETMON_NO_INSTALL:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    install_missing
  else
    echo "bootstrap: not root, skipping package installation" >&2
  fi
fi

case "$flavor" in
  release) options=(-DCMAKE_BUILD_TYPE=Release) ;;
  # -O0 -g1: ASan+UBSan at -O2 -g compiled three times slower, and the suite
  # mostly waits on sockets and timers; -g1 keeps file:line in the reports.
  asan) options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1 -DNDEBUG"
                 -DNETMON_SANITIZE=ON -DNETMON_BUILD_BENCH=OFF -DNETMON_PCH=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
launcher=()
# Precompiled headers are cached only when ccache is told the .gch may stand
# in for the header (pch_defines, time_macros), as its manual says.
command -v ccache >/dev/null &&
  launcher=("-DCMAKE_CXX_COMPILER_LAUNCHER=/usr/bin/env;CCACHE_SLOPPINESS=pch_defines,time_macros;ccache")
cmake -S . -B "build/$flavor" -G Ninja "${options[@]}" "${launcher[@]}" >/dev/null
echo "bootstrap: configured build/$flavor"
