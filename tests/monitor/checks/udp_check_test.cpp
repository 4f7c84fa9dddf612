#include <gtest/gtest.h>

#include <array>
#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <vector>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using namespace std::chrono_literals;
using testing::make_spec;
using testing::ProbeHarness;

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

// Answers every datagram with `reply` (nothing when it is empty) and keeps what it got.
class Responder {
 public:
  Responder(asio::io_context& io, std::optional<std::string> reply,
            asio::ip::address address = kLoopback)
      : socket_(io, {address, 0}), reply_(std::move(reply)) {
    receive();
  }
  std::string port() const { return std::to_string(socket_.local_endpoint().port()); }
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), peer_,
                               [this](const std::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 requests_.emplace_back(buffer_.data(), n);
                                 if (reply_) socket_.send_to(asio::buffer(*reply_), peer_);
                                 receive();
                               });
  }

  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  std::array<char, 2048> buffer_{};
  std::optional<std::string> reply_;
  std::vector<std::string> requests_;
};

// A port on 127.0.0.1 that nothing is bound to: below the ephemeral range,
// so no port-0 bind of a test running beside this one can take it meanwhile.
std::string closed_port() {
  return std::to_string(netmon::testing::free_udp_port());
}

CheckSpec udp_spec(const std::string& port, ParamMap extra = {},
                   std::chrono::milliseconds timeout = 2s) {
  extra.emplace("host", "127.0.0.1");
  extra.emplace("port", port);
  return make_spec("udp", std::move(extra), timeout);
}

// ---- validation ----

TEST(UdpCheck, AcceptsSuccessAsList) {
  auto prepared = checks::prepare_check(
      make_spec("udp", {{"host", "127.0.0.1"},
                        {"port", "53"},
                        {"success", std::vector<std::string>{"closed", "open_or_filtered"}}}));
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->check->target(), "127.0.0.1:53");
}

// ---- probes against loopback ----

TEST(UdpCheck, ReportsOpenWhenServerReplies) {
  ProbeHarness harness;
  Responder responder(harness.io(), std::string("pong"));
  const CheckResult result = harness.run(udp_spec(responder.port(), {{"payload", "ping\\x00\\n"}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["state"], "open");
  EXPECT_EQ(result.details["received_bytes"], 4);
  EXPECT_TRUE(result.timings.first_byte.has_value());
  ASSERT_EQ(responder.requests().size(), 1u);
  EXPECT_EQ(responder.requests().front(), std::string("ping\0\n", 6));
}

TEST(UdpCheck, SendsEmptyDatagramByDefaultAndCountsEmptyReplyAsOpen) {
  ProbeHarness harness;
  Responder responder(harness.io(), std::string());
  const CheckResult result = harness.run(udp_spec(responder.port()));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["state"], "open");
  ASSERT_EQ(responder.requests().size(), 1u);
  EXPECT_EQ(responder.requests().front(), "");
}

TEST(UdpCheck, ReportsClosedAsDownByDefault) {
  ProbeHarness harness;
  const CheckResult result = harness.run(udp_spec(closed_port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "port_closed");
  EXPECT_EQ(result.details["state"], "closed");
  EXPECT_LT(result.timings.total, 1s) << "ICMP unreachable decides without waiting";
}

TEST(UdpCheck, CountsClosedAsUpWhenSuccessSaysSo) {
  ProbeHarness harness;
  const CheckResult result = harness.run(udp_spec(closed_port(), {{"success", "closed"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["state"], "closed");
}

TEST(UdpCheck, CountsSilenceAsOpenOrFilteredAfterDefaultWait) {
  ProbeHarness harness;
  Responder silent(harness.io(), std::nullopt);
  const CheckResult result = harness.run(udp_spec(silent.port(), {}, 500ms));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["state"], "open_or_filtered");
  // The default wait is 80% of the 500ms timeout.
  EXPECT_GE(result.timings.total, 400ms);
  EXPECT_LT(result.timings.total, 500ms);
  EXPECT_EQ(silent.requests().size(), 1u);
}

TEST(UdpCheck, HonoursWaitParameter) {
  ProbeHarness harness;
  Responder silent(harness.io(), std::nullopt);
  const CheckResult result = harness.run(udp_spec(silent.port(), {{"wait", "100ms"}}, 2s));
  EXPECT_EQ(result.details["state"], "open_or_filtered");
  EXPECT_GE(result.timings.total, 100ms);
  EXPECT_LT(result.timings.total, 1s);
}

TEST(UdpCheck, ReportsOpenOrFilteredAsDownWhenOnlyOpenCountsAsSuccess) {
  ProbeHarness harness;
  Responder silent(harness.io(), std::nullopt);
  const CheckResult result =
      harness.run(udp_spec(silent.port(), {{"wait", "100ms"}, {"success", "open"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "open_or_filtered");
  EXPECT_EQ(result.error,
            "no reply and no ICMP error within wait 100ms (open or filtered); success is: open");
}

TEST(UdpCheck, ReportsPortOpenAsDownWhenOnlyClosedCountsAsSuccess) {
  ProbeHarness harness;
  Responder responder(harness.io(), std::string("hi"));
  const CheckResult result = harness.run(udp_spec(responder.port(), {{"success", "closed"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "port_open");
  EXPECT_EQ(result.details["state"], "open");
}

TEST(UdpCheck, FindsExpectedSubstringInReply) {
  ProbeHarness harness;
  Responder responder(harness.io(), std::string("\x01\x02status=ready\r\n"));
  const CheckResult result =
      harness.run(udp_spec(responder.port(), {{"payload", "STATUS"}, {"expect", "ready\\r"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
}

TEST(UdpCheck, ReportsReplyMismatchOnGarbageReply) {
  ProbeHarness harness;
  Responder responder(harness.io(), std::string("\x01\xffgarbage", 9));
  const CheckResult result = harness.run(udp_spec(responder.port(), {{"expect", "ready"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "reply_mismatch");
  EXPECT_EQ(result.details["state"], "open");
  EXPECT_EQ(result.details["received"], "\\x01\\xffgarbage");
  EXPECT_EQ(result.error, "expected 'ready' in the reply but got '\\x01\\xffgarbage' (9 bytes)");
  EXPECT_NO_THROW((void)to_json(result).dump());
}

TEST(UdpCheck, WorksOverIpv6Loopback) {
  ProbeHarness harness;
  std::error_code ec;
  asio::ip::udp::socket probe(harness.io());
  probe.open(asio::ip::udp::v6(), ec);
  if (!ec) probe.bind({asio::ip::make_address("::1"), 0}, ec);
  if (ec) GTEST_FAIL() << "no IPv6 loopback: " << ec.message();
  probe.close();
  Responder responder(harness.io(), std::string("pong"), asio::ip::make_address("::1"));
  const CheckResult result = harness.run(
      make_spec("udp", {{"host", "::1"}, {"port", responder.port()}, {"payload", "ping"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["state"], "open");
}

}  // namespace
}  // namespace netmon
