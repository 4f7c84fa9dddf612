#include "monitor/checks/traceroute_check.hpp"

#include <asio/steady_timer.hpp>
#include <cmath>
#include <optional>

#include "common/duration.hpp"
#include "monitor/checks/net/icmp_socket.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/params/traceroute_params.hpp"

namespace netmon::checks {
namespace {

constexpr std::uint16_t kPayloadBytes = 32;

// The parameters as parsed; a type of this file's own, so TypedCheck finds target_of.
struct TracerouteConfig : TracerouteParams {};

double to_ms(std::chrono::nanoseconds rtt) {
  return std::round(static_cast<double>(rtt.count()) / 1e3) / 1e3;
}

class TracerouteRun final : public CheckRun, public IcmpListener {
 public:
  TracerouteRun(CheckRunEnv& env, std::shared_ptr<const TracerouteConfig> config)
      : CheckRun(env), config_(std::move(config)), timer_(env.io()) {}

 private:
  enum class State : std::uint8_t {
    kUnsent,
    kPending,
    kTimeExceeded,
    kReached,
    kUnreachable,
    kFailed
  };
  // One echo request: probe k of hop ttl is hops_[(ttl - 1) * probes_per_hop + k].
  struct HopProbe {
    std::uint16_t seq = 0;
    State state = State::kUnsent;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    std::chrono::nanoseconds rtt{0};
    asio::ip::address from;
  };

  void on_start() override {
    resolve_then(config_->host, config_->family, &TracerouteRun::measure);
  }

  void on_cancel() override { stop(); }

  void measure(const asio::ip::address& address) {
    target_ = address;
    auto socket = env_.shared<IcmpSockets>().get(target_.is_v6());
    if (!socket) {
      finish(failure("icmp_unavailable", socket.error().message));
      return;
    }
    socket_ = *socket;
    const int per_hop = config_->probes_per_hop;
    probes_.resize(static_cast<std::size_t>(config_->max_hops * per_hop));
    // Every TTL at once: the whole path is measured within one timeout.
    for (int ttl = 1; ttl <= config_->max_hops; ++ttl) {
      for (int k = 0; k < per_hop; ++k) {
        const auto index = static_cast<std::size_t>((ttl - 1) * per_hop + k);
        const EchoTicket ticket =
            socket_->send_echo(EchoRequest{target_, kPayloadBytes, static_cast<std::uint8_t>(ttl),
                                           this, static_cast<std::uint32_t>(index)});
        HopProbe& probe = probes_[index];
        if (ticket.error) {
          probe.state = State::kFailed;
          send_error_ = ticket.error;
        } else {
          probe.seq = ticket.seq;
          probe.state = State::kPending;
          ++sent_;
        }
      }
    }
    if (try_conclude()) return;
    timer_.expires_after(config_->wait - elapsed());
    timer_.async_wait([self = self<TracerouteRun>()](const std::error_code& ec) {
      if (ec || self->done()) return;
      self->socket_->poll();  // answers already queued count
      if (!self->done()) self->conclude();
    });
  }

  void on_icmp_event(const IcmpEvent& event) override {
    if (done() || event.cookie >= probes_.size()) return;
    const auto keep = self<TracerouteRun>();  // finishing may drop the runner's reference
    HopProbe& probe = probes_[event.cookie];
    if (probe.state != State::kPending) return;
    probe.rtt = event.rtt;
    probe.from = event.from;
    probe.icmp_type = event.icmp_type;
    probe.icmp_code = event.icmp_code;
    switch (event.kind) {
      case IcmpEvent::Kind::kReply:
        mark(Phase::kFirstByte);
        probe.state = State::kReached;
        break;
      case IcmpEvent::Kind::kTimeExceeded:
        probe.state = State::kTimeExceeded;
        break;
      case IcmpEvent::Kind::kUnreachable:
        probe.state = State::kUnreachable;
        break;
      case IcmpEvent::Kind::kSendFailed:
        probe.state = State::kFailed;
        send_error_ = event.error;
        break;
    }
    try_conclude();
  }

  int ttl_of(std::size_t index) const {
    return static_cast<int>(index) / config_->probes_per_hop + 1;
  }

  // The lowest TTL whose probes ended in `state`, or 0.
  int first_ttl(State state) const {
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      if (probes_[i].state == state) return ttl_of(i);
    }
    return 0;
  }

  // The path is known once the target (or an unreachable) answered at some
  // TTL and every probe up to that TTL is answered; silent hops wait for the deadline.
  bool try_conclude() {
    int end = first_ttl(State::kReached);
    const int unreachable = first_ttl(State::kUnreachable);
    if (end == 0 || (unreachable != 0 && unreachable < end)) end = unreachable;
    const int limit = end != 0 ? end : config_->max_hops;
    for (std::size_t i = 0; i < probes_.size() && ttl_of(i) <= limit; ++i) {
      if (probes_[i].state == State::kPending) return false;
    }
    conclude();
    return true;
  }

  void stop() {
    timer_.cancel();
    if (!socket_) return;
    for (HopProbe& probe : probes_) {
      if (probe.state == State::kPending) socket_->cancel(probe.seq, this);
      if (probe.state == State::kPending) probe.state = State::kUnsent;
    }
  }

  void conclude() {
    stop();
    const int reached = first_ttl(State::kReached);
    const int unreachable = first_ttl(State::kUnreachable);
    int last = 0;  // hops listed: up to the target, an unreachable, or the last answer
    if (reached != 0 && (unreachable == 0 || reached <= unreachable)) {
      last = reached;
    } else if (unreachable != 0) {
      last = unreachable;
    } else {
      for (std::size_t i = 0; i < probes_.size(); ++i) {
        if (probes_[i].state == State::kTimeExceeded) last = ttl_of(i);
      }
    }
    const bool is_reached = reached != 0 && last == reached;

    nlohmann::json hops = nlohmann::json::array();
    std::optional<std::chrono::nanoseconds> target_rtt;
    const HopProbe* unreachable_probe = nullptr;
    for (int ttl = 1; ttl <= last; ++ttl) {
      const HopProbe* first = nullptr;
      std::optional<std::chrono::nanoseconds> best;
      int answers = 0;
      for (int k = 0; k < config_->probes_per_hop; ++k) {
        const HopProbe& probe =
            probes_[static_cast<std::size_t>((ttl - 1) * config_->probes_per_hop + k)];
        if (probe.state != State::kTimeExceeded && probe.state != State::kReached &&
            probe.state != State::kUnreachable) {
          continue;
        }
        ++answers;
        if (!first) first = &probe;
        if (!best || probe.rtt < *best) best = probe.rtt;
        if (probe.state == State::kUnreachable && !unreachable_probe) unreachable_probe = &probe;
      }
      nlohmann::json hop = {
          {"ttl", ttl},
          {"address", first ? nlohmann::json(first->from.to_string()) : nlohmann::json(nullptr)},
          {"rtt_ms", best ? nlohmann::json(to_ms(*best)) : nlohmann::json(nullptr)}};
      if (config_->probes_per_hop > 1) hop["answers"] = answers;
      if (first && first->state == State::kUnreachable) {
        hop["icmp_error"] =
            describe_icmp_error(target_.is_v6(), first->icmp_type, first->icmp_code);
      }
      hops.push_back(std::move(hop));
      if (ttl == reached) target_rtt = best;
    }
    const std::string address = target_.to_string();
    nlohmann::json details = {{"address", address},
                              {"reached", is_reached},
                              {"hop_count", last},
                              {"hops", std::move(hops)}};
    if (is_reached) {
      Outcome outcome = up(std::move(details));
      if (target_rtt) {
        outcome.latency = std::chrono::duration_cast<std::chrono::microseconds>(*target_rtt);
      }
      finish(std::move(outcome));
      return;
    }
    if (unreachable_probe) {
      finish(down("dest_unreachable",
                  address + ": " +
                      describe_icmp_error(target_.is_v6(), unreachable_probe->icmp_type,
                                          unreachable_probe->icmp_code) +
                      " (reported by " + unreachable_probe->from.to_string() + " at hop " +
                      std::to_string(last) + ")",
                  std::move(details)));
      return;
    }
    if (sent_ == 0 && send_error_) {
      // Nothing could be sent at all.
      finish(socket_outcome(send_error_, "send", std::move(details), "send to " + address));
      return;
    }
    finish(down("unreachable_within_max_hops",
                address + " not reached within max_hops " + std::to_string(config_->max_hops) +
                    " (" + std::to_string(last) + " hop" + (last == 1 ? "" : "s") +
                    " answered within " + format_duration(config_->wait) + ")",
                std::move(details)));
  }

  std::shared_ptr<const TracerouteConfig> config_;
  asio::steady_timer timer_;
  asio::ip::address target_;
  IcmpSocket* socket_ = nullptr;
  std::vector<HopProbe> probes_;
  int sent_ = 0;
  std::error_code send_error_;
};

std::string target_of(const TracerouteConfig& config) {
  return config.host;
}

using TracerouteCheck = TypedCheck<TracerouteConfig, TracerouteRun>;

}  // namespace

Expected<CheckPtr> parse_traceroute_check(const CheckSpec& spec) {
  auto params = parse_traceroute_params(spec);
  if (!params) return params.error();
  return CheckPtr(std::make_shared<TracerouteCheck>(TracerouteConfig{std::move(params).value()}));
}

}  // namespace netmon::checks
