#include "monitor/checks/echo_check.hpp"

#include <sys/socket.h>

#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <random>

#include "monitor/checks/net/excerpt.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/net/udp_socket.hpp"
#include "monitor/checks/params/echo_params.hpp"

namespace netmon::checks {
namespace {

using Clock = std::chrono::steady_clock;

// Payload bytes shown in results (escaped, then "..." when cut).
constexpr std::size_t kShownBytes = 64;
// Generated sentences and their echo live inside the run (no allocation).
constexpr std::size_t kInlineBytes = 128;

// ---- the generated sentence ------------------------------------------------
// adjective adjective noun verb preposition number plural-noun:
// "quiet amber falcon drifts over seven harbors".

constexpr std::array<std::string_view, 16> kAdjectives = {
    "quiet", "amber",  "bright", "silver",   "gentle",  "rapid", "hidden", "crimson",
    "lucky", "frozen", "golden", "restless", "patient", "wild",  "tiny",   "ancient"};
constexpr std::array<std::string_view, 16> kNouns = {
    "falcon", "river",  "lantern", "meadow",  "comet",   "heron",  "willow", "engine",
    "canyon", "beacon", "otter",   "glacier", "orchard", "signal", "pebble", "tower"};
constexpr std::array<std::string_view, 16> kVerbs = {
    "drifts", "wanders", "glides",   "sings",   "hums",  "races",   "rests",  "climbs",
    "dances", "echoes",  "sparkles", "travels", "waits", "listens", "shines", "turns"};
constexpr std::array<std::string_view, 8> kPrepositions = {"over", "past",   "beyond", "under",
                                                           "near", "across", "toward", "around"};
constexpr std::array<std::string_view, 16> kNumbers = {
    "two", "three",  "four",   "five",   "six",   "seven",  "eight",     "nine",
    "ten", "eleven", "twelve", "twenty", "forty", "ninety", "a hundred", "a thousand"};
constexpr std::array<std::string_view, 16> kPlaces = {
    "harbors", "hills",   "bridges",  "stars",   "islands",  "gardens", "valleys", "towers",
    "rivers",  "forests", "lanterns", "meadows", "rooftops", "clouds",  "shores",  "fields"};

// splitmix64 per thread, seeded once from the OS: cheap, and different each run.
std::uint64_t next_random() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }();
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Writes a sentence into `out` and returns its length.
std::size_t generate_sentence(std::array<char, kInlineBytes>& out) {
  std::uint64_t bits = next_random();
  auto take = [&bits](std::size_t choices) {
    const std::size_t index = bits % choices;
    bits /= choices;
    return index;
  };
  const std::size_t first = take(kAdjectives.size());
  const std::size_t second = (first + 1 + take(kAdjectives.size() - 1)) % kAdjectives.size();
  const std::array<std::string_view, 7> words = {kAdjectives[first],
                                                 kAdjectives[second],
                                                 kNouns[take(kNouns.size())],
                                                 kVerbs[take(kVerbs.size())],
                                                 kPrepositions[take(kPrepositions.size())],
                                                 kNumbers[take(kNumbers.size())],
                                                 kPlaces[take(kPlaces.size())]};
  std::size_t size = 0;
  for (const std::string_view word : words) {
    if (size > 0) out[size++] = ' ';
    std::memcpy(out.data() + size, word.data(), word.size());
    size += word.size();
  }
  return size;
}

// ---- helpers -----------------------------------------------------------------

// Payload and echo bytes as results show them.
std::string shown(std::string_view bytes) {
  return printable_excerpt(bytes, kShownBytes);
}

struct EchoConfig : EchoParams {
  std::string shown_payload;  // shown(payload), made once at parse time
};

// The payload of one run: the configured one, or a fresh sentence kept inline.
class RunPayload {
 public:
  explicit RunPayload(const EchoConfig& config) {
    if (config.payload.empty()) {
      view_ = std::string_view(generated_.data(), generate_sentence(generated_));
    } else {
      view_ = config.payload;
      shown_ = &config.shown_payload;
    }
  }
  RunPayload(const RunPayload&) = delete;
  RunPayload& operator=(const RunPayload&) = delete;

  std::string_view view() const { return view_; }
  std::size_t size() const { return view_.size(); }
  // Generated sentences are short printable ASCII: shown as they are.
  std::string shown() const { return shown_ ? *shown_ : std::string(view_); }

 private:
  std::array<char, kInlineBytes> generated_;
  std::string_view view_;
  const std::string* shown_ = nullptr;
};

nlohmann::json echo_details(const RunPayload& payload, std::size_t received_bytes, bool match) {
  return {{"sent_bytes", payload.size()},
          {"received_bytes", received_bytes},
          {"match", match},
          {"payload", payload.shown()}};
}

Outcome mismatch(const RunPayload& payload, std::string_view received, std::size_t received_bytes,
                 std::size_t offset) {
  nlohmann::json details = echo_details(payload, received_bytes, false);
  details["mismatch_offset"] = offset;
  details["received"] = shown(received);
  return down("echo_mismatch",
              "the echo differs from the payload at byte " + std::to_string(offset) + " (sent " +
                  std::to_string(payload.size()) + " bytes, got '" + shown(received) + "')",
              std::move(details));
}

// Room for the echo: inline for small payloads, on the heap for big ones.
class EchoBuffer {
 public:
  EchoBuffer() = default;
  EchoBuffer(const EchoBuffer&) = delete;
  EchoBuffer& operator=(const EchoBuffer&) = delete;

  char* reserve(std::size_t size) {
    if (size <= inline_.size()) return inline_.data();
    heap_.reset(new char[size]);
    return heap_.get();
  }

 private:
  std::array<char, kInlineBytes> inline_;
  std::unique_ptr<char[]> heap_;
};

// ---- tcp_echo ------------------------------------------------------------------

class TcpEchoRun final : public CheckRun {
 public:
  TcpEchoRun(CheckRunEnv& env, std::shared_ptr<const EchoConfig> config)
      : CheckRun(env), config_(std::move(config)), payload_(*config_), socket_(env.io()) {}

 private:
  void on_start() override { resolve_then(config_->host, IpFamily::kAny, &TcpEchoRun::connect); }

  void on_cancel() override {
    std::error_code ignored;
    socket_.close(ignored);
  }

  void connect(const asio::ip::address& address) {
    const asio::ip::tcp::endpoint endpoint(address, config_->port);
    socket_.async_connect(endpoint, [self = self<TcpEchoRun>()](const std::error_code& ec) {
      self->on_connected(ec);
    });
  }

  void on_connected(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish(socket_outcome(ec, "connect"));
      return;
    }
    mark(Phase::kConnect);
    const std::string_view payload = payload_.view();
    echo_ = buffer_.reserve(payload.size());
    sent_at_ = Clock::now();
    // Read while writing: a big payload comes back before it is all sent.
    asio::async_write(socket_, asio::buffer(payload.data(), payload.size()),
                      [self = self<TcpEchoRun>()](const std::error_code& error, std::size_t) {
                        self->on_sent(error);
                      });
    read_more();
  }

  void on_sent(const std::error_code& ec) {
    if (done() || !ec) return;
    close_and_finish(down(reason_for(ec, "send"), "send: " + ec.message(),
                          echo_details(payload_, received_, false)));
  }

  void read_more() {
    socket_.async_read_some(asio::buffer(echo_ + received_, payload_.view().size() - received_),
                            [self = self<TcpEchoRun>()](const std::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    if (done()) return;
    const std::string_view payload = payload_.view();
    if (n > 0) {
      mark(Phase::kFirstByte);
      // Compare each piece as it arrives: a wrong echo is a verdict at once.
      if (std::memcmp(echo_ + received_, payload.data() + received_, n) != 0) {
        std::size_t offset = received_;
        while (echo_[offset] == payload[offset])
          ++offset;
        received_ += n;
        close_and_finish(mismatch(payload_, std::string_view(echo_, received_), received_, offset));
        return;
      }
      received_ += n;
      if (received_ == payload.size()) {
        Outcome outcome = up(echo_details(payload_, received_, true));
        outcome.latency =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at_);
        close_and_finish(std::move(outcome));
        return;
      }
    }
    if (ec) {
      const std::string progress = " after echoing " + std::to_string(received_) + " of " +
                                   std::to_string(payload.size()) + " bytes";
      close_and_finish(down(
          reason_for(ec, "read"),
          (ec == asio::error::eof ? "the server closed the connection" : "read: " + ec.message()) +
              progress,
          echo_details(payload_, received_, false)));
      return;
    }
    read_more();
  }

  void close_and_finish(Outcome outcome) {
    // Abortive close: no TIME_WAIT left behind per check on the monitor host.
    std::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
    finish(std::move(outcome));
  }

  std::shared_ptr<const EchoConfig> config_;
  RunPayload payload_;
  EchoBuffer buffer_;
  asio::ip::tcp::socket socket_;
  char* echo_ = nullptr;
  std::size_t received_ = 0;
  Clock::time_point sent_at_;
};

// ---- udp_echo ------------------------------------------------------------------

class UdpEchoRun final : public CheckRun {
 public:
  UdpEchoRun(CheckRunEnv& env, std::shared_ptr<const EchoConfig> config)
      : CheckRun(env), config_(std::move(config)), payload_(*config_), socket_(env.io()) {}

 private:
  void on_start() override { resolve_then(config_->host, IpFamily::kAny, &UdpEchoRun::send); }

  void on_cancel() override {
    std::error_code ignored;
    socket_.close(ignored);
  }

  void send(const asio::ip::address& address) {
    const asio::ip::udp::endpoint endpoint(address, config_->port);
    if (const SocketError error = open_connected_udp(socket_, endpoint)) {
      close_and_finish(socket_outcome(error.code, error.step));
      return;
    }
    const std::string_view payload = payload_.view();
    // One spare byte tells a longer reply from an exact one.
    echo_ = buffer_.reserve(payload.size() + 1);
    sent_at_ = Clock::now();
    std::error_code ec;
    socket_.send(asio::buffer(payload.data(), payload.size()), 0, ec);
    if (ec == asio::error::would_block) {
      socket_.async_send(asio::buffer(payload.data(), payload.size()),
                         [self = self<UdpEchoRun>()](const std::error_code& error, std::size_t) {
                           if (!self->done() && error) self->on_send_failed(error);
                         });
    } else if (ec) {
      on_send_failed(ec);
      return;
    }
    // MSG_TRUNC: the reply's real size even when it does not fit the buffer.
    socket_.async_receive(asio::buffer(echo_, payload.size() + 1), MSG_TRUNC,
                          [self = self<UdpEchoRun>()](const std::error_code& error, std::size_t n) {
                            self->on_reply(error, n);
                          });
  }

  Outcome socket_down(const std::error_code& ec, std::string_view phase) {
    if (ec == asio::error::connection_refused) {
      return down("port_unreachable", "the port is closed (ICMP port unreachable)",
                  echo_details(payload_, 0, false));
    }
    return socket_outcome(ec, phase, echo_details(payload_, 0, false));
  }

  void on_send_failed(const std::error_code& ec) { close_and_finish(socket_down(ec, "send")); }

  void on_reply(const std::error_code& ec, std::size_t n) {
    if (done()) return;
    if (ec) {
      close_and_finish(socket_down(ec, "read"));
      return;
    }
    mark(Phase::kFirstByte);
    const std::string_view payload = payload_.view();
    const std::string_view echo(echo_, std::min(n, payload.size() + 1));
    if (echo == payload) {
      Outcome outcome = up(echo_details(payload_, n, true));
      outcome.latency =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at_);
      close_and_finish(std::move(outcome));
      return;
    }
    std::size_t offset = 0;
    while (offset < echo.size() && offset < payload.size() && echo[offset] == payload[offset]) {
      ++offset;
    }
    close_and_finish(mismatch(payload_, echo, n, offset));
  }

  void close_and_finish(Outcome outcome) {
    std::error_code ignored;
    socket_.close(ignored);
    finish(std::move(outcome));
  }

  std::shared_ptr<const EchoConfig> config_;
  RunPayload payload_;
  EchoBuffer buffer_;
  asio::ip::udp::socket socket_;
  char* echo_ = nullptr;
  Clock::time_point sent_at_;
};

// ---- the checks ------------------------------------------------------------------

std::string target_of(const EchoConfig& config) {
  return host_port_target(config.host, config.port);
}

template <class Run>
Expected<CheckPtr> make_echo_check(Expected<EchoParams> params) {
  if (!params) return params.error();
  EchoConfig config{std::move(params).value(), {}};
  config.shown_payload = shown(config.payload);
  return CheckPtr(std::make_shared<TypedCheck<EchoConfig, Run>>(std::move(config)));
}

}  // namespace

Expected<CheckPtr> parse_tcp_echo_check(const CheckSpec& spec) {
  return make_echo_check<TcpEchoRun>(parse_tcp_echo_params(spec));
}

Expected<CheckPtr> parse_udp_echo_check(const CheckSpec& spec) {
  return make_echo_check<UdpEchoRun>(parse_udp_echo_params(spec));
}

}  // namespace netmon::checks
