#include "monitor/agent/monitor_agent.hpp"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/data_dir_lock.hpp"
#include "common/log_limiter.hpp"
#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/monitor_name.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "monitor/agent/engine_thread.hpp"
#include "monitor/agent/monitor_state.hpp"
#include "monitor/agent/produced_log.hpp"
#include "monitor/agent/reconnect_backoff.hpp"
#include "monitor/agent/replay_window.hpp"
#include "monitor/agent/result_outbox.hpp"
#include "monitor/agent/result_queue.hpp"

namespace netmon::agent {
namespace {

// The poll wakes at least this often to check deadlines on the (possibly
// manual) clock; results and control messages wake it at once.
constexpr std::chrono::milliseconds kPollTimeout{10};
constexpr std::chrono::seconds kBufferingReportInterval{10};
constexpr std::chrono::seconds kWarningInterval{1};
// Control messages handled per turn before results get a turn again.
constexpr std::size_t kMaxControlPerTurn = 1000;
// Results committed in one outbox transaction at most.
constexpr std::size_t kMaxResultsPerCommit = 20'000;
constexpr std::size_t kMaxIdsInLogLine = 20;
constexpr std::uint32_t kMinHeartbeatMs = 10;
constexpr std::uint32_t kMaxHeartbeatMs = 3'600'000;
// Outbox commits that fail are retried after a backoff doubling between these.
constexpr std::chrono::milliseconds kMinCommitRetry{10};
constexpr std::chrono::milliseconds kMaxCommitRetry{1000};
constexpr std::size_t kMaxOutboxErrorBytes = 200;
constexpr const char* kShedReason = "outbox_error";

// The options, checked before anything touches the data dir.
MonitorOptions validated(MonitorOptions options) {
  if (options.name.empty()) throw std::runtime_error("--name is required (e.g. --name edge-1)");
  if (auto valid = protocol::check_monitor_name(options.name); !valid) {
    throw std::runtime_error("--name: " + valid.error().message);
  }
  if (options.data_dir.empty()) {
    throw std::runtime_error(
        "--data-dir is required: the monitor keeps its identity, config and outbox there");
  }
  if (options.outbox_max_records == 0) {
    throw std::runtime_error("--outbox-max-records must be at least 1");
  }
  if (options.outbox_max_age < std::chrono::seconds(1)) {
    throw std::runtime_error("--outbox-max-age must be at least 1s (e.g. 7d, 12h)");
  }
  if (options.reconnect_quick <= std::chrono::milliseconds::zero() ||
      options.reconnect_min <= std::chrono::milliseconds::zero() ||
      options.reconnect_max < options.reconnect_min) {
    throw std::runtime_error(
        "reconnect backoff: quick and min must be positive, and min at most max");
  }
  if (!(options.synthetic_rate >= 0) || !std::isfinite(options.synthetic_rate)) {
    throw std::runtime_error("--synthetic must be a rate of at least 0 results/s");
  }
  return options;
}

// Watches the control DEALER's connection (a ZeroMQ socket monitor). When it
// drops, the manager's process has most likely gone (a restart closes its
// sockets): the monitor says HELLO on a new connection at once instead of
// waiting out three silent heartbeat intervals, since a restarted manager
// ignores a session it does not know. libzmq reports no such events for
// inproc, where liveness alone tells.
class ConnectionWatch : public zmq::monitor_t {
 public:
  ConnectionWatch(zmq::socket_t& socket, const std::string& endpoint) {
    init(socket, endpoint, ZMQ_EVENT_DISCONNECTED);
  }
  // Reads the events so far (no waiting); true once the connection dropped.
  bool dropped() {
    while (check_event(0)) {
    }
    return dropped_;
  }

 private:
  void on_event_disconnected(const zmq_event_t&, const char*) override { dropped_ = true; }

  bool dropped_ = false;
};

std::string check_ids(const std::vector<CheckSpec>& checks) {
  std::string text;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (i == kMaxIdsInLogLine) {
      text += ", ... (" + std::to_string(checks.size() - i) + " more)";
      break;
    }
    if (i > 0) text += ", ";
    text += checks[i].id;
  }
  return text;
}

std::int64_t to_ms(MonotonicClock::Duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

}  // namespace

class MonitorAgent::Impl {
 public:
  Impl(zmq::context_t& context, MonitorOptions options);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  void start();
  void stop();
  MonitorStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return snapshot_;
  }
  std::optional<std::string> failure() const {
    std::lock_guard lock(stats_mutex_);
    return failure_;
  }

 private:
  using TimePoint = MonotonicClock::TimePoint;

  void run();
  void turn();
  bool outbox_failing() const { return !outbox_error_.empty(); }
  void take_results();
  void commit_and_publish(TimePoint now, bool stopping = false);
  template <class Append>
  std::optional<AppendOutcome> try_commit(const Append& append, TimePoint now);
  void commit_failed(const sqlite::SqliteError& error, TimePoint now);
  void commit_recovered(TimePoint now);
  void committed(const AppendOutcome& outcome);
  void commit_at_stop();
  void save_outbox_mark();
  void report_outbox_state(TimePoint now);
  void send_heartbeat(TimePoint now);
  void publish(const std::vector<OutboxRecord>& records);
  void apply_stored_config();
  void apply_config(const protocol::Config& config, TimePoint now);

  void open_control(TimePoint now);
  void close_control(int linger_ms);
  // Closes the control channel and opens it again after the backoff: the
  // doubling one after a REJECT, else the quick one early in an absence.
  void retry_later(TimePoint now, bool refused = false);
  void reopen_pub();
  bool send_control(const protocol::ControlMessage& message, TimePoint now);
  bool send_bytes(const std::string& bytes, TimePoint now);
  void receive_control(TimePoint now);
  void handle(protocol::ControlMessage& message, TimePoint now);
  void on_welcome(const protocol::Welcome& welcome, TimePoint now);
  void on_ack(const protocol::Ack& ack, TimePoint now);
  void trim_acknowledged(TimePoint now);
  void on_timers(TimePoint now);
  void pump_replay(TimePoint now);
  void damaged_rows(const ReadOutcome& read, TimePoint now);

  void malformed(std::string_view why, TimePoint now);
  bool warning_allowed(TimePoint now);
  void update_stats();

  std::chrono::milliseconds heartbeat() const { return std::chrono::milliseconds(heartbeat_ms_); }
  MonotonicClock::Duration silence_limit() const { return heartbeat() * liveness_; }

  zmq::context_t& context_;
  MonitorOptions options_;
  const MonotonicClock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  netmon::DataDirLock data_dir_lock_;
  std::unique_ptr<MonitorState> state_;
  // A set-aside outbox's epoch and newest seq, named in every HELLO of this run.
  std::string ended_epoch_;
  std::uint64_t ended_last_seq_ = 0;
  std::unique_ptr<ResultOutbox> outbox_;
  std::unique_ptr<ProducedLog> produced_log_;
  ResultQueue queue_;
  EngineThread engine_;
  zmq::socket_t pub_;
  std::optional<zmq::socket_t> dealer_;
  std::optional<ConnectionWatch> dealer_watch_;  // destroyed before dealer_: it names the socket
  std::uint64_t watches_opened_ = 0;

  // Agent thread only, from here on.
  bool welcomed_ = false;
  std::uint32_t heartbeat_ms_ = protocol::kDefaultHeartbeatMs;
  std::uint32_t liveness_ = protocol::kDefaultLiveness;
  TimePoint last_received_{};
  TimePoint last_sent_{};
  TimePoint reconnect_at_{};
  TimePoint last_ack_progress_{};
  TimePoint next_buffering_report_{};
  LogLimiter warnings_{"warning", 1, kWarningInterval};
  ReconnectBackoff backoff_;
  ReplayWindow window_;
  // Records sent since the window was last idle; a catch-up after WELCOME
  // is reported on the console, answers to REPLAY_REQ only at debug level.
  std::uint64_t replayed_this_session_ = 0;
  bool replay_reported_ = true;
  bool catching_up_ = false;
  std::vector<CheckResult> batch_;
  std::vector<CheckResult> incoming_;
  std::uint64_t publish_count_ = 0;
  bool trim_pending_ = false;
  // While outbox commits fail: the error (for HEARTBEAT and stats), when to
  // try again, the current backoff, and how many results were shed since
  // the last loss record that covers them.
  std::string outbox_error_;
  TimePoint commit_retry_at_{};
  std::chrono::milliseconds commit_retry_{0};
  TimePoint next_outbox_report_{};
  TimePoint next_state_heartbeat_{};
  std::uint64_t failed_since_ok_ = 0;
  std::uint64_t unwritten_ = 0;
  MonitorStats counters_;

  mutable std::mutex stats_mutex_;
  MonitorStats snapshot_;
  std::optional<std::string> failure_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  bool stopped_ = false;
};

MonitorAgent::Impl::Impl(zmq::context_t& context, MonitorOptions options)
    : context_(context),
      options_(validated(std::move(options))),
      clock_(options_.clock != nullptr ? *options_.clock : SteadyClock::instance()),
      log_(component_logger("monitor")),
      data_dir_lock_(options_.data_dir, "monitor.lock", "netmon-monitor"),
      engine_(queue_, options_.synthetic_rate),
      pub_(context, zmq::socket_type::pub),
      backoff_(BackoffTiming{options_.reconnect_quick, options_.reconnect_quick_phase,
                             options_.reconnect_min, options_.reconnect_max}) {
  try {
    state_ = std::make_unique<MonitorState>(options_.data_dir, options_.synchronous);
    outbox_ = std::make_unique<ResultOutbox>(
        options_.data_dir, options_.name,
        OutboxOptions{options_.outbox_max_records, options_.outbox_max_age, options_.synchronous,
                      &clock_});
    if (!options_.produced_log.empty()) {
      produced_log_ = std::make_unique<ProducedLog>(options_.produced_log, outbox_->epoch(),
                                                    outbox_->last_seq());
    }
  } catch (const sqlite::SqliteError& e) {
    throw std::runtime_error("--data-dir " + options_.data_dir.string() +
                             ": cannot open the monitor's databases (" + e.what() +
                             "); check the directory's permissions and free space");
  }
  try {
    protocol::apply_input_limits(pub_);
    protocol::apply_bus_watermarks(pub_);
    pub_.connect(options_.broker);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("--broker '" + options_.broker + "': " + e.what() +
                             " (expected e.g. tcp://127.0.0.1:5556)");
  }
  try {
    // Connecting checks the endpoint's syntax now rather than in the loop.
    zmq::socket_t probe(context_, zmq::socket_type::dealer);
    probe.set(zmq::sockopt::linger, 0);
    probe.connect(options_.manager);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("--manager '" + options_.manager + "': " + e.what() +
                             " (expected e.g. tcp://127.0.0.1:5555)");
  }
  if (!outbox_->set_aside().empty()) {
    // Only the file is kept: what the manager had not stored of it is lost.
    log_->error(
        "outbox was corrupt ({}); set aside as {} and started epoch={}: results it held that the "
        "manager had not stored are lost",
        outbox_->corruption(), outbox_->set_aside().string(), outbox_->epoch());
    // The last clean stop left the old epoch's newest seq: every HELLO of this
    // run names it, so the manager stores a loss for what it lacks of it.
    if (const auto mark = state_->outbox_mark(); mark && mark->epoch != outbox_->epoch()) {
      ended_epoch_ = mark->epoch;
      ended_last_seq_ = mark->last_seq;
      log_->error("the set-aside epoch={} had seqs up to {} at the last clean stop", mark->epoch,
                  mark->last_seq);
    }
  }
  counters_.monitor_id = state_->monitor_id();
  counters_.epoch = outbox_->epoch();
  update_stats();
}

MonitorAgent::Impl::~Impl() {
  stop();
}

void MonitorAgent::Impl::start() {
  if (thread_.joinable() || stopped_) return;
  engine_.start();
  apply_stored_config();
  update_stats();
  thread_ = std::thread([this] { run(); });
  // The instance id is a credential of sorts (it reclaims the session): not logged.
  log_->info("ready monitor={} epoch={} last_seq={} outbox={} manager={} broker={}", options_.name,
             outbox_->epoch(), outbox_->last_seq(), outbox_->size(), options_.manager,
             options_.broker);
  if (options_.synthetic_rate > 0) {
    log_->info("synthetic mode: {} results/s, no checks run", options_.synthetic_rate);
  }
}

void MonitorAgent::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!thread_.joinable()) return;
  // The engine stops first, so the agent's last turn commits every result it produced.
  engine_.stop();
  stopping_ = true;
  queue_.wake();
  thread_.join();
  log_->info("stopped monitor={} produced={} published={} acked_seq={} outbox={}", options_.name,
             counters_.produced, counters_.published, counters_.acked_seq, outbox_->size());
}

void MonitorAgent::Impl::apply_stored_config() {
  if (!state_->config_error().empty()) {
    log_->error("ignoring the stored config: {}; waiting for the manager's",
                state_->config_error());
  }
  const protocol::Config& config = state_->config();
  if (config.version == 0) return;
  if (auto applied = engine_.set_checks(config.checks); !applied) {
    log_->error("stored config version {} cannot run: {}; waiting for the manager's",
                config.version, applied.error().message);
    return;
  }
  counters_.config_version = config.version;
  log_->info("config version {} applied ({} checks: {}) from the data dir", config.version,
             config.checks.size(), check_ids(config.checks));
}

void MonitorAgent::Impl::run() {
  try {
    reconnect_at_ = clock_.now();
    next_buffering_report_ = reconnect_at_ + kBufferingReportInterval;
    while (!stopping_.load()) {
      turn();
    }
    commit_at_stop();
    save_outbox_mark();
    if (dealer_ && welcomed_) send_control(protocol::Bye{}, clock_.now());
    close_control(protocol::kLingerMs);
  } catch (const std::exception& e) {
    log_->critical("agent stopped on an unexpected error: {}", e.what());
    std::lock_guard lock(stats_mutex_);
    failure_ = e.what();
  }
  welcomed_ = false;
  update_stats();
}

void MonitorAgent::Impl::turn() {
  ++counters_.turns;
  // While commits fail the results' wakeup is not watched (results are taken
  // every turn instead), so the loop wakes at the poll timeout, not per result.
  const bool watch_results = !outbox_failing();
  std::array<zmq::pollitem_t, 2> items{{
      {nullptr, queue_.fd(), ZMQ_POLLIN, 0},
      {dealer_ ? dealer_->handle() : nullptr, 0, ZMQ_POLLIN, 0},
  }};
  zmq::pollitem_t* first = watch_results ? items.data() : items.data() + 1;
  const int count = (watch_results ? 1 : 0) + (dealer_ ? 1 : 0);
  try {
    // Results still waiting for a commit: only look at the sockets.
    const bool busy = !batch_.empty() && !outbox_failing();
    if (count > 0) {
      zmq::poll(first, count, busy ? std::chrono::milliseconds(0) : kPollTimeout);
    } else {
      std::this_thread::sleep_for(kPollTimeout);  // nothing to watch: wait for the next retry
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    return;
  }
  const TimePoint now = clock_.now();
  commit_and_publish(now);
  if (dealer_ && (items[1].revents & ZMQ_POLLIN)) receive_control(now);
  if (dealer_watch_ && dealer_watch_->dropped()) {
    if (welcomed_) {
      log_->warn("manager lost manager={} reason=connection_closed", options_.manager);
    } else {
      log_->info("connection to manager={} closed before WELCOME", options_.manager);
    }
    retry_later(now);
  }
  on_timers(now);
  pump_replay(now);
  trim_acknowledged(now);
  update_stats();
}

void MonitorAgent::Impl::take_results() {
  if (!outbox_failing()) {
    // Take more only when the last take is committed, so a backlog stays in
    // the queue where the engine side can see it.
    if (batch_.empty()) queue_.drain(batch_);
    return;
  }
  // Failing: take everything (which clears the wakeup) and hold at most
  // max_pending_results, shedding the oldest; a loss record covers them.
  queue_.drain(incoming_);
  batch_.insert(batch_.end(), std::make_move_iterator(incoming_.begin()),
                std::make_move_iterator(incoming_.end()));
  incoming_.clear();
  if (batch_.size() > options_.max_pending_results) {
    const std::size_t shed = batch_.size() - options_.max_pending_results;
    batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(shed));
    unwritten_ += shed;
    counters_.shed_results += shed;
  }
}

void MonitorAgent::Impl::commit_and_publish(TimePoint now, bool stopping) {
  take_results();
  if (batch_.empty() && unwritten_ == 0) return;
  if (outbox_failing()) {
    if (!stopping && now < commit_retry_at_) return;
    // A WAL that filled the disk gives its space back, and acknowledged rows
    // free pages for new ones.
    (void)outbox_->checkpoint();
    trim_acknowledged(now);
  }
  if (unwritten_ > 0) {
    const auto outcome = try_commit(
        [&] { return outbox_->append_loss(unwritten_, state_->monitor_id(), kShedReason); }, now);
    if (!outcome) return;
    log_->warn("{} results were shed while the outbox failed; loss record seq={} covers them",
               unwritten_, outcome->records.back().seq);
    unwritten_ = 0;
    committed(*outcome);
  }
  if (batch_.empty()) return;
  // A backlog is committed in bounded transactions, with control traffic between them.
  const std::size_t count = std::min(batch_.size(), kMaxResultsPerCommit);
  const auto outcome = try_commit(
      [&] { return outbox_->append(std::span(batch_).first(count), state_->monitor_id()); }, now);
  if (!outcome) return;  // the results stay: nothing is published uncommitted
  batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(count));
  if (outcome->dropped > 0) {
    counters_.dropped_by_cap += outcome->dropped;
    log_->warn(
        "outbox cap reached: dropped the {} oldest records (a loss record tells the manager)",
        outcome->dropped);
  }
  committed(*outcome);
}

template <class Append>
std::optional<AppendOutcome> MonitorAgent::Impl::try_commit(const Append& append, TimePoint now) {
  ++counters_.commit_attempts;
  try {
    AppendOutcome outcome = append();
    if (outbox_failing()) commit_recovered(now);
    return outcome;
  } catch (const sqlite::SqliteError& e) {
    // A damaged file does not heal by waiting: the agent stops (the process
    // exits 1), and the next start sets the outbox aside.
    if (e.corrupt()) throw;
    commit_failed(e, now);
    return std::nullopt;
  }
}

void MonitorAgent::Impl::commit_failed(const sqlite::SqliteError& error, TimePoint now) {
  ++counters_.commit_failures;
  ++failed_since_ok_;
  const bool first = !outbox_failing();
  commit_retry_ = first ? kMinCommitRetry : std::min(commit_retry_ * 2, kMaxCommitRetry);
  commit_retry_at_ = now + commit_retry_;
  std::string text = error.what();
  if (text.size() > kMaxOutboxErrorBytes) text.resize(kMaxOutboxErrorBytes);
  outbox_error_ = text.empty() ? "outbox commit failed" : text;
  if (first) {
    // A nearly full disk makes the outbox flap: bounded lines and heartbeats.
    if (warning_allowed(now)) {
      log_->error(
          "outbox commit failed: {}; holding up to {} results in memory and retrying (every {} "
          "ms at most)",
          outbox_error_, options_.max_pending_results, kMaxCommitRetry.count());
    }
    next_outbox_report_ = now + kBufferingReportInterval;
    report_outbox_state(now);
  } else if (now >= next_outbox_report_) {
    log_->error("outbox still failing: {} (failed commits={} held={} shed={})", outbox_error_,
                failed_since_ok_, batch_.size(), counters_.shed_results);
    next_outbox_report_ = now + kBufferingReportInterval;
  }
}

void MonitorAgent::Impl::commit_recovered(TimePoint now) {
  if (warning_allowed(now)) {
    log_->info("outbox writable again after {} failed commits (held={} shed={})", failed_since_ok_,
               batch_.size(), unwritten_);
  }
  outbox_error_.clear();
  failed_since_ok_ = 0;
  commit_retry_ = std::chrono::milliseconds(0);
  report_outbox_state(now);
}

void MonitorAgent::Impl::report_outbox_state(TimePoint now) {
  // The manager shows the change at once, unless it flaps: then the next
  // regular heartbeat tells.
  if (now < next_state_heartbeat_) return;
  next_state_heartbeat_ = now + heartbeat();
  send_heartbeat(now);
}

void MonitorAgent::Impl::committed(const AppendOutcome& outcome) {
  counters_.produced += outcome.records.size();
  if (produced_log_) {
    try {
      produced_log_->append(outcome.records);
    } catch (const std::runtime_error& e) {
      if (warning_allowed(clock_.now())) log_->error("{}", e.what());
    }
  }
  publish(outcome.records);
}

// Best effort: a stop that cannot write it still stops.
void MonitorAgent::Impl::save_outbox_mark() {
  try {
    state_->save_outbox_mark(outbox_->epoch(), outbox_->last_seq());
  } catch (const sqlite::SqliteError& e) {
    log_->warn("could not note the outbox's last seq in monitor.db: {}", e.what());
  }
}

void MonitorAgent::Impl::commit_at_stop() {
  // Everything the stopped engine produced is committed, unless the outbox
  // refuses: then one attempt more (no waiting) to write a loss record for it.
  const TimePoint now = clock_.now();
  do {
    commit_and_publish(now, true);
  } while (!outbox_failing() && (!batch_.empty() || queue_.size() > 0));
  if (!outbox_failing()) return;
  queue_.drain(incoming_);
  const std::uint64_t held = batch_.size() + incoming_.size();
  batch_.clear();
  incoming_.clear();
  unwritten_ += held;
  counters_.shed_results += held;
  commit_and_publish(now, true);
  if (unwritten_ == 0) return;
  counters_.lost_unrecorded += unwritten_;
  log_->error(
      "stopping with {} results lost: the outbox refuses writes ({}), so not even a loss record "
      "could tell the manager",
      unwritten_, outbox_error_);
  unwritten_ = 0;
}

void MonitorAgent::Impl::send_heartbeat(TimePoint now) {
  if (!dealer_ || !welcomed_) return;
  send_control(protocol::Heartbeat{outbox_->epoch(), outbox_->last_seq(), outbox_error_}, now);
}

void MonitorAgent::Impl::publish(const std::vector<OutboxRecord>& records) {
  for (const OutboxRecord& record : records) {
    if (options_.drop_every_nth_publish > 0 &&
        ++publish_count_ % options_.drop_every_nth_publish == 0) {
      continue;
    }
    // PUB never blocks: at the high-water mark it drops, and replay repairs.
    pub_.send(zmq::buffer(record.topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    pub_.send(zmq::buffer(record.body), zmq::send_flags::dontwait);
    ++counters_.published;
  }
}

void MonitorAgent::Impl::open_control(TimePoint now) {
  dealer_.emplace(context_, zmq::socket_type::dealer);
  protocol::apply_input_limits(*dealer_);
  if (!options_.manager.starts_with("inproc://")) {
    dealer_watch_.emplace(*dealer_, "inproc://netmon-agent-control-watch-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
                                        "-" + std::to_string(++watches_opened_));
  }
  dealer_->connect(options_.manager);
  welcomed_ = false;
  window_.reset();
  last_received_ = now;
  last_sent_ = now;
  protocol::Hello hello{
      options_.name,    state_->instance(),   state_->monitor_id(), counters_.config_version,
      outbox_->epoch(), outbox_->first_seq(), outbox_->last_seq(),  ended_epoch_,
      ended_last_seq_};
  send_control(hello, now);
  log_->debug("HELLO sent manager={} first_seq={} last_seq={}", options_.manager, hello.first_seq,
              hello.last_seq);
}

void MonitorAgent::Impl::close_control(int linger_ms) {
  if (!dealer_) return;
  dealer_watch_.reset();
  dealer_->set(zmq::sockopt::linger, linger_ms);
  dealer_.reset();
  welcomed_ = false;
  window_.reset();
}

void MonitorAgent::Impl::reopen_pub() {
  // The broker may have gone with the manager (it is embedded by default),
  // and an inproc connection, unlike tcp or ipc, never comes back on its
  // own. Queued publications go with the old socket: they are committed,
  // and replay repairs what the manager misses.
  if (!options_.broker.starts_with("inproc://")) return;
  pub_.set(zmq::sockopt::linger, 0);
  pub_.close();
  pub_ = zmq::socket_t(context_, zmq::socket_type::pub);
  protocol::apply_input_limits(pub_);
  protocol::apply_bus_watermarks(pub_);
  pub_.connect(options_.broker);
}

void MonitorAgent::Impl::retry_later(TimePoint now, bool refused) {
  close_control(0);
  reopen_pub();
  const auto delay = refused ? backoff_.after_refusal(now) : backoff_.after_loss(now);
  reconnect_at_ = now + delay;
  ++counters_.reconnects;
  log_->info("reconnecting to manager={} in {} ms", options_.manager, delay.count());
}

bool MonitorAgent::Impl::send_control(const protocol::ControlMessage& message, TimePoint now) {
  return send_bytes(protocol::encode(message), now);
}

bool MonitorAgent::Impl::send_bytes(const std::string& bytes, TimePoint now) {
  if (!dealer_) return false;
  // Whoever sees this message also sees the stats that led to it.
  update_stats();
  try {
    if (!dealer_->send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      if (warning_allowed(now)) log_->warn("control channel full; will send again later");
      return false;
    }
  } catch (const zmq::error_t& e) {
    if (warning_allowed(now)) log_->warn("control send failed: {}", e.what());
    return false;
  }
  last_sent_ = now;
  return true;
}

void MonitorAgent::Impl::receive_control(TimePoint now) {
  for (std::size_t i = 0; i < kMaxControlPerTurn && dealer_; ++i) {
    zmq::message_t frame;
    if (!dealer_->recv(frame, zmq::recv_flags::dontwait)) return;
    last_received_ = now;  // any message counts as a heartbeat
    if (frame.more()) {
      std::size_t parts = 1;
      while (frame.more() && dealer_->recv(frame, zmq::recv_flags::dontwait))
        ++parts;
      malformed("a control message of " + std::to_string(parts) + " frames (expected 1)", now);
      continue;
    }
    auto decoded = protocol::decode_control(frame.to_string_view());
    if (!decoded) {
      malformed(decoded.error().message, now);
      continue;
    }
    handle(*decoded, now);
  }
}

void MonitorAgent::Impl::handle(protocol::ControlMessage& message, TimePoint now) {
  using namespace protocol;
  if (const auto* welcome = std::get_if<Welcome>(&message)) {
    on_welcome(*welcome, now);
  } else if (const auto* reject = std::get_if<Reject>(&message)) {
    log_->error("manager={} refused this monitor: {} (reason={})", options_.manager, reject->text,
                reject->reason);
    retry_later(now, true);
  } else if (std::holds_alternative<Heartbeat>(message)) {
    // Liveness only.
  } else if (!welcomed_) {
    // A session's messages mean nothing before its WELCOME (a stale one's, say).
    log_->debug("{} before WELCOME ignored", type_name(message));
  } else if (const auto* config = std::get_if<Config>(&message)) {
    apply_config(*config, now);
  } else if (const auto* ack = std::get_if<Ack>(&message)) {
    on_ack(*ack, now);
  } else if (const auto* request = std::get_if<ReplayReq>(&message)) {
    if (request->epoch != outbox_->epoch()) {
      malformed("REPLAY_REQ for epoch " + request->epoch.substr(0, 32) + ", not ours", now);
      return;
    }
    // The part already dropped at the cap is covered by a loss record.
    const std::uint64_t from = std::max(request->from_seq, outbox_->first_seq());
    const std::uint64_t to = std::min(request->to_seq, outbox_->last_seq());
    log_->debug("REPLAY_REQ from_seq={} to_seq={} holding={}..{}", request->from_seq,
                request->to_seq, from, to);
    window_.request(from, to);
  } else {
    malformed(std::string(type_name(message)) + " is not a message a manager sends", now);
  }
}

void MonitorAgent::Impl::on_welcome(const protocol::Welcome& welcome, TimePoint now) {
  if (welcome.monitor_id == 0) {
    malformed("WELCOME with monitor_id 0", now);
    return;
  }
  try {
    state_->save_monitor_id(welcome.monitor_id);
  } catch (const sqlite::SqliteError& e) {
    log_->error("cannot store monitor_id={}: {}", welcome.monitor_id, e.what());
  }
  counters_.monitor_id = welcome.monitor_id;
  heartbeat_ms_ = std::clamp(welcome.heartbeat_ms, kMinHeartbeatMs, kMaxHeartbeatMs);
  liveness_ = std::max<std::uint32_t>(1, welcome.liveness);
  welcomed_ = true;
  backoff_.reset();
  try {
    if (welcome.acked_seq > outbox_->last_seq()) {
      log_->warn(
          "the manager holds seqs up to {} of epoch {} but the outbox ends at {} (commits lost "
          "to a power cut with --sync normal, or a restored data dir); continuing after {}",
          welcome.acked_seq, outbox_->epoch(), outbox_->last_seq(), welcome.acked_seq);
      outbox_->skip_to(welcome.acked_seq);
    }
    outbox_->trim(welcome.acked_seq);
  } catch (const sqlite::SqliteError& e) {
    log_->error("outbox update after WELCOME failed: {}", e.what());
  }
  const std::uint64_t acked = std::min(welcome.acked_seq, outbox_->last_seq());
  counters_.acked_seq = acked;
  window_.reset();
  window_.request(std::max(acked + 1, outbox_->first_seq()), outbox_->last_seq());
  replayed_this_session_ = 0;
  replay_reported_ = window_.idle();
  catching_up_ = !window_.idle();
  last_ack_progress_ = now;
  log_->info("connected manager={} monitor_id={} acked_seq={} to_replay={}", options_.manager,
             welcome.monitor_id, acked, outbox_->last_seq() - acked);
}

void MonitorAgent::Impl::on_ack(const protocol::Ack& ack, TimePoint now) {
  if (ack.epoch != outbox_->epoch()) {
    malformed("ACK for epoch " + ack.epoch.substr(0, 32) + ", not ours", now);
    return;
  }
  const std::uint64_t acked = std::min(ack.seq, outbox_->last_seq());
  if (acked > counters_.acked_seq) {
    counters_.acked_seq = acked;
    last_ack_progress_ = now;
    trim_pending_ = true;  // at the end of the turn, after the next replay batch went out
  }
  window_.acknowledge(counters_.acked_seq);
}

void MonitorAgent::Impl::trim_acknowledged(TimePoint now) {
  // While commits fail, trims go with the commit retries (commit_and_publish).
  if (!trim_pending_ || (outbox_failing() && now < commit_retry_at_)) return;
  try {
    outbox_->trim(counters_.acked_seq);
    trim_pending_ = false;
  } catch (const sqlite::SqliteError& e) {
    // While commits fail too, the outbox-failing reports say it already.
    if (!outbox_failing() && warning_allowed(now)) {
      log_->error("outbox trim failed, retrying: {}", e.what());
    }
  }
}

void MonitorAgent::Impl::apply_config(const protocol::Config& config, TimePoint now) {
  protocol::ConfigAck ack;
  ack.version = config.version;
  for (const CheckSpec& spec : config.checks)
    ack.digests[spec.id] = protocol::check_digest(spec);
  if (auto applied = engine_.set_checks(config.checks); !applied) {
    ack.error = applied.error().message;
    log_->error("config version {} refused: {}; still running version {}", config.version,
                ack.error, counters_.config_version);
  } else {
    try {
      state_->save_config(config);  // persisted before it is acknowledged
      counters_.config_version = config.version;
      log_->info("config version {} applied ({} checks: {})", config.version, config.checks.size(),
                 check_ids(config.checks));
    } catch (const sqlite::SqliteError& e) {
      ack.error = std::string("cannot store the config in --data-dir: ") + e.what();
      log_->error("config version {} not stored: {}", config.version, e.what());
      // Run what a restart would resume.
      (void)engine_.set_checks(state_->config().checks);
    }
  }
  send_control(ack, now);
}

void MonitorAgent::Impl::on_timers(TimePoint now) {
  if (!welcomed_ && now >= next_buffering_report_) {
    if (outbox_->size() > 0) {
      log_->info("buffering {} results (manager={} away)", outbox_->size(), options_.manager);
    }
    next_buffering_report_ = now + kBufferingReportInterval;
  }
  if (!dealer_) {
    if (now >= reconnect_at_) open_control(now);
    return;
  }
  if (now - last_received_ >= silence_limit()) {
    if (welcomed_) {
      log_->warn("manager lost manager={} silent_ms={}", options_.manager,
                 to_ms(now - last_received_));
    } else {
      log_->warn("no answer from manager={} for {} ms", options_.manager,
                 to_ms(now - last_received_));
    }
    retry_later(now);
    return;
  }
  if (!welcomed_) return;
  // Naming the newest seq lets the manager notice records lost at the tail of the bus.
  if (now - last_sent_ >= heartbeat()) send_heartbeat(now);
  if (window_.in_flight() > 0 && now - last_ack_progress_ >= silence_limit()) {
    log_->warn("no ACK for replayed records in {} ms; sending them again from seq {}",
               to_ms(now - last_ack_progress_), counters_.acked_seq + 1);
    window_.resend_in_flight(counters_.acked_seq);
    last_ack_progress_ = now;
  }
}

void MonitorAgent::Impl::pump_replay(TimePoint now) {
  if (!welcomed_) return;
  while (const auto range = window_.next()) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(protocol::kMaxRecordsPerReplay, range->to - range->from + 1));
    ReadOutcome read =
        outbox_->read(range->from, want, protocol::kMaxReplayBodyBytes, state_->monitor_id());
    if (!read.damaged.empty()) damaged_rows(read, now);
    std::vector<OutboxRecord>& records = read.records;
    while (!records.empty() && records.back().seq > range->to)
      records.pop_back();
    if (records.empty()) {
      window_.skip_next();  // trimmed or dropped meanwhile
      continue;
    }
    std::vector<std::string_view> bodies;
    bodies.reserve(records.size());
    for (const OutboxRecord& record : records)
      bodies.push_back(record.body);
    if (!send_bytes(protocol::encode_replay(outbox_->epoch(), bodies), now)) return;
    if (window_.in_flight() == 0) last_ack_progress_ = now;
    window_.sent_through(records.back().seq);
    counters_.replayed += records.size();
    replayed_this_session_ += records.size();
    replay_reported_ = false;
  }
  if (!replay_reported_ && window_.idle()) {
    log_->log(
        catching_up_ && replayed_this_session_ > 0 ? spdlog::level::info : spdlog::level::debug,
        "replayed {} results", replayed_this_session_);
    catching_up_ = false;
    replayed_this_session_ = 0;
    replay_reported_ = true;
  }
}

// Rows the outbox found damaged on disk (checksum) are gone; the manager
// learns of them from the LOSS record that covers them, never from bytes it
// would refuse (and then ask for again forever).
void MonitorAgent::Impl::damaged_rows(const ReadOutcome& read, TimePoint now) {
  counters_.damaged_rows += read.damaged.size();
  if (warning_allowed(now)) {
    log_->error(
        "outbox rows damaged on disk: {} between seq {} and {} deleted; loss record seq={} "
        "covers them",
        read.damaged.size(), read.damaged.front(), read.damaged.back(),
        read.loss.records.back().seq);
  }
  committed(read.loss);
}

void MonitorAgent::Impl::malformed(std::string_view why, TimePoint now) {
  ++counters_.malformed;
  if (warning_allowed(now)) {
    log_->warn("control message dropped: {} manager={} malformed={}", why, options_.manager,
               counters_.malformed);
  }
}

bool MonitorAgent::Impl::warning_allowed(TimePoint now) {
  if (!warnings_.allow(now)) return false;
  if (const std::uint64_t suppressed = warnings_.take_suppressed(now); suppressed > 0) {
    log_->warn("{} similar warnings suppressed", suppressed);
  }
  return true;
}

void MonitorAgent::Impl::update_stats() {
  counters_.connected = welcomed_;
  counters_.outbox_records = outbox_->size();
  counters_.pending_results = batch_.size();
  counters_.commit_failures_in_a_row = failed_since_ok_;
  counters_.outbox_error = outbox_error_;
  counters_.last_seq = outbox_->last_seq();
  std::lock_guard lock(stats_mutex_);
  snapshot_ = counters_;
}

MonitorAgent::MonitorAgent(zmq::context_t& context, MonitorOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

MonitorAgent::~MonitorAgent() = default;

void MonitorAgent::start() {
  impl_->start();
}

void MonitorAgent::stop() {
  impl_->stop();
}

MonitorStats MonitorAgent::stats() const {
  return impl_->stats();
}

std::optional<std::string> MonitorAgent::failure() const {
  return impl_->failure();
}

}  // namespace netmon::agent
