#pragma once
// A small authoritative DNS server for tests: UDP and TCP on one port of
// 127.0.0.1, on the test's loop. Answers come from records added in zone-file
// syntax and are built with ldns; hooks let a test bend the replies (silence,
// garbage, wrong ids, forced rcodes, TCP replies in several partial writes).

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace netmon::testing {

class DnsTestServer {
 public:
  enum class Transport { kUdp, kTcp };
  // Turns the wire query and the server's normal reply into the messages
  // actually sent (datagrams on UDP, length-framed messages on TCP); an empty
  // list means silence.
  using Mangler =
      std::function<std::vector<std::string>(std::string_view query, std::string reply, Transport)>;

  // UDP answers larger than this come back truncated (TC set, no records).
  static constexpr std::size_t kMaxUdpReplyBytes = 512;

  explicit DnsTestServer(asio::io_context& io);
  ~DnsTestServer();
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  // Adds a record in zone-file syntax, e.g. "www.example.test. 60 IN A 192.0.2.1".
  void add(std::string_view record);
  // Answers every query with this rcode and no records (e.g. LDNS_RCODE_SERVFAIL).
  void force_rcode(int rcode) { forced_rcode_ = rcode; }
  void set_mangler(Mangler mangler) { mangler_ = std::move(mangler); }
  // Writes every TCP message in pieces of `bytes`, with `pause` between them,
  // so the client sees partial reads (0 = one write).
  void split_tcp_writes(std::size_t bytes, std::chrono::milliseconds pause) {
    tcp_chunk_bytes_ = bytes;
    tcp_chunk_pause_ = pause;
  }

  std::uint16_t port() const { return port_; }
  std::string port_text() const { return std::to_string(port_); }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }
  // Whether the last query asked for recursion (RD bit).
  bool last_query_rd() const { return last_query_rd_; }

  // The normal reply for a wire query (empty when it does not parse).
  std::string answer(std::string_view query, Transport transport);

 private:
  struct Connection;
  struct Record;

  void receive_udp();
  void accept_tcp();
  void read_tcp(const std::shared_ptr<Connection>& connection);
  void write_tcp(const std::shared_ptr<Connection>& connection, std::string framed,
                 std::size_t offset);

  asio::io_context& io_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<Record>> records_;
  std::vector<std::weak_ptr<Connection>> connections_;
  std::array<char, 65536> datagram_{};
  asio::ip::udp::endpoint peer_;
  Mangler mangler_;
  int forced_rcode_ = -1;
  std::size_t tcp_chunk_bytes_ = 0;
  std::chrono::milliseconds tcp_chunk_pause_{0};
  int udp_queries_ = 0;
  int tcp_queries_ = 0;
  bool last_query_rd_ = false;
};

}  // namespace netmon::testing
