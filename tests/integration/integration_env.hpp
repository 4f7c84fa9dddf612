#pragma once
// The integration tier's view of the real servers (tests/integration/servers.sh)
// and of the reference tools (curl, openssl, kdig, python3-ntplib) it compares
// netmon's answers with.
//
// Under ctest the servers are started by the fixture test
// `integration.servers.start`, which writes $NETMON_INTEGRATION_STATE/servers.env.
// Run directly (no NETMON_INTEGRATION_STATE), the binary starts and stops the
// servers itself. NETMON_SKIP_INTEGRATION=1 skips every test with that reason;
// anything else that keeps the servers from answering fails the tests.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace netmon::integration {

struct Servers {
  std::string skip_reason;  // non-empty: NETMON_SKIP_INTEGRATION=1
  std::string error;        // non-empty: the servers are not available (fail)
  std::string http_port;
  std::string https_port;
  std::string dns_port;
  std::string ntp_port;
  std::string ntp_ahead_port;  // a second chronyd whose clock runs ahead (libfaketime)
  int ntp_ahead_seconds = 0;
  std::string ca_file;  // the self-signed certificate nginx serves
};

// Loaded once per process.
const Servers& servers();

// Skips (NETMON_SKIP_INTEGRATION=1) or fails (servers unavailable) the current
// test; use at the top of every test.
#define NETMON_REQUIRE_SERVERS()                                         \
  do {                                                                   \
    const auto& netmon_servers_ = ::netmon::integration::servers();      \
    if (!netmon_servers_.skip_reason.empty()) {                          \
      GTEST_SKIP() << netmon_servers_.skip_reason;                       \
    }                                                                    \
    ASSERT_TRUE(netmon_servers_.error.empty()) << netmon_servers_.error; \
  } while (false)

struct ToolOutput {
  int exit_code = -1;  // -1: could not run or killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (looked up in PATH) with the given arguments, no shell, and
// returns its output. Every tool call passes its own timeout option.
ToolOutput run_tool(const std::vector<std::string>& argv);

// Splits on '\n', drops empty lines and trailing '\r'.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace netmon::integration
