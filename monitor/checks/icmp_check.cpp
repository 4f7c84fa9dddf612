#include "monitor/checks/icmp_check.hpp"

#include <algorithm>
#include <array>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <optional>

#include "common/duration.hpp"
#include "monitor/checks/net/icmp_socket.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/params/icmp_params.hpp"

namespace netmon::checks {
namespace {

struct IcmpConfig : IcmpParams {
  // Set when host is an IP literal: the address text is formatted once per
  // check, not on every run.
  std::optional<asio::ip::address> literal;
  std::string literal_text;
};

double rounded(double value, double scale) {
  return std::round(value * scale) / scale;
}
double to_ms(std::int64_t ns) {
  return rounded(static_cast<double>(ns) / 1e6, 1000);
}

class IcmpRun final : public CheckRun, public IcmpListener {
 public:
  IcmpRun(CheckRunEnv& env, std::shared_ptr<const IcmpConfig> config)
      : CheckRun(env), config_(std::move(config)), timer_(env.io()) {}

 private:
  // No member initialisers: slots [0, next_) are written before they are read,
  // so a run does not zero room for kMaxIcmpCount echoes each time.
  struct Echo {
    std::uint16_t seq;
    bool pending;
  };

  void on_start() override { resolve_then(config_->host, config_->family, &IcmpRun::measure); }

  void on_cancel() override { stop(); }

  void measure(const asio::ip::address& address) {
    target_ = address;
    auto socket = env_.shared<IcmpSockets>().get(target_.is_v6());
    if (!socket) {
      finish(failure("icmp_unavailable", socket.error().message));
      return;
    }
    socket_ = *socket;
    deadline_ = std::chrono::steady_clock::now() + (config_->wait - elapsed());
    send_next();
  }

  // Sends the next echo (all remaining ones when spacing is 0), then waits
  // for the spacing or, after the last one, for the answers.
  void send_next() {
    do {
      const EchoTicket ticket = socket_->send_echo(
          EchoRequest{target_, config_->size, 0, this, static_cast<std::uint32_t>(next_)});
      if (ticket.error) {
        echoes_[next_] = Echo{0, false};
        send_error_ = ticket.error;
      } else {
        echoes_[next_] = Echo{ticket.seq, true};
        ++pending_;
        ++sent_;
      }
      ++next_;
    } while (next_ < config_->count && config_->spacing.count() == 0);

    if (next_ < config_->count) {
      timer_.expires_after(config_->spacing);
      timer_.async_wait([self = self<IcmpRun>()](const std::error_code& ec) {
        if (ec || self->done()) return;
        self->send_next();
      });
      return;
    }
    if (pending_ == 0) {
      conclude();
      return;
    }
    timer_.expires_at(deadline_);
    timer_.async_wait([self = self<IcmpRun>()](const std::error_code& ec) {
      if (ec || self->done()) return;
      self->socket_->poll();  // replies already queued count
      if (!self->done()) self->conclude();
    });
  }

  void on_icmp_event(const IcmpEvent& event) override {
    if (done() || event.cookie >= static_cast<std::uint32_t>(next_)) return;
    const auto keep = self<IcmpRun>();  // finishing may drop the runner's reference
    Echo& echo = echoes_[event.cookie];
    if (!echo.pending) return;
    echo.pending = false;
    --pending_;
    switch (event.kind) {
      case IcmpEvent::Kind::kReply:
        mark(Phase::kFirstByte);
        rtts_ns_[received_++] = event.rtt.count();
        break;
      case IcmpEvent::Kind::kUnreachable:
      case IcmpEvent::Kind::kTimeExceeded:
        if (!icmp_error_) icmp_error_ = event;
        break;
      case IcmpEvent::Kind::kSendFailed:
        send_error_ = event.error;
        break;
    }
    if (next_ == config_->count && pending_ == 0) conclude();
  }

  void stop() {
    timer_.cancel();
    if (!socket_) return;
    for (int i = 0; i < next_; ++i) {
      if (echoes_[i].pending) socket_->cancel(echoes_[i].seq, this);
      echoes_[i].pending = false;
    }
    pending_ = 0;
  }

  void conclude() {
    stop();
    const IcmpConfig& config = *config_;
    const std::string address =
        target_ == config.literal ? config.literal_text : target_.to_string();
    const double loss_pct =
        rounded(100.0 * (config.count - received_) / static_cast<double>(config.count), 100);
    nlohmann::json details = {{"sent", sent_},
                              {"received", received_},
                              {"loss_pct", loss_pct},
                              {"address", address},
                              {"socket", to_string(socket_->kind())}};
    std::int64_t avg_ns = 0;
    if (received_ > 0) {
      std::sort(rtts_ns_.begin(), rtts_ns_.begin() + received_);
      std::int64_t sum = 0;
      for (int i = 0; i < received_; ++i)
        sum += rtts_ns_[i];
      avg_ns = sum / received_;
      const std::int64_t median = received_ % 2 == 1
                                      ? rtts_ns_[received_ / 2]
                                      : (rtts_ns_[received_ / 2 - 1] + rtts_ns_[received_ / 2]) / 2;
      details["rtt_min_ms"] = to_ms(rtts_ns_[0]);
      details["rtt_avg_ms"] = to_ms(avg_ns);
      details["rtt_max_ms"] = to_ms(rtts_ns_[received_ - 1]);
      details["rtt_median_ms"] = to_ms(median);
    } else {
      for (const char* key : {"rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "rtt_median_ms"}) {
        details[key] = nullptr;
      }
    }
    std::string icmp_error_text;
    if (icmp_error_) {
      icmp_error_text =
          describe_icmp_error(target_.is_v6(), icmp_error_->icmp_type, icmp_error_->icmp_code);
      details["icmp_error"] = icmp_error_text;
      details["icmp_error_from"] = icmp_error_->from.to_string();
    }

    const std::string counted = std::to_string(config.count) + " echo request" +
                                (config.count == 1 ? "" : "s") + " to " + address;
    if (received_ == 0) {
      if (icmp_error_) {
        const bool unreachable = icmp_error_->kind == IcmpEvent::Kind::kUnreachable;
        finish(down(unreachable ? "dest_unreachable" : "ttl_exceeded",
                    address + ": " + icmp_error_text + " (reported by " +
                        icmp_error_->from.to_string() + ")",
                    std::move(details)));
      } else if (sent_ == 0 && send_error_) {
        finish(socket_outcome(send_error_, "send", std::move(details), "send to " + address));
      } else {
        finish(down("no_reply",
                    "no reply to " + counted + " within " + format_duration(config.wait),
                    std::move(details)));
      }
      return;
    }
    Outcome outcome;
    if (loss_pct > config.max_loss_pct) {
      std::string lost = std::to_string(config.count - received_);
      outcome = down("packet_loss",
                     lost + " of " + counted + " unanswered (" + format_pct(loss_pct) +
                         "% loss, max_loss_pct " + format_pct(config.max_loss_pct) + ")",
                     std::move(details));
    } else {
      outcome = up(std::move(details));
    }
    outcome.latency =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(avg_ns));
    finish(std::move(outcome));
  }

  static std::string format_pct(double value) {
    std::array<char, 32> text{};
    const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} ? std::string(text.data(), end) : std::to_string(value);
  }

  std::shared_ptr<const IcmpConfig> config_;
  asio::steady_timer timer_;
  asio::ip::address target_;
  IcmpSocket* socket_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  int next_ = 0;      // echoes sent or attempted
  int sent_ = 0;      // echoes the socket accepted
  int pending_ = 0;   // sent and not answered yet
  int received_ = 0;  // replies (their rtts are rtts_ns_[0, received_))
  std::error_code send_error_;
  std::optional<IcmpEvent> icmp_error_;
  std::array<Echo, kMaxIcmpCount> echoes_;           // [0, next_) written
  std::array<std::int64_t, kMaxIcmpCount> rtts_ns_;  // [0, received_) written
};

std::string target_of(const IcmpConfig& config) {
  return config.host;
}

using IcmpCheck = TypedCheck<IcmpConfig, IcmpRun>;

}  // namespace

Expected<CheckPtr> parse_icmp_check(const CheckSpec& spec) {
  auto params = parse_icmp_params(spec);
  if (!params) return params.error();
  IcmpConfig config{std::move(params).value(), std::nullopt, {}};
  std::error_code not_literal;
  const asio::ip::address literal = asio::ip::make_address(config.host, not_literal);
  if (!not_literal) {
    config.literal = literal;
    config.literal_text = literal.to_string();
  }
  return CheckPtr(std::make_shared<IcmpCheck>(std::move(config)));
}

}  // namespace netmon::checks
