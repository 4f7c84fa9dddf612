#include "monitor/checks/udp_check.hpp"

#include <array>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include "common/duration.hpp"
#include "monitor/checks/net/excerpt.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/net/udp_socket.hpp"
#include "monitor/checks/params/udp_params.hpp"

namespace netmon::checks {
namespace {

constexpr std::size_t kShownReplyBytes = 64;

std::string_view state_name(UdpState state) {
  switch (state) {
    case kOpen:
      return "open";
    case kClosed:
      return "closed";
    case kOpenOrFiltered:
      return "open_or_filtered";
  }
  return "unknown";
}

std::string_view down_reason(UdpState state) {
  switch (state) {
    case kOpen:
      return "port_open";
    case kClosed:
      return "port_closed";
    case kOpenOrFiltered:
      return "open_or_filtered";
  }
  return "unknown";
}

std::string success_names(unsigned success) {
  std::string names;
  for (const UdpState state : {kOpen, kClosed, kOpenOrFiltered}) {
    if ((success & state) == 0) continue;
    if (!names.empty()) names += ", ";
    names += state_name(state);
  }
  return names;
}

// The parameters as parsed; a type of this file's own, so TypedCheck finds target_of.
struct UdpConfig : UdpParams {};

// One receive buffer per loop: a reply is inspected inside the handler that
// read it, so runs on the same loop can share it (no 64 KiB per run).
struct UdpReplyBuffer {
  explicit UdpReplyBuffer(CheckRunEnv&) {}
  std::array<char, 65536> bytes{};
};

class UdpRun final : public CheckRun {
 public:
  UdpRun(CheckRunEnv& env, std::shared_ptr<const UdpConfig> config)
      : CheckRun(env), config_(std::move(config)), socket_(env.io()), silence_(env.io()) {}

 private:
  void on_start() override { resolve_then(config_->host, IpFamily::kAny, &UdpRun::send); }

  void on_cancel() override { close(); }

  void send(const asio::ip::address& address) {
    const asio::ip::udp::endpoint endpoint(address, config_->port);
    if (const SocketError error = open_connected_udp(socket_, endpoint)) {
      close();
      finish(socket_outcome(error.code, error.step));
      return;
    }
    std::error_code ec;
    socket_.send(asio::buffer(config_->payload), 0, ec);
    if (ec == asio::error::connection_refused) {
      conclude(kClosed);
      return;
    }
    if (ec) {
      close();
      finish(socket_outcome(ec, "send"));
      return;
    }
    silence_.expires_after(config_->wait);
    silence_.async_wait([self = self<UdpRun>()](const std::error_code& timer_error) {
      if (self->done() || timer_error) return;
      self->conclude(kOpenOrFiltered);
    });
    wait_for_reply();
  }

  void wait_for_reply() {
    socket_.async_wait(
        asio::socket_base::wait_read,
        [self = self<UdpRun>()](const std::error_code& ec) { self->on_readable(ec); });
  }

  void on_readable(const std::error_code& wait_error) {
    if (done()) return;
    if (wait_error) {
      close();
      finish(down(reason_for(wait_error, "read"), "wait: " + wait_error.message()));
      return;
    }
    auto& buffer = env_.shared<UdpReplyBuffer>().bytes;
    std::error_code ec;
    const std::size_t n = socket_.receive(asio::buffer(buffer), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait_for_reply();
      return;
    }
    if (ec == asio::error::connection_refused) {
      conclude(kClosed);
      return;
    }
    if (ec) {
      close();
      finish(socket_outcome(ec, "read", {}, "receive"));
      return;
    }
    mark(Phase::kFirstByte);
    conclude(kOpen, std::string_view(buffer.data(), n));
  }

  // The first observation decides: a reply, an ICMP error or the silence timer.
  void conclude(UdpState state, std::string_view reply = {}) {
    close();
    nlohmann::json details{{"state", state_name(state)}};
    if (state == kOpen) details["received_bytes"] = reply.size();
    if ((config_->success & state) == 0) {
      std::string text;
      switch (state) {
        case kOpen:
          text = "the port replied (open)";
          break;
        case kClosed:
          text = "ICMP port unreachable (closed)";
          break;
        case kOpenOrFiltered:
          text = "no reply and no ICMP error within wait " + format_duration(config_->wait) +
                 " (open or filtered)";
          break;
      }
      finish(down(std::string(down_reason(state)),
                  text + "; success is: " + success_names(config_->success), std::move(details)));
      return;
    }
    if (state == kOpen && !config_->expect.empty() &&
        reply.find(config_->expect) == std::string_view::npos) {
      const std::string shown = printable_excerpt(reply, kShownReplyBytes);
      details["received"] = shown;
      finish(down("reply_mismatch",
                  "expected '" + printable_excerpt(config_->expect, config_->expect.size()) +
                      "' in the reply but got '" + shown + "' (" + std::to_string(reply.size()) +
                      " bytes)",
                  std::move(details)));
      return;
    }
    finish(up(std::move(details)));
  }

  void close() {
    std::error_code ignored;
    socket_.close(ignored);
    silence_.cancel();
  }

  std::shared_ptr<const UdpConfig> config_;
  asio::ip::udp::socket socket_;
  asio::steady_timer silence_;
};

std::string target_of(const UdpConfig& config) {
  return host_port_target(config.host, config.port);
}

using UdpCheck = TypedCheck<UdpConfig, UdpRun>;

}  // namespace

Expected<CheckPtr> parse_udp_check(const CheckSpec& spec) {
  auto params = parse_udp_params(spec);
  if (!params) return params.error();
  return CheckPtr(std::make_shared<UdpCheck>(UdpConfig{std::move(params).value()}));
}

}  // namespace netmon::checks
