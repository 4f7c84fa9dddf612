// tcp_echo and udp_echo checks against the real EchoServer: the pair the demo
// and the benchmark run.

#include <gtest/gtest.h>

#include "echo/echo_server.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon::echo {
namespace {

using netmon::testing::make_spec;
using netmon::testing::ProbeHarness;

EchoServerOptions options_on(const std::string& address) {
  EchoServerOptions options;
  options.tcp = asio::ip::tcp::endpoint(asio::ip::make_address(address), 0);
  options.udp = asio::ip::udp::endpoint(asio::ip::make_address(address), 0);
  return options;
}

TEST(EchoServerChecks, TcpEchoAndUdpEchoAreUpWithMatch) {
  ProbeHarness harness;
  EchoServer server(harness.io(), options_on("127.0.0.1"));
  const CheckResult tcp =
      harness.run(make_spec("tcp_echo", {{"host", "127.0.0.1"},
                                         {"port", std::to_string(server.tcp_endpoint()->port())}}));
  EXPECT_EQ(tcp.status, CheckStatus::kUp) << tcp.error;
  EXPECT_EQ(tcp.details["match"], true);
  const CheckResult udp =
      harness.run(make_spec("udp_echo", {{"host", "127.0.0.1"},
                                         {"port", std::to_string(server.udp_endpoint()->port())}}));
  EXPECT_EQ(udp.status, CheckStatus::kUp) << udp.error;
  EXPECT_EQ(udp.details["match"], true);
  EXPECT_EQ(server.stats().datagrams, 1u);
  EXPECT_EQ(server.stats().tcp_bytes, tcp.details["sent_bytes"]);
}

TEST(EchoServerChecks, LargestPayloadsComeBackIntact) {
  ProbeHarness harness;
  EchoServer server(harness.io(), options_on("127.0.0.1"));
  const CheckResult tcp =
      harness.run(make_spec("tcp_echo", {{"host", "127.0.0.1"},
                                         {"port", std::to_string(server.tcp_endpoint()->port())},
                                         {"payload", std::string(1024 * 1024, 'e')}}));
  EXPECT_EQ(tcp.status, CheckStatus::kUp) << tcp.error;
  const CheckResult udp =
      harness.run(make_spec("udp_echo", {{"host", "127.0.0.1"},
                                         {"port", std::to_string(server.udp_endpoint()->port())},
                                         {"payload", std::string(65507, 'u')}}));
  EXPECT_EQ(udp.status, CheckStatus::kUp) << udp.error;
  EXPECT_EQ(udp.details["received_bytes"], 65507);
}

TEST(EchoServerChecks, WorkOverIpv6Loopback) {
  ProbeHarness harness;
  std::unique_ptr<EchoServer> server;
  try {
    server = std::make_unique<EchoServer>(harness.io(), options_on("::1"));
  } catch (const std::system_error& error) {
    GTEST_FAIL() << "no IPv6 loopback here: " << error.what();
  }
  const std::string tcp_port = std::to_string(server->tcp_endpoint()->port());
  const CheckResult tcp = harness.run(make_spec("tcp_echo", {{"host", "::1"}, {"port", tcp_port}}));
  EXPECT_EQ(tcp.status, CheckStatus::kUp) << tcp.error;
  EXPECT_EQ(tcp.target, "[::1]:" + tcp_port);
  const CheckResult udp = harness.run(make_spec(
      "udp_echo", {{"host", "::1"}, {"port", std::to_string(server->udp_endpoint()->port())}}));
  EXPECT_EQ(udp.status, CheckStatus::kUp) << udp.error;
}

TEST(EchoServerChecks, ManyConcurrentUdpEchoChecksAreAllUp) {
  ProbeHarness harness;
  EchoServer server(harness.io(), options_on("127.0.0.1"));
  auto prepared = checks::prepare_check(
      make_spec("udp_echo",
                {{"host", "127.0.0.1"}, {"port", std::to_string(server.udp_endpoint()->port())}}));
  ASSERT_TRUE(prepared) << prepared.error().message;
  checks::CheckRunner runner(harness.env());
  constexpr int kChecks = 200;
  int up = 0;
  int finished = 0;
  for (int i = 0; i < kChecks; ++i) {
    runner.run(*prepared, [&](CheckResult result) {
      ++finished;
      if (result.status == CheckStatus::kUp) ++up;
    });
  }
  ASSERT_TRUE(harness.run_until([&] { return finished == kChecks; }));
  EXPECT_EQ(up, kChecks);
  EXPECT_EQ(server.stats().datagrams, static_cast<std::uint64_t>(kChecks));
}

}  // namespace
}  // namespace netmon::echo
