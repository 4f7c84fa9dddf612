// What the tcp parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

TEST(TcpParams, RequiresHostAndPort) {
  auto missing_port = checks::validate_check(make_spec("tcp", {{"host", "127.0.0.1"}}));
  ASSERT_FALSE(missing_port);
  EXPECT_EQ(missing_port.error().message, "check 't': port is required (1..65535)");
}

TEST(TcpParams, RejectsPortOutOfRange) {
  auto result =
      checks::validate_check(make_spec("tcp", {{"host", "127.0.0.1"}, {"port", "70000"}}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "check 't': port 70000 out of range 1..65535");
}

TEST(TcpParams, RejectsUnknownParameter) {
  auto result = checks::validate_check(
      make_spec("tcp", {{"host", "127.0.0.1"}, {"port", "80"}, {"banner", "x"}}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "check 't': unknown parameter 'banner' for type 'tcp' (allowed: expect, host, port, "
            "send)");
}

}  // namespace
}  // namespace netmon
