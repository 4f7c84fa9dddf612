#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;
using testing::ProbeHarness;

std::string port_of(const asio::ip::tcp::acceptor& acceptor) {
  return std::to_string(acceptor.local_endpoint().port());
}

// A port on 127.0.0.1 that nothing listens on: below the ephemeral range,
// so no port-0 bind of a test running beside this one can take it meanwhile.
std::string closed_port() {
  return std::to_string(netmon::testing::free_tcp_port());
}

TEST(TcpCheck, ReportsUpWhenPortAccepts) {
  ProbeHarness harness;
  asio::ip::tcp::acceptor acceptor(harness.io(), {asio::ip::make_address("127.0.0.1"), 0});
  const CheckResult result =
      harness.run(make_spec("tcp", {{"host", "127.0.0.1"}, {"port", port_of(acceptor)}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.target, "127.0.0.1:" + port_of(acceptor));
  ASSERT_TRUE(result.timings.connect.has_value());
  EXPECT_LE(*result.timings.connect, result.timings.total);
}

TEST(TcpCheck, ReportsDownWhenConnectionRefused) {
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("tcp", {{"host", "127.0.0.1"}, {"port", closed_port()}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connect_refused");
}

// Serves one connection: reads `expect_in` bytes, then writes `reply` in two parts.
class BannerServer {
 public:
  BannerServer(asio::io_context& io, std::string reply)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}),
        socket_(io),
        reply_(std::move(reply)) {
    acceptor_.async_accept(socket_, [this](const std::error_code& ec) {
      if (ec) return;
      asio::async_read(socket_, asio::buffer(request_),
                       [this](const std::error_code& e, std::size_t) {
                         if (e) return;
                         // Split the reply: the check must handle partial reads.
                         asio::write(socket_, asio::buffer(reply_.substr(0, reply_.size() / 2)));
                         asio::write(socket_, asio::buffer(reply_.substr(reply_.size() / 2)));
                         socket_.shutdown(asio::ip::tcp::socket::shutdown_send);
                       });
    });
  }
  std::string port() const { return port_of(acceptor_); }
  std::string request() const { return std::string(request_.data(), request_.size()); }

 private:
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket socket_;
  std::array<char, 6> request_{};
  std::string reply_;
};

TEST(TcpCheck, SendsPayloadAndFindsExpectedBannerAcrossPartialReads) {
  ProbeHarness harness;
  BannerServer server(harness.io(), "+PONG from the server\r\n");
  const CheckResult result = harness.run(make_spec("tcp", {{"host", "127.0.0.1"},
                                                           {"port", server.port()},
                                                           {"send", "PING\\r\\n"},
                                                           {"expect", "from the server"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(server.request(), "PING\r\n");
  EXPECT_TRUE(result.timings.first_byte.has_value());
}

TEST(TcpCheck, ReportsBannerMismatchOnGarbageReply) {
  ProbeHarness harness;
  BannerServer server(harness.io(), "\x01\x02garbage");
  const CheckResult result = harness.run(make_spec("tcp", {{"host", "127.0.0.1"},
                                                           {"port", server.port()},
                                                           {"send", "HELLO\\n"},
                                                           {"expect", "SSH-2.0"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "banner_mismatch");
}

TEST(TcpCheck, EscapesNonUtf8BannerSoTheResultExportsAsJson) {
  ProbeHarness harness;
  BannerServer server(harness.io(), "\xff\xfe garbage");
  const CheckResult result = harness.run(make_spec("tcp", {{"host", "127.0.0.1"},
                                                           {"port", server.port()},
                                                           {"send", "HELLO\\n"},
                                                           {"expect", "SSH-2.0"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "banner_mismatch");
  EXPECT_EQ(result.details["received"], "\\xff\\xfe garbage");
  EXPECT_NO_THROW((void)to_json(result).dump());
}

TEST(TcpCheck, TimesOutWhenBannerNeverComes) {
  ProbeHarness harness;
  asio::ip::tcp::acceptor acceptor(harness.io(), {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket held(harness.io());
  acceptor.async_accept(held, [](const std::error_code&) {});
  const CheckResult result = harness.run(
      make_spec("tcp", {{"host", "127.0.0.1"}, {"port", port_of(acceptor)}, {"expect", "OK"}},
                std::chrono::milliseconds(300)));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_TRUE(result.timings.connect.has_value());
  EXPECT_NE(result.error.find("last phase reached: connect"), std::string::npos) << result.error;
}

}  // namespace
}  // namespace netmon
