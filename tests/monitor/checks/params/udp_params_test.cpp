// What the udp parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using namespace std::chrono_literals;
using testing::make_spec;

std::string rejection(ParamMap params, std::chrono::milliseconds timeout = 2s) {
  auto result = checks::validate_check(make_spec("udp", std::move(params), timeout));
  return result ? "(accepted)" : result.error().message;
}

TEST(UdpParams, RequiresHost) {
  EXPECT_EQ(rejection({{"port", "53"}}), "check 't': host is required (a host name or IP address)");
}

TEST(UdpParams, RequiresPort) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}}), "check 't': port is required (1..65535)");
}

TEST(UdpParams, RejectsPortOutOfRange) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "70000"}}),
            "check 't': port 70000 out of range 1..65535");
}

TEST(UdpParams, RejectsPayloadWithUnknownEscape) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"payload", "a\\qb"}}),
            "check 't': payload has unknown escape '\\q' (allowed: \\r \\n \\t \\0 \\\\ \\xHH)");
}

TEST(UdpParams, RejectsWaitThatIsNotADuration) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"wait", "soon"}}),
            "check 't': wait 'soon' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, 1d)");
}

TEST(UdpParams, RejectsWaitNotShorterThanTimeout) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"wait", "2s"}}, 2s),
            "check 't': wait 2s must be shorter than the timeout 2s (default: 80% of the "
            "timeout)");
}

TEST(UdpParams, RejectsZeroWait) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"wait", "0ms"}}),
            "check 't': wait 0ms must be positive (default: 80% of the timeout)");
}

TEST(UdpParams, RejectsUnknownSuccessState) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"success", "open,filtered"}}),
            "check 't': success 'filtered' is not allowed (allowed: open, closed, "
            "open_or_filtered)");
}

TEST(UdpParams, RejectsEmptySuccessList) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"success", ""}}),
            "check 't': success must name at least one state (allowed: open, closed, "
            "open_or_filtered)");
}

TEST(UdpParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"port", "53"}, {"send", "x"}}),
            "check 't': unknown parameter 'send' for type 'udp' (allowed: expect, host, payload, "
            "port, success, wait)");
}

}  // namespace
}  // namespace netmon
