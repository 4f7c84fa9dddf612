#pragma once
// The binaries tests/CMakeLists.txt builds next to the cluster tests. Their
// paths are compile definitions, and one that is missing stops the build: no
// process test can find a binary absent at run time.

#include "tests/support/process_cluster.hpp"

#ifndef NETMON_MANAGER_BINARY
#error "tests/CMakeLists.txt must define NETMON_MANAGER_BINARY for the cluster tests"
#endif
#ifndef NETMON_MONITOR_BINARY
#error "tests/CMakeLists.txt must define NETMON_MONITOR_BINARY for the cluster tests"
#endif
#ifndef NETMON_BROKER_BINARY
#error "tests/CMakeLists.txt must define NETMON_BROKER_BINARY for the cluster tests"
#endif
#ifndef NETMON_LOGGER_BINARY
#error "tests/CMakeLists.txt must define NETMON_LOGGER_BINARY for the cluster tests"
#endif

namespace netmon::cluster {

inline Binaries built_binaries() {
  return {NETMON_MANAGER_BINARY, NETMON_MONITOR_BINARY, NETMON_BROKER_BINARY, NETMON_LOGGER_BINARY};
}

}  // namespace netmon::cluster
