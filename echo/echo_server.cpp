#include "echo/echo_server.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "common/duration.hpp"
#include "common/logging.hpp"

namespace netmon::echo {

using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

// A datagram of any legal size fits (IPv6 allows 65527 payload bytes).
constexpr std::size_t kDatagramBufferBytes = 65536;
// Datagrams handled per wake-up before going back to the loop.
constexpr int kDatagramBatch = 64;
// Accept failures from running out of descriptors are retried after this pause.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// At most this many "rejected" lines per second; the rest are counted.
constexpr int kRejectLogsPerSecond = 10;

Error bad_address(std::string_view text, std::string_view why) {
  return Error{"'" + std::string(text) + "' " + std::string(why) +
               " (expected IP:PORT, [IPv6]:PORT or off)"};
}

}  // namespace

Expected<std::optional<ListenAddress>> parse_listen_address(std::string_view text) {
  if (text.empty() || text == "off") return std::optional<ListenAddress>{};
  std::string_view host;
  std::string_view port_text;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad_address(text, "is not a bracketed IPv6 address with a port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address(text, "has no port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad_address(text, "needs brackets around an IPv6 address");
    }
  }
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(std::string(host), ec);
  if (ec) return bad_address(text, "does not start with an IP address");
  if (text.front() == '[' && !address.is_v6()) {
    return bad_address(text, "has an IPv4 address in brackets");
  }
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad_address(text, "has a port outside 0..65535");
  }
  return std::optional<ListenAddress>{ListenAddress{address, static_cast<std::uint16_t>(port)}};
}

std::string format_endpoint(const asio::ip::address& address, std::uint16_t port) {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

namespace {

template <class Endpoint>
std::string format(const Endpoint& endpoint) {
  return format_endpoint(endpoint.address(), endpoint.port());
}

class Session;

}  // namespace

struct EchoServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& context, EchoServerOptions server_options)
      : io(context),
        options(std::move(server_options)),
        accept_retry(context),
        log(component_logger("echo")) {}

  void bind();
  void accept_next();
  void on_accept(const std::error_code& ec, tcp::socket socket);
  void reject(tcp::socket socket);
  void receive_next();
  void on_datagram(std::size_t bytes);
  void echo_datagram(std::size_t bytes);
  void stop();

  void add_buffered(std::size_t bytes, std::size_t client_bytes) {
    stats.buffered_bytes += bytes;
    stats.peak_buffered_bytes = std::max(stats.peak_buffered_bytes, stats.buffered_bytes);
    stats.peak_client_buffered_bytes = std::max(stats.peak_client_buffered_bytes, client_bytes);
  }

  asio::io_context& io;
  EchoServerOptions options;
  std::optional<tcp::acceptor> acceptor;
  std::optional<udp::socket> udp_socket;
  asio::steady_timer accept_retry;
  std::shared_ptr<spdlog::logger> log;
  EchoStats stats;
  bool stopped = false;

  std::uint64_t next_session_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions;

  std::unique_ptr<char[]> datagram;
  udp::endpoint sender;

  Clock::time_point reject_window;
  int rejects_logged = 0;
  std::uint64_t rejects_unlogged = 0;
};

namespace {

// One TCP client: read into the fixed buffer, write it all back, only then
// read again. The idle timer checks `last_activity_` instead of being
// re-armed on every read.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<EchoServer::State> server, tcp::socket socket, std::uint64_t id)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        idle_timer_(server_->io),
        id_(id),
        buffer_(new char[server_->options.client_buffer_bytes]) {
    std::error_code ec;
    const tcp::endpoint peer = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : format(peer);
  }

  void start() {
    last_activity_ = Clock::now();
    arm_idle_timer(server_->options.idle_timeout);
    read_next();
  }

  void close(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    std::error_code ignored;
    socket_.close(ignored);
    idle_timer_.cancel();
    server_->stats.buffered_bytes -= pending_ - written_;
    pending_ = written_ = 0;
    server_->stats.open_connections -= 1;
    server_->sessions.erase(id_);
    server_->log->debug("client closed endpoint={} reason={} bytes={}", peer_, why, echoed_);
  }

 private:
  void read_next() {
    socket_.async_read_some(
        asio::buffer(buffer_.get(), server_->options.client_buffer_bytes),
        [self = shared_from_this()](const std::error_code& ec, std::size_t bytes) {
          self->on_read(ec, bytes);
        });
  }

  void on_read(const std::error_code& ec, std::size_t bytes) {
    if (closed_) return;
    if (ec) {
      close(ec == asio::error::eof ? "eof" : ec.message());
      return;
    }
    last_activity_ = Clock::now();
    pending_ = bytes;
    written_ = 0;
    server_->add_buffered(bytes, bytes);
    write_next();
  }

  void write_next() {
    socket_.async_write_some(
        asio::buffer(buffer_.get() + written_, pending_ - written_),
        [self = shared_from_this()](const std::error_code& ec, std::size_t bytes) {
          self->on_written(ec, bytes);
        });
  }

  void on_written(const std::error_code& ec, std::size_t bytes) {
    if (closed_) return;
    if (ec) {
      close(ec.message());
      return;
    }
    last_activity_ = Clock::now();
    written_ += bytes;
    echoed_ += bytes;
    server_->stats.tcp_bytes += bytes;
    server_->stats.buffered_bytes -= bytes;
    if (written_ < pending_) {
      write_next();
      return;
    }
    pending_ = written_ = 0;
    read_next();
  }

  void arm_idle_timer(Clock::duration after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->closed_) return;
      const Clock::duration idle = Clock::now() - self->last_activity_;
      const auto timeout = self->server_->options.idle_timeout;
      if (idle < timeout) {
        self->arm_idle_timer(timeout - idle);
        return;
      }
      self->server_->stats.idle_closed += 1;
      self->server_->log->info("client idle, closing endpoint={} idle_timeout={}", self->peer_,
                               format_duration(timeout));
      self->close("idle");
    });
  }

  std::shared_ptr<EchoServer::State> server_;
  tcp::socket socket_;
  asio::steady_timer idle_timer_;
  std::uint64_t id_;
  std::unique_ptr<char[]> buffer_;
  std::string peer_;
  std::size_t pending_ = 0;  // bytes in buffer_ to echo
  std::size_t written_ = 0;  // of those, already written back
  std::uint64_t echoed_ = 0;
  Clock::time_point last_activity_;
  bool closed_ = false;
};

}  // namespace

void EchoServer::State::bind() {
  if (options.tcp) {
    try {
      acceptor.emplace(io);
      acceptor->open(options.tcp->protocol());
      acceptor->set_option(tcp::acceptor::reuse_address(true));
      acceptor->bind(*options.tcp);
      acceptor->listen(asio::socket_base::max_listen_connections);
    } catch (const std::system_error& error) {
      throw std::system_error(error.code(), "cannot listen on tcp " + format(*options.tcp));
    }
  }
  if (options.udp) {
    try {
      udp_socket.emplace(io);
      udp_socket->open(options.udp->protocol());
      udp_socket->bind(*options.udp);
      udp_socket->non_blocking(true);
      // Room for bursts from many probes; the kernel caps it at rmem_max.
      std::error_code ignored;
      udp_socket->set_option(asio::socket_base::receive_buffer_size(4 << 20), ignored);
    } catch (const std::system_error& error) {
      throw std::system_error(error.code(), "cannot listen on udp " + format(*options.udp));
    }
    datagram.reset(new char[kDatagramBufferBytes]);
  }
}

void EchoServer::State::accept_next() {
  if (stopped || !acceptor) return;
  acceptor->async_accept(
      [self = shared_from_this()](const std::error_code& ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
}

void EchoServer::State::on_accept(const std::error_code& ec, tcp::socket socket) {
  if (stopped) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    log->warn("accept failed error=\"{}\"", ec.message());
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // The pending connection stays queued; retrying at once would spin.
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([self = shared_from_this()](const std::error_code& error) {
        if (!error) self->accept_next();
      });
      return;
    }
    accept_next();
    return;
  }
  if (stats.open_connections >= options.max_clients) {
    reject(std::move(socket));
  } else {
    stats.connections += 1;
    stats.open_connections += 1;
    const std::uint64_t id = next_session_id++;
    auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), id);
    sessions.emplace(id, session);
    session->start();
  }
  accept_next();
}

void EchoServer::State::reject(tcp::socket socket) {
  stats.rejected += 1;
  std::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  socket.close(ec);
  const Clock::time_point now = Clock::now();
  if (now - reject_window >= std::chrono::seconds(1)) {
    if (rejects_unlogged > 0) {
      log->warn("clients rejected without a log line count={}", rejects_unlogged);
    }
    reject_window = now;
    rejects_logged = 0;
    rejects_unlogged = 0;
  }
  if (rejects_logged++ < kRejectLogsPerSecond) {
    log->warn("client rejected: max clients reached endpoint={} max_clients={}",
              ec ? std::string("unknown") : format(peer), options.max_clients);
  } else {
    rejects_unlogged += 1;
  }
}

void EchoServer::State::receive_next() {
  if (stopped || !udp_socket) return;
  udp_socket->async_receive_from(
      asio::buffer(datagram.get(), kDatagramBufferBytes), sender,
      [self = shared_from_this()](const std::error_code& ec, std::size_t bytes) {
        if (self->stopped || ec == asio::error::operation_aborted) return;
        // Other receive errors (a queued ICMP error) concern one datagram only.
        if (!ec) self->on_datagram(bytes);
        self->receive_next();
      });
}

void EchoServer::State::on_datagram(std::size_t bytes) {
  echo_datagram(bytes);
  // Drain what else is queued before going back to the loop.
  for (int i = 1; i < kDatagramBatch; ++i) {
    std::error_code ec;
    bytes =
        udp_socket->receive_from(asio::buffer(datagram.get(), kDatagramBufferBytes), sender, 0, ec);
    if (ec) return;
    echo_datagram(bytes);
  }
}

void EchoServer::State::echo_datagram(std::size_t bytes) {
  std::error_code ec;
  udp_socket->send_to(asio::buffer(datagram.get(), bytes), sender, 0, ec);
  if (ec) {
    stats.datagrams_dropped += 1;
    log->debug("datagram dropped endpoint={} error=\"{}\"", format(sender), ec.message());
    return;
  }
  stats.datagrams += 1;
  stats.udp_bytes += bytes;
}

void EchoServer::State::stop() {
  if (stopped) return;
  stopped = true;
  std::error_code ignored;
  accept_retry.cancel();
  if (acceptor) acceptor->close(ignored);
  if (udp_socket) udp_socket->close(ignored);
  std::vector<std::shared_ptr<Session>> open;
  open.reserve(sessions.size());
  for (auto& [id, weak] : sessions) {
    if (auto session = weak.lock()) open.push_back(std::move(session));
  }
  for (auto& session : open)
    session->close("server stopping");
  sessions.clear();
}

EchoServer::EchoServer(asio::io_context& io, EchoServerOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {
  if (state_->options.max_clients == 0) {
    throw std::invalid_argument("echo server: max_clients must be at least 1");
  }
  if (state_->options.client_buffer_bytes == 0) {
    throw std::invalid_argument("echo server: client_buffer_bytes must be at least 1");
  }
  state_->bind();
  state_->accept_next();
  state_->receive_next();
}

EchoServer::~EchoServer() {
  stop();
}

void EchoServer::stop() {
  state_->stop();
}

std::optional<tcp::endpoint> EchoServer::tcp_endpoint() const {
  if (!state_->acceptor || !state_->acceptor->is_open()) return std::nullopt;
  std::error_code ec;
  tcp::endpoint endpoint = state_->acceptor->local_endpoint(ec);
  if (ec) return std::nullopt;
  return endpoint;
}

std::optional<udp::endpoint> EchoServer::udp_endpoint() const {
  if (!state_->udp_socket || !state_->udp_socket->is_open()) return std::nullopt;
  std::error_code ec;
  udp::endpoint endpoint = state_->udp_socket->local_endpoint(ec);
  if (ec) return std::nullopt;
  return endpoint;
}

const EchoStats& EchoServer::stats() const {
  return state_->stats;
}

std::size_t EchoServer::client_buffer_bytes() const {
  return state_->options.client_buffer_bytes;
}

std::string EchoServer::summary() const {
  const EchoStats& s = state_->stats;
  return "connections=" + std::to_string(s.connections) +
         " rejected=" + std::to_string(s.rejected) +
         " idle_closed=" + std::to_string(s.idle_closed) +
         " tcp_bytes=" + std::to_string(s.tcp_bytes) + " datagrams=" + std::to_string(s.datagrams) +
         " udp_bytes=" + std::to_string(s.udp_bytes) +
         " datagrams_dropped=" + std::to_string(s.datagrams_dropped);
}

}  // namespace netmon::echo
