#pragma once
// A small HTTP/1.1 server for tests, plain or TLS, on 127.0.0.1:<ephemeral>
// and on the test's loop. Replies are canned per path (raw bytes, so a test
// can send garbage); unknown paths get 404. Hooks: paths that never answer,
// replies written in several pieces (partial reads), connection counting.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace netmon::testing {

struct HttpReply {
  std::string raw;           // exactly what is written back
  bool close_after = false;  // close the connection after writing it

  // "HTTP/1.1 <status> <reason>" with Content-Length and the given extra header lines.
  static HttpReply make(int status, std::string_view body,
                        const std::vector<std::string>& headers = {});
  static HttpReply redirect(std::string_view location, int status = 302);
  // Bytes that are not HTTP at all, then close.
  static HttpReply garbage(std::string_view bytes);
};

class HttpTestServer {
 public:
  // Plain HTTP.
  explicit HttpTestServer(asio::io_context& io);
  // HTTPS with `tls` (which must outlive the server).
  HttpTestServer(asio::io_context& io, asio::ssl::context& tls);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  // `path` is the request target as sent (path plus query).
  void reply(std::string path, HttpReply reply);
  // Requests for `path` are read and never answered; the connection stays open.
  void silent(std::string path);
  // Writes every reply in pieces of `bytes`, with `pause` between them, so the
  // client sees partial reads (0 = one write).
  void split_writes(std::size_t bytes, std::chrono::milliseconds pause);

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT/path" (https:// for a TLS server).
  std::string url(std::string_view path = "/") const;
  std::size_t connections() const;
  // Request heads (request line and headers) in arrival order.
  const std::vector<std::string>& requests() const;

  struct State;

 private:
  void accept();

  std::shared_ptr<State> state_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
};

}  // namespace netmon::testing
