// What the traceroute parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

std::string rejection(const ParamMap& params) {
  auto result = checks::validate_check(make_spec("traceroute", params));
  return result ? std::string("(accepted)") : result.error().message;
}

TEST(TracerouteParams, RequiresHost) {
  EXPECT_EQ(rejection({}), "check 't': host is required (a host name or IP address)");
}

TEST(TracerouteParams, RejectsMaxHopsOutOfRange) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"max_hops", "0"}}),
            "check 't': max_hops 0 out of range 1..64");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"max_hops", "65"}}),
            "check 't': max_hops 65 out of range 1..64");
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"max_hops", "many"}}),
            "check 't': max_hops 'many' is not a whole number (allowed: 1..64)");
}

TEST(TracerouteParams, RejectsProbesPerHopOutOfRange) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"probes_per_hop", "6"}}),
            "check 't': probes_per_hop 6 out of range 1..5");
}

TEST(TracerouteParams, RejectsAddressOfTheOtherFamily) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"family", "ipv6"}}),
            "check 't': host '127.0.0.1' is not an IPv6 address (family ipv6)");
}

TEST(TracerouteParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"host", "127.0.0.1"}, {"count", "3"}}),
            "check 't': unknown parameter 'count' for type 'traceroute' (allowed: family, host, "
            "max_hops, probes_per_hop)");
}

}  // namespace
}  // namespace netmon
