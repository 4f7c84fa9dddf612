#include "echo/echo_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <memory>
#include <vector>

#include "tests/support/probe_harness.hpp"

namespace netmon::echo {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using netmon::testing::ProbeHarness;

EchoServerOptions loopback_options() {
  EchoServerOptions options;
  options.tcp = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  options.udp = udp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  return options;
}

// Bytes that differ per client and per position, so a mixed-up echo shows.
std::string pattern(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

// A client on the test loop: connects, writes `sent`, reads until as many
// bytes came back (or an error), concurrently.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, std::string sent) : socket_(io), sent_(std::move(sent)) {}

  void connect(const tcp::endpoint& endpoint) {
    socket_.async_connect(endpoint, [self = shared_from_this()](const std::error_code& ec) {
      self->connected_ = !ec;
      if (ec) self->finish(ec);
    });
  }
  void exchange() {
    asio::async_write(socket_, asio::buffer(sent_),
                      [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                        if (ec) self->finish(ec);
                      });
    received_.resize(sent_.size());
    asio::async_read(
        socket_, asio::buffer(received_),
        [self = shared_from_this()](const std::error_code& ec, std::size_t) { self->finish(ec); });
  }

  bool connected() const { return connected_; }
  bool done() const { return done_; }
  std::error_code error() const { return error_; }
  bool echoed_exactly() const { return done_ && !error_ && received_ == sent_; }
  tcp::socket& socket() { return socket_; }

 private:
  void finish(const std::error_code& ec) {
    if (done_) return;
    done_ = true;
    error_ = ec;
  }

  tcp::socket socket_;
  std::string sent_;
  std::string received_;
  bool connected_ = false;
  bool done_ = false;
  std::error_code error_;
};

// Waits on the loop for `socket` to see the end of the stream.
std::error_code await_close(ProbeHarness& harness, tcp::socket& socket,
                            std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  std::optional<std::error_code> result;
  auto byte = std::make_shared<char>();
  socket.async_read_some(asio::buffer(byte.get(), 1),
                         [&result, byte](const std::error_code& ec, std::size_t) {
                           result = ec ? ec : asio::error::message_size;  // data is not a close
                         });
  EXPECT_TRUE(harness.run_until([&] { return result.has_value(); }, deadline))
      << "connection not closed in time";
  return result.value_or(std::error_code{});
}

TEST(ParseListenAddress, AcceptsIpv4AndBracketedIpv6WithPort) {
  auto v4 = parse_listen_address("127.0.0.1:12345");
  ASSERT_TRUE(v4 && *v4);
  EXPECT_EQ((*v4)->address, asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ((*v4)->port, 12345);
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6 && *v6);
  EXPECT_EQ((*v6)->address, asio::ip::make_address("::1"));
  EXPECT_EQ((*v6)->port, 0);
}

TEST(ParseListenAddress, TreatsOffAndEmptyAsDisabled) {
  auto off = parse_listen_address("off");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->has_value());
  auto empty = parse_listen_address("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->has_value());
}

TEST(ParseListenAddress, RejectsMalformedAddressesNamingTheValue) {
  const std::string allowed = " (expected IP:PORT, [IPv6]:PORT or off)";
  EXPECT_EQ(parse_listen_address("127.0.0.1").error().message, "'127.0.0.1' has no port" + allowed);
  EXPECT_EQ(parse_listen_address("localhost:80").error().message,
            "'localhost:80' does not start with an IP address" + allowed);
  EXPECT_EQ(parse_listen_address("127.0.0.1:70000").error().message,
            "'127.0.0.1:70000' has a port outside 0..65535" + allowed);
  EXPECT_EQ(parse_listen_address("127.0.0.1:").error().message,
            "'127.0.0.1:' has a port outside 0..65535" + allowed);
  EXPECT_EQ(parse_listen_address("::1:80").error().message,
            "'::1:80' needs brackets around an IPv6 address" + allowed);
  EXPECT_EQ(parse_listen_address("[::1]").error().message,
            "'[::1]' is not a bracketed IPv6 address with a port" + allowed);
  EXPECT_EQ(parse_listen_address("[127.0.0.1]:80").error().message,
            "'[127.0.0.1]:80' has an IPv4 address in brackets" + allowed);
}

TEST(FormatEndpoint, BracketsIpv6) {
  EXPECT_EQ(format_endpoint(asio::ip::make_address("127.0.0.1"), 12345), "127.0.0.1:12345");
  EXPECT_EQ(format_endpoint(asio::ip::make_address("::1"), 80), "[::1]:80");
}

TEST(EchoServer, ReportsTheBoundPortsWhenAskedForPortZero) {
  ProbeHarness harness;
  EchoServer server(harness.io(), loopback_options());
  ASSERT_TRUE(server.tcp_endpoint() && server.udp_endpoint());
  EXPECT_NE(server.tcp_endpoint()->port(), 0);
  EXPECT_NE(server.udp_endpoint()->port(), 0);
  EXPECT_EQ(server.tcp_endpoint()->address(), asio::ip::make_address("127.0.0.1"));
}

TEST(EchoServer, ServesOnlyTheProtocolsAskedFor) {
  ProbeHarness harness;
  EchoServerOptions options = loopback_options();
  options.udp.reset();
  EchoServer server(harness.io(), options);
  EXPECT_TRUE(server.tcp_endpoint().has_value());
  EXPECT_FALSE(server.udp_endpoint().has_value());
}

TEST(EchoServer, ThrowsNamingTheEndpointWhenThePortIsTaken) {
  ProbeHarness harness;
  tcp::acceptor taken(harness.io(), {asio::ip::make_address("127.0.0.1"), 0});
  EchoServerOptions options;
  options.tcp = taken.local_endpoint();
  try {
    EchoServer server(harness.io(), options);
    FAIL() << "bound a port that is in use";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code(), asio::error::address_in_use);
    EXPECT_NE(std::string(error.what())
                  .find("cannot listen on tcp 127.0.0.1:" +
                        std::to_string(taken.local_endpoint().port())),
              std::string::npos)
        << error.what();
  }
}

TEST(EchoServer, EchoesEachOfManyConcurrentClientsItsOwnBytes) {
  ProbeHarness harness;
  EchoServer server(harness.io(), loopback_options());
  constexpr int kClients = 100;
  std::vector<std::shared_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    // Bigger than the server's per-client buffer: each echo takes several rounds.
    clients.push_back(std::make_shared<Client>(harness.io(), pattern(40'000 + i, i)));
    clients.back()->connect(*server.tcp_endpoint());
  }
  // All connected and accepted before anyone talks: they really are concurrent.
  ASSERT_TRUE(harness.run_until([&] { return server.stats().open_connections == kClients; }));
  for (auto& client : clients)
    client->exchange();
  ASSERT_TRUE(harness.run_until([&] {
    for (auto& client : clients) {
      if (!client->done()) return false;
    }
    return true;
  }));
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(clients[i]->echoed_exactly()) << "client " << i << ": " << clients[i]->error();
  }
  EXPECT_EQ(server.stats().connections, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(server.stats().buffered_bytes, 0u);
}

TEST(EchoServer, EchoesALargePayloadSentInPieces) {
  ProbeHarness harness;
  EchoServer server(harness.io(), loopback_options());
  tcp::socket socket(harness.io());
  socket.connect(*server.tcp_endpoint());
  socket.set_option(tcp::no_delay(true));
  const std::string payload = pattern(4 * 1024 * 1024, 7);
  constexpr std::size_t kPiece = 1000;

  std::size_t sent = 0;
  std::function<void()> send_piece = [&] {
    const std::size_t n = std::min(kPiece, payload.size() - sent);
    asio::async_write(socket, asio::buffer(payload.data() + sent, n),
                      [&, n](const std::error_code& ec, std::size_t) {
                        ASSERT_FALSE(ec) << ec.message();
                        sent += n;
                        if (sent < payload.size()) send_piece();
                      });
  };
  std::string received(payload.size(), '\0');
  std::optional<std::error_code> read_result;
  asio::async_read(socket, asio::buffer(received),
                   [&](const std::error_code& ec, std::size_t) { read_result = ec; });
  send_piece();
  ASSERT_TRUE(harness.run_until([&] { return read_result.has_value(); }, std::chrono::seconds(30)));
  EXPECT_FALSE(*read_result) << read_result->message();
  EXPECT_TRUE(received == payload) << "echo differs from what was sent";
  EXPECT_EQ(server.stats().tcp_bytes, payload.size());
}

TEST(EchoServer, BoundsWhatItBuffersForAClientThatWritesWithoutReading) {
  ProbeHarness harness;
  asio::io_context& io = harness.io();
  EchoServer server(io, loopback_options());
  const std::size_t limit = server.client_buffer_bytes();
  tcp::socket client(io);
  client.connect(*server.tcp_endpoint());
  client.non_blocking(true);
  const std::string data = pattern(50 * 1024 * 1024, 3);
  const auto deadline = Clock::now() + std::chrono::seconds(60);

  // Phase 1: write as fast as possible and never read. With a bounded server
  // everything stalls: the server waits for its echo to be read, so it stops
  // reading, so the client's writes stop. The stall is seen when the client
  // cannot write and the server has nothing to do for a while.
  std::size_t written = 0;
  bool stalled = false;
  while (written < data.size() && Clock::now() < deadline) {
    std::error_code ec;
    written += client.write_some(
        asio::buffer(data.data() + written, std::min<std::size_t>(data.size() - written, 1 << 18)),
        ec);
    ASSERT_TRUE(!ec || ec == asio::error::would_block) << ec.message();
    io.restart();
    if (io.poll() > 0 || !ec) continue;
    io.restart();
    if (io.run_one_for(std::chrono::milliseconds(100)) == 0) {
      stalled = true;
      break;
    }
  }
  ASSERT_TRUE(stalled) << "a client that never reads pushed " << written << " bytes";
  RecordProperty("stalled_after_bytes", std::to_string(written));
  EXPECT_LT(written, data.size());
  EXPECT_GT(server.stats().tcp_bytes, 0u);  // it echoed until the client's window was full
  EXPECT_GT(server.stats().buffered_bytes, 0u);
  EXPECT_LE(server.stats().buffered_bytes, limit);
  EXPECT_LE(server.stats().peak_client_buffered_bytes, limit);
  EXPECT_LE(server.stats().peak_buffered_bytes, limit);

  // Phase 2: the client starts reading; everything comes back intact and the
  // server never held more than one buffer for it.
  std::vector<char> chunk(1 << 18);
  std::size_t read = 0;
  bool intact = true;
  while (read < data.size() && Clock::now() < deadline) {
    bool progress = false;
    std::error_code ec;
    if (written < data.size()) {
      const std::size_t n =
          client.write_some(asio::buffer(data.data() + written,
                                         std::min<std::size_t>(data.size() - written, 1 << 18)),
                            ec);
      ASSERT_TRUE(!ec || ec == asio::error::would_block) << ec.message();
      written += n;
      progress = progress || n > 0;
    }
    const std::size_t n = client.read_some(asio::buffer(chunk), ec);
    ASSERT_TRUE(!ec || ec == asio::error::would_block) << ec.message();
    if (n > 0) {
      intact = intact && std::memcmp(chunk.data(), data.data() + read, n) == 0;
      read += n;
      progress = true;
    }
    io.restart();
    if (io.poll() == 0 && !progress) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_EQ(read, data.size());
  EXPECT_TRUE(intact) << "the echo of the 50 MB stream differs from what was sent";
  EXPECT_EQ(server.stats().tcp_bytes, data.size());
  EXPECT_LE(server.stats().peak_client_buffered_bytes, limit);
  EXPECT_LE(server.stats().peak_buffered_bytes, limit);
}

TEST(EchoServer, ClosesConnectionsBeyondMaxClientsAtOnceAndServesFreedSlots) {
  ProbeHarness harness;
  EchoServerOptions options = loopback_options();
  options.max_clients = 2;
  EchoServer server(harness.io(), options);
  const tcp::endpoint endpoint = *server.tcp_endpoint();

  auto first = std::make_shared<Client>(harness.io(), "first");
  auto second = std::make_shared<Client>(harness.io(), "second");
  first->connect(endpoint);
  second->connect(endpoint);
  ASSERT_TRUE(harness.run_until([&] { return server.stats().open_connections == 2; }));

  tcp::socket third(harness.io());
  third.connect(endpoint);
  EXPECT_EQ(await_close(harness, third), asio::error::eof);
  EXPECT_EQ(server.stats().rejected, 1u);
  EXPECT_EQ(server.stats().open_connections, 2u);

  // The two admitted clients are still served.
  first->exchange();
  second->exchange();
  ASSERT_TRUE(harness.run_until([&] { return first->done() && second->done(); }));
  EXPECT_TRUE(first->echoed_exactly());
  EXPECT_TRUE(second->echoed_exactly());

  // A slot freed by a leaving client goes to the next one.
  first->socket().close();
  ASSERT_TRUE(harness.run_until([&] { return server.stats().open_connections == 1; }));
  auto fourth = std::make_shared<Client>(harness.io(), "fourth");
  fourth->connect(endpoint);
  ASSERT_TRUE(harness.run_until([&] { return fourth->connected(); }));
  fourth->exchange();
  ASSERT_TRUE(harness.run_until([&] { return fourth->done(); }));
  EXPECT_TRUE(fourth->echoed_exactly()) << fourth->error().message();
  EXPECT_EQ(server.stats().rejected, 1u);
}

TEST(EchoServer, EchoesEachDatagramOfAnySizeToItsSender) {
  ProbeHarness harness;
  EchoServer server(harness.io(), loopback_options());
  const udp::endpoint endpoint = *server.udp_endpoint();
  const std::array<std::size_t, 3> sizes = {1, 1400, 65507};
  std::vector<std::unique_ptr<udp::socket>> sockets;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sockets.push_back(std::make_unique<udp::socket>(harness.io(), udp::endpoint(udp::v4(), 0)));
    sockets.back()->send_to(asio::buffer(pattern(sizes[i], static_cast<unsigned>(i))), endpoint);
  }
  std::vector<std::string> replies(sizes.size());
  int answered = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    replies[i].resize(70'000);
    sockets[i]->async_receive(asio::buffer(replies[i]),
                              [&, i](const std::error_code& ec, std::size_t n) {
                                ASSERT_FALSE(ec) << ec.message();
                                replies[i].resize(n);
                                ++answered;
                              });
  }
  ASSERT_TRUE(harness.run_until([&] { return answered == static_cast<int>(sizes.size()); }));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_TRUE(replies[i] == pattern(sizes[i], static_cast<unsigned>(i)))
        << "datagram of " << sizes[i] << " bytes came back as " << replies[i].size() << " bytes";
  }
  EXPECT_EQ(server.stats().datagrams, sizes.size());
  EXPECT_EQ(server.stats().udp_bytes, 1u + 1400u + 65507u);
}

TEST(EchoServer, ServesIpv6Loopback) {
  ProbeHarness harness;
  EchoServerOptions options;
  options.tcp = tcp::endpoint(asio::ip::make_address("::1"), 0);
  options.udp = udp::endpoint(asio::ip::make_address("::1"), 0);
  std::unique_ptr<EchoServer> server;
  try {
    server = std::make_unique<EchoServer>(harness.io(), options);
  } catch (const std::system_error& error) {
    GTEST_FAIL() << "no IPv6 loopback here: " << error.what();
  }
  auto client = std::make_shared<Client>(harness.io(), "over ipv6");
  client->connect(*server->tcp_endpoint());
  ASSERT_TRUE(harness.run_until([&] { return client->connected(); }));
  client->exchange();
  ASSERT_TRUE(harness.run_until([&] { return client->done(); }));
  EXPECT_TRUE(client->echoed_exactly());

  udp::socket datagram(harness.io(), udp::endpoint(udp::v6(), 0));
  datagram.send_to(asio::buffer(std::string("v6 datagram")), *server->udp_endpoint());
  std::string reply(64, '\0');
  std::optional<std::size_t> got;
  datagram.async_receive(asio::buffer(reply),
                         [&](const std::error_code& ec, std::size_t n) { got = ec ? 0 : n; });
  ASSERT_TRUE(harness.run_until([&] { return got.has_value(); }));
  EXPECT_EQ(reply.substr(0, *got), "v6 datagram");
}

TEST(EchoServer, ClosesAClientThatStaysIdleLongerThanTheIdleTimeout) {
  ProbeHarness harness;
  EchoServerOptions options = loopback_options();
  options.idle_timeout = std::chrono::milliseconds(200);
  EchoServer server(harness.io(), options);
  auto client = std::make_shared<Client>(harness.io(), "ping");
  client->connect(*server.tcp_endpoint());
  ASSERT_TRUE(harness.run_until([&] { return client->connected(); }));
  client->exchange();
  ASSERT_TRUE(harness.run_until([&] { return client->done(); }));
  ASSERT_TRUE(client->echoed_exactly());
  const auto echoed_at = Clock::now();
  EXPECT_EQ(await_close(harness, client->socket()), asio::error::eof);
  // Closed for idleness, not straight away (timers never fire early).
  EXPECT_GE(Clock::now() - echoed_at, std::chrono::milliseconds(100));
  EXPECT_EQ(server.stats().idle_closed, 1u);
  EXPECT_EQ(server.stats().open_connections, 0u);
}

TEST(EchoServer, KeepsAClientThatTalksMoreOftenThanTheIdleTimeout) {
  ProbeHarness harness;
  EchoServerOptions options = loopback_options();
  options.idle_timeout = std::chrono::milliseconds(400);
  EchoServer server(harness.io(), options);
  tcp::socket socket(harness.io());
  socket.connect(*server.tcp_endpoint());

  // Four pings 150 ms apart: 600 ms in all, longer than the idle timeout,
  // but never 400 ms without traffic.
  asio::steady_timer pause(harness.io());
  int answered = 0;
  std::error_code failed;
  std::array<char, 4> reply{};
  std::function<void()> ping = [&] {
    asio::write(socket, asio::buffer("ping", 4));
    asio::async_read(socket, asio::buffer(reply), [&](const std::error_code& ec, std::size_t) {
      if (ec) {
        failed = ec;
        return;
      }
      if (++answered == 4) return;
      pause.expires_after(std::chrono::milliseconds(150));
      pause.async_wait([&](const std::error_code&) { ping(); });
    });
  };
  ping();
  ASSERT_TRUE(harness.run_until([&] { return answered == 4 || failed; }));
  EXPECT_EQ(answered, 4) << "closed while talking: " << failed.message();
  EXPECT_EQ(server.stats().idle_closed, 0u);
  EXPECT_EQ(await_close(harness, socket), asio::error::eof);
  EXPECT_EQ(server.stats().idle_closed, 1u);
}

TEST(EchoServer, StopClosesEveryClientAndLeavesNoWorkOnTheLoop) {
  ProbeHarness harness;
  asio::io_context& io = harness.io();
  EchoServer server(io, loopback_options());
  std::vector<std::unique_ptr<tcp::socket>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<tcp::socket>(io));
    clients.back()->connect(*server.tcp_endpoint());
  }
  // One client with an echo in flight that it never reads.
  const std::string big = pattern(8 * 1024 * 1024, 1);
  clients.front()->non_blocking(true);
  std::error_code ignored;
  clients.front()->write_some(asio::buffer(big), ignored);
  ASSERT_TRUE(harness.run_until([&] { return server.stats().open_connections == 20; }));

  const auto started = Clock::now();
  server.stop();
  io.restart();
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(io.stopped()) << "the server left work on the loop after stop()";
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(server.stats().open_connections, 0u);
  EXPECT_EQ(server.stats().buffered_bytes, 0u);
  EXPECT_FALSE(server.tcp_endpoint().has_value());
  for (std::size_t i = 1; i < clients.size(); ++i) {
    EXPECT_EQ(await_close(harness, *clients[i]), asio::error::eof) << "client " << i;
  }
}

}  // namespace
}  // namespace netmon::echo
