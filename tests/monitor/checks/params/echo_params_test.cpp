// What the echo parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

std::string error_of(const CheckSpec& spec) {
  auto valid = checks::validate_check(spec);
  return valid ? std::string("(accepted)") : valid.error().message;
}

TEST(EchoParams, RequiresHostAndPort) {
  EXPECT_EQ(error_of(make_spec("tcp_echo", {{"port", "7"}})),
            "check 't': host is required (a host name or IP address)");
  EXPECT_EQ(error_of(make_spec("udp_echo", {{"host", "127.0.0.1"}})),
            "check 't': port is required (1..65535)");
}

TEST(EchoParams, RejectsInvalidHostAndPort) {
  EXPECT_EQ(error_of(make_spec("tcp_echo", {{"host", "bad host"}, {"port", "7"}})),
            "check 't': host 'bad host' is not a valid host name or IP address");
  EXPECT_EQ(error_of(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", "0"}})),
            "check 't': port 0 out of range 1..65535");
  EXPECT_EQ(error_of(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", "echo"}})),
            "check 't': port 'echo' is not a whole number (allowed: 1..65535)");
}

TEST(EchoParams, RejectsUnknownParameterListingTheAllowedOnes) {
  EXPECT_EQ(
      error_of(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", "7"}, {"expect", "x"}})),
      "check 't': unknown parameter 'expect' for type 'tcp_echo' (allowed: host, payload, port)");
  EXPECT_EQ(
      error_of(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", "7"}, {"size", "9"}})),
      "check 't': unknown parameter 'size' for type 'udp_echo' (allowed: host, payload, port)");
}

TEST(EchoParams, RejectsEmptyPayload) {
  EXPECT_EQ(
      error_of(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", ""}})),
      "check 't': payload must not be empty (leave it out to send a generated sentence)");
}

TEST(EchoParams, RejectsBadEscapeInPayload) {
  EXPECT_EQ(
      error_of(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", "a\\qb"}})),
      "check 't': payload has unknown escape '\\q' (allowed: \\r \\n \\t \\0 \\\\ \\xHH)");
}

TEST(EchoParams, RejectsPayloadLargerThanOneDatagramOrOneMebibyte) {
  EXPECT_EQ(error_of(make_spec(
                "udp_echo",
                {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", std::string(65508, 'x')}})),
            "check 't': payload of 65508 bytes is too long (allowed: 1..65507 bytes for "
            "udp_echo)");
  EXPECT_EQ(error_of(make_spec(
                "tcp_echo",
                {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", std::string(1048577, 'x')}})),
            "check 't': payload of 1048577 bytes is too long (allowed: 1..1048576 bytes for "
            "tcp_echo)");
  EXPECT_EQ(error_of(make_spec(
                "udp_echo",
                {{"host", "127.0.0.1"}, {"port", "7"}, {"payload", std::string(65507, 'x')}})),
            "(accepted)");
}

}  // namespace
}  // namespace netmon
