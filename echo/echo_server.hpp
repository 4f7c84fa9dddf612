#pragma once
// netmon-echo's engine: a TCP and UDP echo server on one Asio loop, the
// loopback target of tcp_echo / udp_echo checks and of the demo.
//
// Per-client limits: each TCP client owns one fixed buffer; the server reads
// into it only after the previous echo was written back, so a client that
// sends without reading stalls itself (TCP flow control) and can never make
// the server hold more than `client_buffer_bytes` for it. Connections beyond
// `max_clients` are closed at once; clients without traffic for
// `idle_timeout` are closed. UDP datagrams are echoed straight back to their
// sender and never queued (a reply that cannot be sent at once is dropped).
//
// All member functions must be called on the loop thread (or while the loop
// is not running).

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::echo {

inline constexpr std::string_view kDefaultTcpListen = "127.0.0.1:12345";
inline constexpr std::string_view kDefaultUdpListen = "127.0.0.1:10100";
inline constexpr std::size_t kDefaultMaxClients = 1024;
inline constexpr std::chrono::milliseconds kDefaultIdleTimeout{60'000};
inline constexpr std::size_t kDefaultClientBufferBytes = 16 * 1024;

struct ListenAddress {
  asio::ip::address address;
  std::uint16_t port = 0;  // 0: any free port (read it back from the server)
};

// "127.0.0.1:12345" or "[::1]:12345"; "off" or "" mean "do not listen".
Expected<std::optional<ListenAddress>> parse_listen_address(std::string_view text);

// "127.0.0.1:12345", "[::1]:12345".
std::string format_endpoint(const asio::ip::address& address, std::uint16_t port);

struct EchoServerOptions {
  std::optional<asio::ip::tcp::endpoint> tcp;  // nullopt: no TCP listener
  std::optional<asio::ip::udp::endpoint> udp;  // nullopt: no UDP socket
  std::size_t max_clients = kDefaultMaxClients;
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::size_t client_buffer_bytes = kDefaultClientBufferBytes;
};

struct EchoStats {
  std::uint64_t connections = 0;  // TCP clients accepted and served
  std::uint64_t rejected = 0;     // closed at once because max_clients were connected
  std::uint64_t idle_closed = 0;  // closed after idle_timeout without traffic
  std::size_t open_connections = 0;
  std::uint64_t tcp_bytes = 0;  // bytes echoed back over TCP
  std::uint64_t datagrams = 0;  // datagrams echoed back
  std::uint64_t udp_bytes = 0;
  std::uint64_t datagrams_dropped = 0;  // reply could not be sent at once
  // Bytes read from TCP clients and not yet written back, over all clients,
  // now and at the worst moment; and the worst for a single client.
  std::size_t buffered_bytes = 0;
  std::size_t peak_buffered_bytes = 0;
  std::size_t peak_client_buffered_bytes = 0;
};

class EchoServer {
 public:
  // Binds the listeners and starts serving on `io`. Throws std::system_error
  // naming the endpoint when a socket cannot be bound.
  EchoServer(asio::io_context& io, EchoServerOptions options);
  // stop()s; handlers still queued on the loop finish harmlessly later.
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Closes the listeners and every client. Once the handlers already queued
  // have run, the server leaves no work on the loop, so io.run() returns.
  void stop();

  // The bound endpoints (with the real port when 0 was asked for).
  std::optional<asio::ip::tcp::endpoint> tcp_endpoint() const;
  std::optional<asio::ip::udp::endpoint> udp_endpoint() const;

  const EchoStats& stats() const;
  // The most the server ever buffers for a single TCP client.
  std::size_t client_buffer_bytes() const;

  // One line for the log: connections=.. rejected=.. bytes=.. datagrams=..
  std::string summary() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace netmon::echo
