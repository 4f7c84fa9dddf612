#include "monitor/checks/params/check_params.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

TEST(CheckParams, ListsTheTypesOfTheMonitorsRegistryInItsOrder) {
  std::vector<std::string_view> validated;
  for (const checks::CheckParamsType& type : checks::check_params_types())
    validated.push_back(type.name);
  std::vector<std::string_view> runnable;
  for (const checks::CheckType& type : checks::check_types())
    runnable.push_back(type.name);
  EXPECT_EQ(validated, runnable);
}

TEST(CheckParams, AcceptsAValidCheckOfEveryType) {
  const std::vector<CheckSpec> specs = {
      make_spec("http", {{"url", "http://127.0.0.1:8080/"}}),
      make_spec("https", {{"url", "https://example.test/"}}),
      make_spec("icmp", {{"host", "127.0.0.1"}}),
      make_spec("traceroute", {{"host", "::1"}, {"family", "ipv6"}}),
      make_spec("dns", {{"server", "127.0.0.1"}, {"name", "example.test"}}),
      make_spec("ntp", {{"server", "127.0.0.1"}}),
      make_spec("tcp", {{"host", "127.0.0.1"}, {"port", "80"}}),
      make_spec("udp", {{"host", "127.0.0.1"}, {"port", "53"}}),
      make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", "7"}}),
      make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", "7"}}),
  };
  ASSERT_EQ(specs.size(), checks::check_params_types().size());
  for (const CheckSpec& spec : specs) {
    auto valid = checks::validate_check(spec);
    EXPECT_TRUE(valid) << spec.type << ": " << (valid ? "" : valid.error().message);
    EXPECT_TRUE(checks::prepare_check(spec)) << spec.type;
  }
}

// The manager validates with validate_check and the monitor with
// prepare_check: the same spec must get the same verdict and text from both.
TEST(CheckParams, RejectsWithTheTextOfPrepareCheck) {
  const std::vector<CheckSpec> specs = {
      make_spec("gopher", {{"host", "127.0.0.1"}}),
      make_spec("tcp", {{"host", "127.0.0.1"}, {"port", "70000"}}),
      make_spec("tcp", {{"host", "127.0.0.1"}, {"port", "80"}, {"colour", "blue"}}),
      make_spec("http", {{"url", "https://example.test/"}}),
      make_spec("http", {{"url", "http://example.test/"}, {"headers", "Bad Name: x"}}),
      make_spec("icmp", {{"host", "::1"}, {"family", "ipv4"}}),
      make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "100"}, {"spacing", "1s"}}),
      make_spec("traceroute", {{"host", "127.0.0.1"}, {"max_hops", "65"}}),
      make_spec("dns", {{"server", "127.0.0.1"}, {"name", "example.test"}, {"record", "HINFO"}}),
      make_spec("dns", {{"server", "127.0.0.1"}, {"name", "example.test"}, {"expect", "1.2.3"}}),
      make_spec("dns", {{"server", "127.0.0.1"},
                        {"name", "example.test"},
                        {"record", "AAAA"},
                        {"expect", "fe80::1%eth0"}}),
      make_spec("ntp", {{"server", "127.0.0.1"}, {"max_offset_ms", "0"}}),
      make_spec("udp", {{"host", "127.0.0.1"}, {"port", "53"}, {"success", "maybe"}}),
      make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", ""}}),
  };
  for (const CheckSpec& spec : specs) {
    auto valid = checks::validate_check(spec);
    auto prepared = checks::prepare_check(spec);
    ASSERT_FALSE(valid) << spec.type;
    ASSERT_FALSE(prepared) << spec.type;
    EXPECT_EQ(valid.error().message, prepared.error().message);
  }
}

TEST(CheckParams, CanonicalisesDnsAddressesAsInetNtopWritesThem) {
  auto valid = checks::validate_check(make_spec("dns", {{"server", "127.0.0.1"},
                                                        {"name", "example.test"},
                                                        {"record", "AAAA"},
                                                        {"expect", "2001:DB8:0:0::1"}}));
  EXPECT_TRUE(valid);
}

}  // namespace
}  // namespace netmon
