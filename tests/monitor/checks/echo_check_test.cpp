#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <memory>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/net_namespace.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using testing::make_spec;
using testing::ProbeHarness;

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

std::string port_of(const tcp::acceptor& acceptor) {
  return std::to_string(acceptor.local_endpoint().port());
}

// What a loopback TCP server does with the bytes it gets.
enum class TcpMode {
  kEcho,           // echo everything as it arrives
  kFlipByte,       // echo, but byte 5 of the stream comes back changed
  kHalfThenClose,  // echo the first half of `expect_bytes`, then close
  kHalvesApart,    // wait for `expect_bytes`, echo half, then the rest 50 ms later
  kSilent,         // read and never answer
};

class TcpServer {
 public:
  TcpServer(asio::io_context& io, TcpMode mode, std::size_t expect_bytes = 0)
      : io_(io), acceptor_(io, {kLoopback, 0}), mode_(mode), expect_bytes_(expect_bytes) {
    accept();
  }
  std::string port() const { return port_of(acceptor_); }
  const std::string& received() const { return received_; }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    std::array<char, 4096> chunk{};
    std::string pending;
  };

  void accept() {
    auto connection = std::make_shared<Connection>(io_);
    acceptor_.async_accept(connection->socket, [this, connection](const std::error_code& ec) {
      if (ec) return;
      read(connection);
      accept();
    });
  }

  void read(const std::shared_ptr<Connection>& c) {
    c->socket.async_read_some(asio::buffer(c->chunk),
                              [this, c](const std::error_code& ec, std::size_t n) {
                                if (ec) return;
                                on_bytes(c, std::string(c->chunk.data(), n));
                              });
  }

  void on_bytes(const std::shared_ptr<Connection>& c, std::string bytes) {
    const std::size_t offset = received_.size();
    received_ += bytes;
    switch (mode_) {
      case TcpMode::kEcho:
      case TcpMode::kFlipByte:
        if (mode_ == TcpMode::kFlipByte && offset <= 5 && 5 < received_.size()) {
          bytes[5 - offset] ^= 0x20;
        }
        // Read again only once the echo is out: the probe shares this thread.
        c->pending = std::move(bytes);
        asio::async_write(c->socket, asio::buffer(c->pending),
                          [this, c](const std::error_code& ec, std::size_t) {
                            if (!ec) read(c);
                          });
        return;
      case TcpMode::kHalfThenClose:
        if (received_.size() >= expect_bytes_) {
          asio::write(c->socket, asio::buffer(received_.substr(0, expect_bytes_ / 2)));
          c->socket.close();
          return;
        }
        break;
      case TcpMode::kHalvesApart:
        if (received_.size() >= expect_bytes_) {
          const std::size_t half = expect_bytes_ / 2;
          asio::write(c->socket, asio::buffer(received_.substr(0, half)));
          c->pending = received_.substr(half);
          c->timer.expires_after(std::chrono::milliseconds(50));
          c->timer.async_wait([c](const std::error_code& ec) {
            if (!ec) asio::write(c->socket, asio::buffer(c->pending));
          });
        }
        break;
      case TcpMode::kSilent:
        break;
    }
    read(c);
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  TcpMode mode_;
  std::size_t expect_bytes_;
  std::string received_;
};

enum class UdpMode { kEcho, kFlipByte, kAppendByte, kGarbage, kSilent };

class UdpServer {
 public:
  UdpServer(asio::io_context& io, UdpMode mode) : socket_(io, {kLoopback, 0}), mode_(mode) {
    receive();
  }
  std::string port() const { return std::to_string(socket_.local_endpoint().port()); }
  const std::vector<std::string>& received() const { return received_; }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), sender_,
                               [this](const std::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 std::string datagram(buffer_.data(), n);
                                 received_.push_back(datagram);
                                 reply(std::move(datagram));
                                 receive();
                               });
  }

  void reply(std::string datagram) {
    switch (mode_) {
      case UdpMode::kEcho:
        break;
      case UdpMode::kFlipByte:
        datagram[datagram.size() / 2] ^= 0x01;
        break;
      case UdpMode::kAppendByte:
        datagram += '!';
        break;
      case UdpMode::kGarbage:
        datagram = "\xff\xfe garbage";
        break;
      case UdpMode::kSilent:
        return;
    }
    socket_.send_to(asio::buffer(datagram), sender_);
  }

  udp::socket socket_;
  UdpMode mode_;
  std::array<char, 65536> buffer_{};
  udp::endpoint sender_;
  std::vector<std::string> received_;
};

// Lower-case words separated by single spaces, seven or more of them.
bool is_sentence(const std::string& text) {
  int words = 0;
  bool in_word = false;
  for (const char c : text) {
    if (c >= 'a' && c <= 'z') {
      if (!in_word) ++words;
      in_word = true;
    } else if (c == ' ' && in_word) {
      in_word = false;
    } else {
      return false;
    }
  }
  return in_word && words >= 7;
}

// ---- validation --------------------------------------------------------------

TEST(EchoCheck, NamesTheTargetAsHostAndPortWithIpv6InBrackets) {
  auto v4 = checks::prepare_check(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", "7"}}));
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_EQ(v4->check->target(), "127.0.0.1:7");
  auto v6 = checks::prepare_check(make_spec("udp_echo", {{"host", "::1"}, {"port", "7"}}));
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->check->target(), "[::1]:7");
}

TEST(EchoCheck, ReportsResolveFailedForANameNobodyKnows) {
  // Inside a namespace with only loopback no DNS server is reachable: the
  // lookup fails at once and nothing leaves the machine.
  auto ns = testing::NetNamespace::create("echo-resolve");
  if (!ns) GTEST_FAIL() << ns.error().message;
  testing::EnterNetNamespace inside(**ns);
  ASSERT_TRUE(inside.ok());
  ProbeHarness harness;
  for (const char* type : {"tcp_echo", "udp_echo"}) {
    const CheckResult result = harness.run(make_spec(
        type, {{"host", "no-such-host.invalid"}, {"port", "7"}}, std::chrono::seconds(5)));
    EXPECT_EQ(result.status, CheckStatus::kDown) << type << ": " << result.error;
    EXPECT_EQ(result.reason, "resolve_failed") << type;
    EXPECT_TRUE(result.timings.resolve.has_value()) << type;
  }
}

// ---- tcp_echo ----------------------------------------------------------------

TEST(TcpEchoCheck, ReportsUpWithMatchWhenTheGeneratedSentenceComesBack) {
  ProbeHarness harness;
  TcpServer server(harness.io(), TcpMode::kEcho);
  const CheckResult result =
      harness.run(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.target, "127.0.0.1:" + server.port());
  EXPECT_EQ(result.details["match"], true);
  const std::string sentence = result.details["payload"];
  EXPECT_EQ(sentence, server.received());
  EXPECT_TRUE(is_sentence(sentence)) << sentence;
  EXPECT_EQ(result.details["sent_bytes"], sentence.size());
  EXPECT_EQ(result.details["received_bytes"], sentence.size());
  ASSERT_TRUE(result.timings.connect && result.timings.first_byte);
  // latency is the round trip from send to full echo: after connect, within total.
  EXPECT_GT(result.latency.count(), 0);
  EXPECT_LE(result.latency, result.timings.total - *result.timings.connect);
}

TEST(TcpEchoCheck, SendsTheGivenPayloadWithEscapesDecoded) {
  ProbeHarness harness;
  TcpServer server(harness.io(), TcpMode::kEcho);
  const CheckResult result = harness.run(make_spec(
      "tcp_echo",
      {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", "PING\\r\\n\\x00\\xff"}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(server.received(), std::string("PING\r\n\0\xff", 8));
  EXPECT_EQ(result.details["sent_bytes"], 8);
  // Shown escaped, so the JSON export stays valid UTF-8.
  EXPECT_EQ(result.details["payload"], "PING\\r\\n\\x00\\xff");
  EXPECT_NO_THROW((void)to_json(result).dump());
}

TEST(TcpEchoCheck, WaitsForAnEchoThatArrivesInPieces) {
  ProbeHarness harness;
  const std::string payload = "an echo that arrives in two halves";
  TcpServer server(harness.io(), TcpMode::kHalvesApart, payload.size());
  const CheckResult result = harness.run(make_spec(
      "tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", payload}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["received_bytes"], payload.size());
  // The second half came 50 ms after the first byte; the rtt covers it.
  ASSERT_TRUE(result.timings.first_byte.has_value());
  EXPECT_GE(result.latency, std::chrono::milliseconds(50));
}

TEST(TcpEchoCheck, EchoesAOneMebibytePayloadWhileStillSending) {
  ProbeHarness harness;
  TcpServer server(harness.io(), TcpMode::kEcho);
  std::string payload(1024 * 1024, 'x');
  for (std::size_t i = 0; i < payload.size(); i += 7)
    payload[i] = static_cast<char>('a' + i % 26);
  const CheckResult result = harness.run(
      make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", payload}},
                std::chrono::seconds(5)));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["received_bytes"], payload.size());
  EXPECT_EQ(result.details["payload"], payload.substr(0, 64) + "...");
}

TEST(TcpEchoCheck, ReportsEchoMismatchWhenOneByteComesBackChanged) {
  ProbeHarness harness;
  TcpServer server(harness.io(), TcpMode::kFlipByte);
  const CheckResult result = harness.run(make_spec(
      "tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", "hello world"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "echo_mismatch");
  EXPECT_EQ(result.details["match"], false);
  EXPECT_EQ(result.details["mismatch_offset"], 5);
  EXPECT_EQ(result.details["received"], "hello\\x00world");
  EXPECT_NE(result.error.find("at byte 5"), std::string::npos) << result.error;
}

TEST(TcpEchoCheck, ReportsConnectionClosedWhenTheServerEchoesHalfAndCloses) {
  ProbeHarness harness;
  const std::string payload = "0123456789abcdef";
  TcpServer server(harness.io(), TcpMode::kHalfThenClose, payload.size());
  const CheckResult result = harness.run(make_spec(
      "tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", payload}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connection_closed");
  EXPECT_EQ(result.details["sent_bytes"], 16);
  EXPECT_EQ(result.details["received_bytes"], 8);
  EXPECT_EQ(result.details["match"], false);
  EXPECT_EQ(result.error, "the server closed the connection after echoing 8 of 16 bytes");
}

TEST(TcpEchoCheck, ReportsConnectRefusedOnAClosedPort) {
  ProbeHarness harness;
  std::string port;
  {
    tcp::acceptor acceptor(harness.io(), {kLoopback, 0});
    port = port_of(acceptor);
  }
  const CheckResult result =
      harness.run(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", port}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connect_refused");
}

TEST(TcpEchoCheck, TimesOutWhenTheServerNeverEchoes) {
  ProbeHarness harness;
  TcpServer server(harness.io(), TcpMode::kSilent);
  const CheckResult result =
      harness.run(make_spec("tcp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}},
                            std::chrono::milliseconds(300)));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_NE(result.error.find("last phase reached: connect"), std::string::npos) << result.error;
  EXPECT_FALSE(server.received().empty());
}

// ---- udp_echo ----------------------------------------------------------------

TEST(UdpEchoCheck, ReportsUpWithMatchWhenTheDatagramComesBack) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kEcho);
  const CheckResult result =
      harness.run(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_EQ(result.details["payload"], server.received().front());
  EXPECT_EQ(result.details["match"], true);
  EXPECT_EQ(result.details["sent_bytes"], server.received().front().size());
  EXPECT_EQ(result.details["received_bytes"], server.received().front().size());
  EXPECT_GT(result.latency.count(), 0);
  EXPECT_LE(result.latency, result.timings.total);
}

TEST(UdpEchoCheck, SendsADifferentGeneratedSentenceEachRun) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kEcho);
  const CheckSpec spec = make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}});
  const CheckResult first = harness.run(spec);
  const CheckResult second = harness.run(spec);
  ASSERT_EQ(first.status, CheckStatus::kUp) << first.error;
  ASSERT_EQ(second.status, CheckStatus::kUp) << second.error;
  EXPECT_NE(first.details["payload"], second.details["payload"]);
  ASSERT_EQ(server.received().size(), 2u);
  EXPECT_NE(server.received()[0], server.received()[1]);
}

TEST(UdpEchoCheck, ReportsEchoMismatchWhenOneByteComesBackChanged) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kFlipByte);
  const CheckResult result = harness.run(make_spec(
      "udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", "abcdefgh"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "echo_mismatch");
  EXPECT_EQ(result.details["mismatch_offset"], 4);
  EXPECT_EQ(result.details["received"], "abcddfgh");
  EXPECT_EQ(result.details["received_bytes"], 8);
}

TEST(UdpEchoCheck, ReportsEchoMismatchWhenTheReplyIsLonger) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kAppendByte);
  const CheckResult result = harness.run(
      make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", "abc"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "echo_mismatch");
  EXPECT_EQ(result.details["sent_bytes"], 3);
  EXPECT_EQ(result.details["received_bytes"], 4);
  EXPECT_EQ(result.details["mismatch_offset"], 3);
}

TEST(UdpEchoCheck, ReportsTheRealSizeOfAReplyLargerThanThePayload) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kGarbage);
  const CheckResult result = harness.run(
      make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}, {"payload", "x"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "echo_mismatch");
  EXPECT_EQ(result.details["received_bytes"], 10);
  EXPECT_EQ(result.details["mismatch_offset"], 0);
  EXPECT_EQ(result.details["received"], "\\xff\\xfe");
  EXPECT_NO_THROW((void)to_json(result).dump());
}

TEST(UdpEchoCheck, ReportsPortUnreachableOnAClosedPort) {
  ProbeHarness harness;
  const std::string port = std::to_string(netmon::testing::free_udp_port());
  const CheckResult result =
      harness.run(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", port}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "port_unreachable");
}

TEST(UdpEchoCheck, TimesOutWhenTheServerStaysSilent) {
  ProbeHarness harness;
  UdpServer server(harness.io(), UdpMode::kSilent);
  const CheckResult result =
      harness.run(make_spec("udp_echo", {{"host", "127.0.0.1"}, {"port", server.port()}},
                            std::chrono::milliseconds(300)));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_EQ(server.received().size(), 1u);
}

}  // namespace
}  // namespace netmon
