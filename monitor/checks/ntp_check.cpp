#include "monitor/checks/ntp_check.hpp"

#include <array>
#include <asio/ip/udp.hpp>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <span>

#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/net/udp_socket.hpp"
#include "monitor/checks/params/ntp_params.hpp"

namespace netmon::checks {
namespace {

constexpr std::size_t kHeaderBytes = 48;
constexpr std::uint8_t kClientRequest = (0 << 6) | (4 << 3) | 3;  // LI 0, VN 4, mode 3 (client)
constexpr int kModeServer = 4;
constexpr int kLeapAlarm = 3;
constexpr int kMaxStratum = 15;
constexpr std::uint64_t kUnixToNtpSeconds = 2'208'988'800;  // 1900-01-01 .. 1970-01-01
constexpr double kTwoTo32 = 4294967296.0;

// Field offsets in the 48-byte header (RFC 5905 figure 8).
constexpr std::size_t kStratumAt = 1;
constexpr std::size_t kPrecisionAt = 3;
constexpr std::size_t kRootDelayAt = 4;
constexpr std::size_t kRootDispersionAt = 8;
constexpr std::size_t kReferenceIdAt = 12;
constexpr std::size_t kOriginateAt = 24;
constexpr std::size_t kReceiveAt = 32;
constexpr std::size_t kTransmitAt = 40;

// The parameters as parsed; a type of this file's own, so TypedCheck finds target_of.
struct NtpConfig : NtpParams {};

std::uint32_t read_be32(const std::uint8_t* at) {
  return (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) | (std::uint32_t{at[2]} << 8) |
         std::uint32_t{at[3]};
}

std::uint64_t read_be64(const std::uint8_t* at) {
  return (std::uint64_t{read_be32(at)} << 32) | read_be32(at + 4);
}

void write_be64(std::uint8_t* at, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    at[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// The request's transmit timestamp is a random nonce (RFC 5905 §9.1 data
// minimisation): the reply must echo it as its originate timestamp, which an
// off-path sender cannot guess. T1 is kept locally.
std::uint64_t next_nonce() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }();
  std::uint64_t z;
  do {  // splitmix64
    state += 0x9e3779b97f4a7c15ULL;
    z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
  } while (z == 0);
  return z;
}

// 16.16 fixed point seconds (root delay, root dispersion) in milliseconds.
double short_format_ms(std::uint32_t value) {
  return value / 65536.0 * 1000.0;
}

// Rounded to the microsecond: more digits would be noise.
double round_ms(double ms) {
  return std::round(ms * 1000.0) / 1000.0;
}

std::string signed_ms(double ms) {
  std::array<char, 48> text{};
  std::snprintf(text.data(), text.size(), "%+.3f ms", ms);
  return text.data();
}

// The reference id of a stratum-0 (kiss code) or stratum-1 (source name) reply:
// up to four printable ASCII characters.
std::string ascii_id(const std::uint8_t* at) {
  std::string id;
  for (int i = 0; i < 4 && at[i] != 0; ++i) {
    if (at[i] > 0x20 && at[i] < 0x7f) id.push_back(static_cast<char>(at[i]));
  }
  return id;
}

std::string dotted_id(const std::uint8_t* at) {
  return std::to_string(at[0]) + "." + std::to_string(at[1]) + "." + std::to_string(at[2]) + "." +
         std::to_string(at[3]);
}

std::string_view kiss_meaning(std::string_view code) {
  struct Kiss {
    std::string_view code;
    std::string_view meaning;
  };
  static constexpr std::array kKisses{
      Kiss{"RATE", "rate exceeded, poll less often"},
      Kiss{"DENY", "access denied by the server"},
      Kiss{"RSTR", "access denied by the server's policy"},
      Kiss{"INIT", "the server has not synchronised yet"},
      Kiss{"STEP", "the server stepped its clock and has not resynchronised"},
      Kiss{"AUTH", "server authentication failed"},
      Kiss{"CRYP", "cryptographic authentication failed"},
      Kiss{"NKEY", "no key found"},
      Kiss{"AUTO", "autokey sequence failed"},
      Kiss{"DROP", "lost peer in symmetric mode"},
  };
  for (const Kiss& kiss : kKisses) {
    if (kiss.code == code) return kiss.meaning;
  }
  return "stratum 0: unspecified or invalid";
}

class NtpRun final : public CheckRun {
 public:
  NtpRun(CheckRunEnv& env, std::shared_ptr<const NtpConfig> config)
      : CheckRun(env), config_(std::move(config)), socket_(env.io()) {}

 private:
  void on_start() override { resolve_then(config_->server, IpFamily::kAny, &NtpRun::query); }

  void on_cancel() override {
    std::error_code ignored;
    socket_.close(ignored);
  }

  void query(const asio::ip::address& address) {
    const asio::ip::udp::endpoint endpoint(address, config_->port);
    if (const SocketError error = open_connected_udp(socket_, endpoint)) {
      close_and_finish(socket_outcome(error.code, error.step));
      return;
    }

    std::array<std::uint8_t, kHeaderBytes> request{};
    request[0] = kClientRequest;
    nonce_ = next_nonce();
    write_be64(request.data() + kTransmitAt, nonce_);
    t1_ = to_ntp_time(std::chrono::system_clock::now());
    sent_at_ = std::chrono::steady_clock::now();
    std::error_code ec;
    socket_.send(asio::buffer(request), 0, ec);
    if (ec == asio::error::connection_refused) {
      close_and_finish(down("port_unreachable", "send: " + ec.message()));
      return;
    }
    if (ec) {
      close_and_finish(socket_outcome(ec, "send"));
      return;
    }
    wait_for_reply();
  }

  void wait_for_reply() {
    socket_.async_wait(
        asio::socket_base::wait_read,
        [self = self<NtpRun>()](const std::error_code& ec) { self->on_readable(ec); });
  }

  // Drains every queued datagram (the reactor is edge-triggered): foreign
  // replies are skipped, the first reply to our request decides.
  void on_readable(const std::error_code& wait_error) {
    if (done()) return;
    if (wait_error) {
      close_and_finish(down(reason_for(wait_error, "read"), "wait: " + wait_error.message()));
      return;
    }
    for (;;) {
      std::error_code ec;
      const std::size_t n = socket_.receive(asio::buffer(reply_), 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        wait_for_reply();
        return;
      }
      if (ec == asio::error::connection_refused) {
        close_and_finish(down("port_unreachable", "ICMP port unreachable from " + config_->server +
                                                      ":" + std::to_string(config_->port)));
        return;
      }
      if (ec) {
        close_and_finish(socket_outcome(ec, "read", {}, "receive"));
        return;
      }
      const std::uint64_t t4 = t1_ + to_ntp_duration(std::chrono::steady_clock::now() - sent_at_);
      mark(Phase::kFirstByte);
      const NtpExchange exchange{nonce_, t1_, t4, config_->max_offset_ms, foreign_replies_};
      if (std::optional<Outcome> outcome = judge_ntp_reply({reply_.data(), n}, exchange)) {
        close_and_finish(std::move(*outcome));
        return;
      }
      ++foreign_replies_;
    }
  }

  void close_and_finish(Outcome outcome) {
    std::error_code ignored;
    socket_.close(ignored);
    finish(std::move(outcome));
  }

  std::shared_ptr<const NtpConfig> config_;
  asio::ip::udp::socket socket_;
  std::uint64_t nonce_ = 0;
  std::uint64_t t1_ = 0;
  std::chrono::steady_clock::time_point sent_at_;
  std::uint32_t foreign_replies_ = 0;
  // Longer replies (extension fields, MAC) are truncated: only the header is read.
  std::array<std::uint8_t, 64> reply_{};
};

std::string target_of(const NtpConfig& config) {
  return host_port_target(config.server, config.port);
}

using NtpCheck = TypedCheck<NtpConfig, NtpRun>;

}  // namespace

std::uint64_t to_ntp_time(std::chrono::system_clock::time_point time) {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::int64_t seconds = ns / 1'000'000'000;
  std::int64_t rest = ns % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    --seconds;
  }
  const auto ntp_seconds = static_cast<std::uint64_t>(seconds) + kUnixToNtpSeconds;
  const std::uint64_t fraction = (static_cast<std::uint64_t>(rest) << 32) / 1'000'000'000;
  return (ntp_seconds << 32) | fraction;
}

std::uint64_t to_ntp_duration(std::chrono::nanoseconds duration) {
  const std::int64_t ns = std::max<std::int64_t>(0, duration.count());
  const auto seconds = static_cast<std::uint64_t>(ns / 1'000'000'000);
  const auto rest = static_cast<std::uint64_t>(ns % 1'000'000'000);
  return (seconds << 32) + (rest << 32) / 1'000'000'000;
}

NtpSample ntp_sample(std::uint64_t t1, std::uint64_t t2, std::uint64_t t3, std::uint64_t t4) {
  const auto seconds_between = [](std::uint64_t later, std::uint64_t earlier) {
    return static_cast<double>(static_cast<std::int64_t>(later - earlier)) / kTwoTo32;
  };
  const double server_minus_client = seconds_between(t2, t1);  // T2 - T1
  const double held = seconds_between(t3, t2);                 // T3 - T2
  const double round_trip = seconds_between(t4, t1);           // T4 - T1
  // ((T2-T1) + (T3-T4)) / 2 with T3-T4 = (T3-T2) + (T2-T1) - (T4-T1).
  return NtpSample{server_minus_client + (held - round_trip) / 2, round_trip - held};
}

std::optional<Outcome> judge_ntp_reply(std::span<const std::uint8_t> reply,
                                       const NtpExchange& exchange) {
  const std::uint8_t* packet = reply.data();
  const std::size_t n = reply.size();
  if (n < kHeaderBytes) {
    return down("bad_reply",
                "reply of " + std::to_string(n) + " bytes is shorter than the 48-byte NTP header");
  }
  const int leap = packet[0] >> 6;
  const int version = (packet[0] >> 3) & 0x7;
  const int mode = packet[0] & 0x7;
  if (mode != kModeServer) {
    return down("bad_reply", "reply has mode " + std::to_string(mode) + " (expected 4: server)");
  }
  if (version < 1 || version > 4) {
    return down("bad_reply", "reply has version " + std::to_string(version) + " (allowed: 1..4)");
  }
  if (read_be64(packet + kOriginateAt) != exchange.nonce) return std::nullopt;

  const int stratum = packet[kStratumAt];
  nlohmann::json details{{"stratum", stratum}, {"leap", leap}, {"version", version}};
  if (exchange.foreign_replies > 0) details["foreign_replies"] = exchange.foreign_replies;
  if (stratum == 0) {
    const std::string code = ascii_id(packet + kReferenceIdAt);
    const std::string_view meaning = kiss_meaning(code);
    details["kiss_code"] = code;
    return down("kiss_of_death",
                "server sent kiss-of-death '" + code + "' (" + std::string(meaning) + ")",
                std::move(details));
  }
  const std::string reference_id =
      stratum == 1 ? ascii_id(packet + kReferenceIdAt) : dotted_id(packet + kReferenceIdAt);
  details["reference_id"] = reference_id;
  if (leap == kLeapAlarm) {
    return down(
        "unsynchronized",
        "server is not synchronised (leap indicator 3, stratum " + std::to_string(stratum) + ")",
        std::move(details));
  }
  if (stratum > kMaxStratum) {
    return down("bad_stratum",
                "server reports stratum " + std::to_string(stratum) + " (allowed: 1..15)",
                std::move(details));
  }
  const std::uint64_t t2 = read_be64(packet + kReceiveAt);
  const std::uint64_t t3 = read_be64(packet + kTransmitAt);
  if (t3 == 0) return down("bad_reply", "reply has a zero transmit timestamp", std::move(details));

  const NtpSample sample = ntp_sample(exchange.t1, t2, t3, exchange.t4);
  const double offset_ms = round_ms(sample.offset_s * 1000.0);
  const double delay_ms = round_ms(sample.delay_s * 1000.0);
  details["offset_ms"] = offset_ms;
  details["delay_ms"] = delay_ms;
  details["root_delay_ms"] = round_ms(short_format_ms(read_be32(packet + kRootDelayAt)));
  details["root_dispersion_ms"] = round_ms(short_format_ms(read_be32(packet + kRootDispersionAt)));
  details["precision"] = static_cast<std::int8_t>(packet[kPrecisionAt]);

  Outcome outcome = up();
  if (exchange.max_offset_ms > 0 &&
      std::abs(offset_ms) > static_cast<double>(exchange.max_offset_ms)) {
    outcome = down("offset_too_large", "clock offset " + signed_ms(offset_ms) +
                                           " exceeds max_offset_ms " +
                                           std::to_string(exchange.max_offset_ms));
  }
  outcome.details = std::move(details);
  outcome.latency = std::chrono::microseconds(
      std::max<std::int64_t>(0, std::llround(sample.delay_s * 1'000'000.0)));
  return outcome;
}

Expected<CheckPtr> parse_ntp_check(const CheckSpec& spec) {
  auto params = parse_ntp_params(spec);
  if (!params) return params.error();
  return CheckPtr(std::make_shared<NtpCheck>(NtpConfig{std::move(params).value()}));
}

}  // namespace netmon::checks
