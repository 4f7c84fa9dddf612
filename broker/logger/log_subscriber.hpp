#pragma once
// The logger's subscriber loop: a SUB socket on the broker's XPUB, topic
// prefixes for the filters that map to topics, the rest filtered after
// decoding; gap tracking per (monitor, epoch); one line per message to a
// LineSink. Bad input is counted and warned about (rate-limited), never fatal.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/logger/gap_tracker.hpp"
#include "broker/logger/line_sink.hpp"
#include "broker/logger/record_formatter.hpp"
#include "common/check_result.hpp"
#include "common/expected.hpp"
#include "common/log_limiter.hpp"
#include "common/monotonic_clock.hpp"

namespace netmon::logger {

struct LoggerFilter {
  std::string monitor;                // --monitor: empty = every monitor
  std::string check;                  // --check: empty = every check
  std::optional<CheckStatus> status;  // --status: results only
  bool events = true;                 // --events / --no-events
};

struct LoggerOptions {
  std::string broker = "tcp://127.0.0.1:5557";
  OutputFormat format = OutputFormat::kHuman;
  bool color = false;  // human lines with ANSI colours (logger_main decides: --color)
  LoggerFilter filter;
  // At most one malformed-message warning per interval (with the count since the last one).
  std::chrono::milliseconds malformed_warning_interval{10'000};
  const MonotonicClock* clock = &SteadyClock::instance();
};

struct LoggerStats {
  std::uint64_t received = 0;   // messages taken off the socket
  std::uint64_t results = 0;    // RESULT records decoded
  std::uint64_t losses = 0;     // LOSS records decoded
  std::uint64_t events = 0;     // EVENTs decoded
  std::uint64_t filtered = 0;   // decoded but excluded by a filter
  std::uint64_t lines = 0;      // lines written (results, losses, events, gaps)
  std::uint64_t malformed = 0;  // dropped: bad frames, unknown topic, decode error
  std::uint64_t gaps = 0;       // gap lines written
  std::uint64_t missing = 0;    // seqs those gaps cover
  bool ready = false;           // connected to the broker (inproc: at once)
};

// The SUB subscriptions for a filter (PROTOCOL.md §3 topics). A check filter
// still subscribes to the monitor's `_loss` topic: a loss concerns every check.
std::vector<std::string> topic_prefixes(const LoggerFilter& filter);

class LogSubscriber {
 public:
  // Creates and connects the socket (throws zmq::error_t for an endpoint
  // libzmq refuses). `sink` must outlive the subscriber.
  LogSubscriber(zmq::context_t& context, LoggerOptions options, LineSink& sink);
  LogSubscriber(const LogSubscriber&) = delete;
  LogSubscriber& operator=(const LogSubscriber&) = delete;
  ~LogSubscriber();  // stop()

  // The loop, on the caller's thread, until request_stop(). Returns an error
  // when the sink fails (disk full, output closed); lines are flushed either way.
  Expected<void> run();
  // Thread-safe, callable any number of times from any thread.
  void request_stop();

  // run() on an own thread (its error is logged) / request_stop() and join.
  void start();
  void stop();

  LoggerStats stats() const;  // thread-safe snapshot
  const std::vector<std::string>& subscriptions() const { return subscriptions_; }

 private:
  void handle_message(const std::vector<zmq::message_t>& frames, std::size_t frame_count);
  void handle_record(const protocol::Record& record);
  void handle_event(const protocol::Event& event);
  void handle_socket_event();
  void malformed(const std::string& reason);
  void write(const std::string& line);
  void mark_ready();

  zmq::context_t& context_;
  LoggerOptions options_;
  LineSink& sink_;
  RecordFormatter formatter_;
  GapTracker gaps_;
  bool track_gaps_;
  std::vector<std::string> subscriptions_;
  std::string stop_endpoint_;
  std::string monitor_endpoint_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_receiver_;  // libzmq's connect/disconnect events of socket_
  zmq::socket_t stop_receiver_;
  std::thread thread_;

  // Malformed-warning rate limit (loop thread only).
  LogLimiter malformed_warnings_;

  std::atomic<std::uint64_t> received_{0}, results_{0}, losses_{0}, events_{0}, filtered_{0},
      lines_{0}, malformed_{0}, gap_count_{0}, missing_{0};
  std::atomic<bool> ready_{false};
};

}  // namespace netmon::logger
