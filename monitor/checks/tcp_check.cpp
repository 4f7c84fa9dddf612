#include "monitor/checks/tcp_check.hpp"

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "monitor/checks/net/excerpt.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/params/tcp_params.hpp"

namespace netmon::checks {
namespace {

constexpr std::size_t kMaxBannerBytes = 64 * 1024;
constexpr std::size_t kShownBannerBytes = 120;

// The parameters as parsed; a type of this file's own, so TypedCheck finds target_of.
struct TcpConfig : TcpParams {};

class TcpRun final : public CheckRun {
 public:
  TcpRun(CheckRunEnv& env, std::shared_ptr<const TcpConfig> config)
      : CheckRun(env), config_(std::move(config)), socket_(env.io()) {}

 private:
  void on_start() override { resolve_then(config_->host, IpFamily::kAny, &TcpRun::connect); }

  void on_cancel() override {
    std::error_code ignored;
    socket_.close(ignored);
  }

  void connect(const asio::ip::address& address) {
    const asio::ip::tcp::endpoint endpoint(address, config_->port);
    socket_.async_connect(
        endpoint, [self = self<TcpRun>()](const std::error_code& ec) { self->on_connected(ec); });
  }

  void on_connected(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish(socket_outcome(ec, "connect"));
      return;
    }
    mark(Phase::kConnect);
    if (config_->send.empty() && config_->expect.empty()) {
      // Abortive close: no TIME_WAIT left behind per check on the monitor host.
      std::error_code ignored;
      socket_.set_option(asio::socket_base::linger(true, 0), ignored);
      socket_.close(ignored);
      finish(up());
      return;
    }
    if (!config_->send.empty()) {
      asio::async_write(socket_, asio::buffer(config_->send),
                        [self = self<TcpRun>()](const std::error_code& error, std::size_t) {
                          self->on_sent(error);
                        });
    } else {
      on_sent({});
    }
  }

  void on_sent(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish(down(reason_for(ec, "send"), "send: " + ec.message()));
      return;
    }
    if (config_->expect.empty()) {
      close_and_finish(up());
      return;
    }
    read_more();
  }

  void read_more() {
    chunk_.resize(4096);
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = self<TcpRun>()](const std::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    if (done()) return;
    if (n > 0) mark(Phase::kFirstByte);
    received_.append(chunk_.data(), n);
    if (received_.find(config_->expect) != std::string::npos) {
      close_and_finish(up({{"received_bytes", received_.size()}}));
      return;
    }
    if (ec || received_.size() >= kMaxBannerBytes) {
      const std::string shown = printable_excerpt(received_, kShownBannerBytes);
      close_and_finish(down(
          "banner_mismatch",
          "expected '" + printable_excerpt(config_->expect, config_->expect.size()) + "' but " +
              (ec ? "the server sent '" + shown + "' and " + ec.message()
                  : "the first 64 KiB did not contain it"),
          {{"received_bytes", received_.size()}, {"received", shown}}));
      return;
    }
    read_more();
  }

  void close_and_finish(Outcome outcome) {
    std::error_code ignored;
    socket_.close(ignored);
    finish(std::move(outcome));
  }

  std::shared_ptr<const TcpConfig> config_;
  asio::ip::tcp::socket socket_;
  std::string chunk_;
  std::string received_;
};

std::string target_of(const TcpConfig& config) {
  return host_port_target(config.host, config.port);
}

using TcpCheck = TypedCheck<TcpConfig, TcpRun>;

}  // namespace

Expected<CheckPtr> parse_tcp_check(const CheckSpec& spec) {
  auto params = parse_tcp_params(spec);
  if (!params) return params.error();
  return CheckPtr(std::make_shared<TcpCheck>(TcpConfig{std::move(params).value()}));
}

}  // namespace netmon::checks
