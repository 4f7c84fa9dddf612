// What the ntp parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

std::string rejection(ParamMap params) {
  auto result = checks::validate_check(make_spec("ntp", std::move(params)));
  return result ? "(accepted)" : result.error().message;
}

TEST(NtpParams, RequiresServer) {
  EXPECT_EQ(rejection({}), "check 't': server is required (a host name or IP address)");
}

TEST(NtpParams, RejectsInvalidServerName) {
  EXPECT_EQ(rejection({{"server", "bad host!"}}),
            "check 't': server 'bad host!' is not a valid host name or IP address");
}

TEST(NtpParams, RejectsPortOutOfRange) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"port", "0"}}),
            "check 't': port 0 out of range 1..65535");
}

TEST(NtpParams, RejectsZeroMaxOffset) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"max_offset_ms", "0"}}),
            "check 't': max_offset_ms 0 out of range 1..86400000");
}

TEST(NtpParams, RejectsMaxOffsetThatIsNotAWholeNumber) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"max_offset_ms", "fast"}}),
            "check 't': max_offset_ms 'fast' is not a whole number (allowed: 1..86400000)");
}

TEST(NtpParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"host", "x"}}),
            "check 't': unknown parameter 'host' for type 'ntp' (allowed: max_offset_ms, port, "
            "server)");
}

}  // namespace
}  // namespace netmon
