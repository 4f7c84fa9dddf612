#include "broker/logger/log_subscriber.hpp"

#include <array>
#include <cstring>
#include <stdexcept>

#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/topics.hpp"
#include "common/protocol/zmq_sockets.hpp"

namespace netmon::logger {
namespace {

// Messages handled per loop turn before flushing and polling again, so a
// continuous stream cannot delay a stop request or keep lines unflushed.
constexpr int kMaxMessagesPerTurn = 10'000;
constexpr std::size_t kMaxFramesPerMessage = 8;
// How long to wait for the broker before saying so (once).
constexpr auto kWaitingNotice = std::chrono::seconds(2);

std::string unique_endpoint(const char* what) {
  static std::atomic<std::uint64_t> counter{0};
  return std::string("inproc://netmon-logger-") + what + "-" + std::to_string(counter++);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts)
    out += (out.empty() ? "" : ",") + part;
  return out;
}

}  // namespace

std::vector<std::string> topic_prefixes(const LoggerFilter& filter) {
  std::vector<std::string> topics;
  // An empty check names the prefix of all the monitor's checks.
  if (filter.monitor.empty()) {
    topics.emplace_back(protocol::kResultTopicPrefix);
  } else {
    topics.push_back(protocol::result_topic(filter.monitor, filter.check));
    if (!filter.check.empty()) topics.push_back(protocol::loss_topic(filter.monitor));
  }
  if (filter.events) {
    if (filter.monitor.empty()) {
      topics.emplace_back(protocol::kEventTopicPrefix);
    } else {
      topics.push_back(protocol::monitor_event_topic(filter.monitor));
      topics.push_back(protocol::check_event_topic(filter.monitor, filter.check));
    }
  }
  return topics;
}

LogSubscriber::LogSubscriber(zmq::context_t& context, LoggerOptions options, LineSink& sink)
    : context_(context),
      options_(std::move(options)),
      sink_(sink),
      formatter_(options_.format, options_.color),
      // A check filter hides the other checks' seqs: every record would look like a gap.
      track_gaps_(options_.filter.check.empty()),
      subscriptions_(topic_prefixes(options_.filter)),
      stop_endpoint_(unique_endpoint("stop")),
      monitor_endpoint_(unique_endpoint("events")),
      socket_(context, zmq::socket_type::sub),
      monitor_receiver_(context, zmq::socket_type::pair),
      stop_receiver_(context, zmq::socket_type::pull),
      malformed_warnings_("malformed message", 1, options_.malformed_warning_interval) {
  protocol::apply_input_limits(socket_);
  protocol::apply_bus_watermarks(socket_);
  for (const auto& topic : subscriptions_)
    socket_.set(zmq::sockopt::subscribe, topic);
  // Connection events tell the user (and scripts awaiting `ready`) when the
  // broker is really there; inproc connections report none.
  if (zmq_socket_monitor(socket_.handle(), monitor_endpoint_.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    throw zmq::error_t();
  }
  monitor_receiver_.set(zmq::sockopt::linger, 0);
  monitor_receiver_.connect(monitor_endpoint_);
  stop_receiver_.set(zmq::sockopt::linger, 0);
  stop_receiver_.bind(stop_endpoint_);
  socket_.connect(options_.broker);
}

LogSubscriber::~LogSubscriber() {
  stop();
  zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

void LogSubscriber::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { static_cast<void>(run()); });
}

void LogSubscriber::stop() {
  if (!thread_.joinable()) return;
  request_stop();
  thread_.join();
}

void LogSubscriber::request_stop() {
  // A socket of its own per call: zmq sockets are not thread-safe, the context is.
  zmq::socket_t sender(context_, zmq::socket_type::push);
  sender.set(zmq::sockopt::linger, 1000);
  sender.connect(stop_endpoint_);
  sender.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
}

LoggerStats LogSubscriber::stats() const {
  return {received_.load(), results_.load(),   losses_.load(),    events_.load(),  filtered_.load(),
          lines_.load(),    malformed_.load(), gap_count_.load(), missing_.load(), ready_.load()};
}

void LogSubscriber::mark_ready() {
  if (ready_.exchange(true)) return;
  component_logger("logger")->info("ready broker={} subscriptions={}", options_.broker,
                                   join(subscriptions_));
}

Expected<void> LogSubscriber::run() {
  const auto log = component_logger("logger");
  if (starts_with(options_.broker, "inproc://")) mark_ready();
  const auto started = options_.clock->now();
  bool waiting_noticed = false;
  std::array<zmq::pollitem_t, 3> items{{
      {socket_.handle(), 0, ZMQ_POLLIN, 0},
      {monitor_receiver_.handle(), 0, ZMQ_POLLIN, 0},
      {stop_receiver_.handle(), 0, ZMQ_POLLIN, 0},
  }};
  std::vector<zmq::message_t> frames;
  try {
    for (;;) {
      const auto timeout = ready_.load() || waiting_noticed ? std::chrono::milliseconds(-1)
                                                            : std::chrono::milliseconds(100);
      zmq::poll(items.data(), items.size(), timeout);
      if (items[1].revents & ZMQ_POLLIN) handle_socket_event();
      if (items[0].revents & ZMQ_POLLIN) {
        for (int n = 0; n < kMaxMessagesPerTurn; ++n) {
          frames.clear();
          zmq::message_t frame;
          if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
          bool more = frame.more();
          std::size_t frame_count = 1;
          frames.push_back(std::move(frame));
          // A whole multipart message is queued once its first frame is.
          while (more) {
            zmq::message_t next;
            if (!socket_.recv(next, zmq::recv_flags::none)) break;
            more = next.more();
            // Only the first few are kept: a message of more is malformed anyway.
            if (++frame_count <= kMaxFramesPerMessage) frames.push_back(std::move(next));
          }
          handle_message(frames, frame_count);
        }
        sink_.flush();
      }
      if (items[2].revents & ZMQ_POLLIN) break;
      if (!ready_.load() && !waiting_noticed && options_.clock->now() - started > kWaitingNotice) {
        waiting_noticed = true;
        log->info("waiting for the broker endpoint={} (is the manager or netmon-broker running?)",
                  options_.broker);
      }
    }
  } catch (const std::exception& e) {
    log->error("logger stopped: {}", e.what());
    try {
      sink_.flush();
    } catch (const std::exception&) {
      // Already failing; the first error is the one reported.
    }
    return Error{e.what()};
  }
  sink_.flush();
  if (const std::uint64_t unreported = malformed_warnings_.take_all_suppressed(); unreported > 0) {
    log->warn("malformed messages dropped count={} total={}", unreported, malformed_.load());
  }
  return {};
}

void LogSubscriber::handle_socket_event() {
  zmq::message_t event_frame;
  if (!monitor_receiver_.recv(event_frame, zmq::recv_flags::dontwait)) return;
  std::string address;
  if (event_frame.more()) {
    zmq::message_t address_frame;
    if (monitor_receiver_.recv(address_frame, zmq::recv_flags::none)) {
      address = address_frame.to_string();
    }
  }
  if (event_frame.size() < sizeof(std::uint16_t)) return;
  std::uint16_t event = 0;
  std::memcpy(&event, event_frame.data(), sizeof event);
  const auto log = component_logger("logger");
  if (event == ZMQ_EVENT_CONNECTED) {
    if (ready_.load()) {
      log->info("broker connected again endpoint={}", address);
    } else {
      mark_ready();
    }
  } else if (event == ZMQ_EVENT_DISCONNECTED) {
    log->warn(
        "broker disconnected endpoint={}; reconnecting (results published meanwhile are "
        "missed here, gap lines will name them)",
        address);
  }
}

void LogSubscriber::handle_message(const std::vector<zmq::message_t>& frames,
                                   std::size_t frame_count) {
  ++received_;
  if (frame_count != 2) {
    malformed("expected 2 frames (topic, body), got " + std::to_string(frame_count));
    return;
  }
  const std::string_view topic(frames[0].data<char>(), frames[0].size());
  const std::string_view body(frames[1].data<char>(), frames[1].size());
  const protocol::TopicKind kind = protocol::topic_kind(topic);
  if (kind == protocol::TopicKind::kRecord) {
    auto record = protocol::decode_record(body);
    if (!record) {
      malformed("topic " + std::string(topic.substr(0, 80)) + ": " + record.error().message);
      return;
    }
    handle_record(*record);
  } else if (kind == protocol::TopicKind::kEvent) {
    auto event = protocol::decode_event(body);
    if (!event) {
      malformed("topic " + std::string(topic.substr(0, 80)) + ": " + event.error().message);
      return;
    }
    handle_event(*event);
  } else {
    malformed("unknown topic '" + std::string(topic.substr(0, 80)) + "'");
  }
}

void LogSubscriber::handle_record(const protocol::Record& record) {
  const auto& filter = options_.filter;
  const auto* result = std::get_if<CheckResult>(&record.body);
  ++(result ? results_ : losses_);
  // Topic prefixes are only a first cut (`res/edge-1/web` also matches `web2`).
  if (!filter.monitor.empty() && record.key.monitor != filter.monitor) {
    ++filtered_;
    return;
  }
  const auto now = std::chrono::system_clock::now();
  if (track_gaps_) {
    // Before the status filter: every record of the monitor counts for gaps.
    if (auto gap = gaps_.observe(record.key.monitor, record.key.epoch, record.key.seq)) {
      ++gap_count_;
      missing_ += gap->count();
      write(formatter_.gap(*gap, now));
    }
  }
  if (result) {
    if ((!filter.check.empty() && result->check_id != filter.check) ||
        (filter.status && result->status != *filter.status)) {
      ++filtered_;
      return;
    }
  }
  write(formatter_.record(record, now));
}

void LogSubscriber::handle_event(const protocol::Event& event) {
  ++events_;
  const auto& filter = options_.filter;
  // A monitor event (no check) concerns every check of that monitor.
  if (!filter.events || (!filter.monitor.empty() && event.monitor != filter.monitor) ||
      (!filter.check.empty() && !event.check.empty() && event.check != filter.check)) {
    ++filtered_;
    return;
  }
  write(formatter_.event(event));
}

void LogSubscriber::write(const std::string& line) {
  sink_.write_line(line);
  ++lines_;
}

void LogSubscriber::malformed(const std::string& reason) {
  ++malformed_;
  const auto now = options_.clock->now();
  if (!malformed_warnings_.allow(now)) return;
  // This message and the ones held back since the last warning.
  const std::uint64_t count = malformed_warnings_.take_suppressed(now) + 1;
  component_logger("logger")->warn(
      "malformed message dropped reason=\"{}\" count={} total={} (at most one warning per {} ms)",
      reason, count, malformed_.load(), options_.malformed_warning_interval.count());
}

}  // namespace netmon::logger
