#include "tests/support/http_test_server.hpp"

#include <asio/read_until.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <set>

namespace netmon::testing {
namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace

HttpReply HttpReply::make(int status, std::string_view body,
                          const std::vector<std::string>& headers) {
  HttpReply reply;
  reply.raw = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) +
              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const std::string& header : headers)
    reply.raw += header + "\r\n";
  reply.raw += "\r\n";
  reply.raw += body;
  return reply;
}

HttpReply HttpReply::redirect(std::string_view location, int status) {
  return make(status, "", {"Location: " + std::string(location)});
}

HttpReply HttpReply::garbage(std::string_view bytes) {
  return HttpReply{std::string(bytes), true};
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};

struct HttpTestServer::State {
  explicit State(asio::io_context& context) : io(context) {}
  asio::io_context& io;
  asio::ssl::context* tls = nullptr;
  std::map<std::string, HttpReply, std::less<>> replies;
  std::set<std::string, std::less<>> silent;
  std::size_t chunk_bytes = 0;
  std::chrono::milliseconds chunk_pause{0};
  std::size_t connections = 0;
  std::vector<std::string> requests;
  std::vector<std::weak_ptr<SessionBase>> sessions;
  std::vector<std::shared_ptr<SessionBase>> held;  // silent sessions, kept open
};

namespace {

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<HttpTestServer::State> state, Stream stream)
      : state_(std::move(state)), stream_(std::move(stream)), timer_(state_->io) {}

  void start() {
    if constexpr (std::is_same_v<Stream, asio::ip::tcp::socket>) {
      read_request();
    } else {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const std::error_code& ec) {
                                if (!ec) self->read_request();
                              });
    }
  }

  void close() override {
    std::error_code ignored;
    lowest().close(ignored);
    timer_.cancel();
  }

 private:
  asio::ip::tcp::socket& lowest() {
    if constexpr (std::is_same_v<Stream, asio::ip::tcp::socket>) {
      return stream_;
    } else {
      return stream_.next_layer();
    }
  }

  void read_request() {
    asio::async_read_until(
        stream_, asio::dynamic_buffer(buffer_), "\r\n\r\n",
        [self = this->shared_from_this()](const std::error_code& ec, std::size_t head_bytes) {
          if (!ec) self->on_request(head_bytes);
        });
  }

  void on_request(std::size_t head_bytes) {
    const std::string head = buffer_.substr(0, head_bytes);
    buffer_.erase(0, head_bytes);
    state_->requests.push_back(head);
    const std::size_t target_at = head.find(' ') + 1;
    const std::string target = head.substr(target_at, head.find(' ', target_at) - target_at);
    if (state_->silent.contains(target)) {
      state_->held.push_back(this->shared_from_this());
      return;
    }
    const auto it = state_->replies.find(target);
    reply_ = it != state_->replies.end() ? it->second : HttpReply::make(404, "not found");
    written_ = 0;
    write_next();
  }

  void write_next() {
    const std::size_t chunk = state_->chunk_bytes == 0 ? reply_.raw.size() : state_->chunk_bytes;
    const std::size_t size = std::min(chunk, reply_.raw.size() - written_);
    asio::async_write(stream_, asio::buffer(reply_.raw.data() + written_, size),
                      [self = this->shared_from_this()](const std::error_code& ec, std::size_t n) {
                        if (!ec) self->on_written(n);
                      });
  }

  void on_written(std::size_t bytes) {
    written_ += bytes;
    if (written_ < reply_.raw.size()) {
      timer_.expires_after(state_->chunk_pause);
      timer_.async_wait([self = this->shared_from_this()](const std::error_code& ec) {
        if (!ec) self->write_next();
      });
      return;
    }
    if (reply_.close_after) {
      std::error_code ignored;
      lowest().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      lowest().close(ignored);
      return;
    }
    read_request();  // keep-alive until the client closes
  }

  std::shared_ptr<HttpTestServer::State> state_;
  Stream stream_;
  asio::steady_timer timer_;
  std::string buffer_;
  HttpReply reply_;
  std::size_t written_ = 0;
};

}  // namespace

HttpTestServer::HttpTestServer(asio::io_context& io)
    : state_(std::make_shared<State>(io)),
      acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}),
      port_(acceptor_.local_endpoint().port()) {
  accept();
}

HttpTestServer::HttpTestServer(asio::io_context& io, asio::ssl::context& tls) : HttpTestServer(io) {
  state_->tls = &tls;
}

HttpTestServer::~HttpTestServer() {
  std::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& weak : state_->sessions) {
    if (const auto session = weak.lock()) session->close();
  }
  state_->held.clear();
}

void HttpTestServer::accept() {
  acceptor_.async_accept(
      [this, state = state_](const std::error_code& ec, asio::ip::tcp::socket socket) {
        if (ec) return;
        ++state->connections;
        std::erase_if(state->sessions, [](const auto& weak) { return weak.expired(); });
        if (state->tls) {
          auto session = std::make_shared<Session<asio::ssl::stream<asio::ip::tcp::socket>>>(
              state, asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), *state->tls));
          state->sessions.push_back(session);
          session->start();
        } else {
          auto session = std::make_shared<Session<asio::ip::tcp::socket>>(state, std::move(socket));
          state->sessions.push_back(session);
          session->start();
        }
        accept();
      });
}

void HttpTestServer::reply(std::string path, HttpReply reply) {
  state_->replies[std::move(path)] = std::move(reply);
}

void HttpTestServer::silent(std::string path) {
  state_->silent.insert(std::move(path));
}

void HttpTestServer::split_writes(std::size_t bytes, std::chrono::milliseconds pause) {
  state_->chunk_bytes = bytes;
  state_->chunk_pause = pause;
}

std::string HttpTestServer::url(std::string_view path) const {
  return std::string(state_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

std::size_t HttpTestServer::connections() const {
  return state_->connections;
}

const std::vector<std::string>& HttpTestServer::requests() const {
  return state_->requests;
}

}  // namespace netmon::testing
