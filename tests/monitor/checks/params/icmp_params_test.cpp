// What the icmp parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using namespace std::chrono_literals;
using testing::make_spec;

std::string rejection(const ParamMap& params,
                      std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  auto result = checks::validate_check(make_spec("icmp", params, timeout));
  return result ? std::string("(accepted)") : result.error().message;
}

TEST(IcmpParams, RequiresHost) {
  EXPECT_EQ(rejection({}), "check 't': host is required (a host name or IP address)");
}

TEST(IcmpParams, RejectsInvalidHost) {
  EXPECT_EQ(rejection({{"host", "bad host!"}}),
            "check 't': host 'bad host!' is not a valid host name or IP address");
}

TEST(IcmpParams, RejectsCountOutOfRange) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"count", "0"}}),
            "check 't': count 0 out of range 1..100");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"count", "101"}}),
            "check 't': count 101 out of range 1..100");
}

TEST(IcmpParams, RejectsSizeOutOfRange) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"size", "65001"}}),
            "check 't': size 65001 out of range 0..65000");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"size", "-1"}}),
            "check 't': size -1 out of range 0..65000");
}

TEST(IcmpParams, RejectsUnknownFamily) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"family", "ipv5"}}),
            "check 't': family 'ipv5' is not allowed (allowed: any, ipv4, ipv6)");
}

TEST(IcmpParams, RejectsAddressOfTheOtherFamily) {
  EXPECT_EQ(rejection({{"host", "::1"}, {"family", "ipv4"}}),
            "check 't': host '::1' is not an IPv4 address (family ipv4)");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"family", "ipv6"}}),
            "check 't': host '127.0.0.1' is not an IPv6 address (family ipv6)");
}

TEST(IcmpParams, RejectsMaxLossOutOfRangeOrNotANumber) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"max_loss_pct", "150"}}),
            "check 't': max_loss_pct 150 out of range 0..100");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"max_loss_pct", "half"}}),
            "check 't': max_loss_pct 'half' is not a number (allowed: 0..100)");
}

TEST(IcmpParams, RejectsSpacingThatIsNotADuration) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"spacing", "fast"}}),
            "check 't': spacing 'fast' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, 1d)");
}

TEST(IcmpParams, RejectsEchoesThatDoNotFitInTheTimeout) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"count", "10"}, {"spacing", "1s"}}),
            "check 't': spacing 1s x count 10 = 10s does not fit in the timeout: it must stay "
            "below 90% of timeout 3s (2700ms)");
  // The default spacing (10ms) x the maximum count fits the default timeout.
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"count", "100"}}), "(accepted)");
}

TEST(IcmpParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"ttl", "3"}}),
            "check 't': unknown parameter 'ttl' for type 'icmp' (allowed: count, family, host, "
            "max_loss_pct, size, spacing)");
}

}  // namespace
}  // namespace netmon
