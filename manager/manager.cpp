#include "manager/manager.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "broker/result_broker.hpp"
#include "common/log_limiter.hpp"
#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "common/text.hpp"
#include "manager/check_state.hpp"
#include "manager/control_channel.hpp"
#include "manager/manager_config.hpp"
#include "manager/monitor_session.hpp"
#include "manager/record_batch.hpp"
#include "manager/result_store.hpp"
#include "manager/seq_tracker.hpp"
#include "manager/status_table.hpp"

namespace netmon::manager {
namespace {

using TimePoint = MonotonicClock::TimePoint;
namespace protocol = netmon::protocol;

// The loop wakes at least this often (real time) to look at the clock, the
// stop flag and a queued reload.
constexpr std::chrono::milliseconds kPollInterval{10};
// Messages taken from each socket per loop turn: one transaction per turn, so
// bigger turns mean fewer fsyncs under load, smaller ones lower latency.
constexpr int kMaxMessagesPerTurn = 4096;
// REPLAY batches carry up to 1000 records each: stop taking messages once a
// turn holds this many records, so a turn (and its transaction) stays short.
constexpr std::size_t kMaxRecordsPerTurn = 16'384;

// Lines caused by input: at most kLogBurst per kLogWindow of each kind; the
// rest are counted, and the count is logged on a timer once the window ends
// (not only when the next bad input arrives).
constexpr int kLogBurst = 10;
constexpr std::chrono::seconds kLogWindow{10};

LogLimiter input_limiter(std::string_view kind) {
  return LogLimiter(kind, kLogBurst, kLogWindow);
}

}  // namespace

class Manager::Loop final : private SessionHost, private RecordBatchHost {
 public:
  Loop(zmq::context_t& context, ManagerOptions options);
  ~Loop() override;

  void start();
  void stop();
  Expected<void> reload_config();
  ManagerStats stats() const;
  std::vector<MonitorStatus> monitors() const;
  std::vector<CheckStatus> checks() const;
  bool running() const { return running_; }

  std::string control_endpoint;
  std::string broker_in_endpoint;
  std::string broker_out_endpoint;
  std::string local_in_endpoint;  // inproc bindings of the embedded broker, if any
  std::string local_out_endpoint;

 private:
  void run();
  void turn();
  void apply_config(const ManagerConfig& config);

  void drain_control(TimePoint now);
  void drain_results(TimePoint now);
  void handle_control(const std::string& routing_id, std::string_view body, TimePoint now);
  void handle_hello(const std::string& routing_id, const protocol::Hello& hello, TimePoint now);
  void flush();
  void run_timers(TimePoint now);

  void emit_event(protocol::Event event);
  void bad_input(LogLimiter& limiter, std::atomic<std::uint64_t>& counter, TimePoint now,
                 const std::string& text);
  void report_suppressed(TimePoint now);
  void publish_snapshot();
  void print_status(TimePoint now);

  // SessionHost: what the sessions send, emit, store and drop.
  SendOutcome send(const std::string& routing_id, std::string_view monitor,
                   const protocol::ControlMessage& message) override;
  void send_to(const std::string& routing_id, const protocol::ControlMessage& message) override {
    control_->send_to(routing_id, message);
  }
  bool reachable(const std::string& routing_id) override { return control_->reachable(routing_id); }
  void emit(protocol::Event event) override { emit_event(std::move(event)); }
  void store(std::uint64_t monitor_id, protocol::Record record) override {
    batch_->add(monitor_id, std::move(record));
  }
  void malformed(const std::string& text, TimePoint now) override {
    bad_input(control_limiter_, malformed_control_, now, text);
  }
  void rejected(const std::string& text, TimePoint now) override {
    bad_input(results_limiter_, rejected_records_, now, text);
  }
  void count(SessionCount what) override;
  const DesiredConfig& desired(const std::string& monitor) override { return desired_[monitor]; }
  SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch) override;
  void forget_tracker(std::uint64_t monitor_id, const std::string& epoch) override {
    trackers_.erase({monitor_id, epoch});
  }
  // RecordBatchHost (tracker and emit are the same as above).
  void result_stored(const protocol::RecordKey& key, const CheckResult& result) override;

  zmq::context_t& context_;
  ManagerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<ResultBroker> broker_;
  std::optional<ControlChannel> control_;
  zmq::socket_t sub_;
  zmq::socket_t events_;
  std::unique_ptr<ResultStore> store_;

  // Loop-thread state.
  std::set<std::string, std::less<>> configured_;                // names in the config file
  std::map<std::string, DesiredConfig, std::less<>> desired_;    // name -> current version
  std::map<std::string, std::uint64_t, std::less<>> ids_;        // name -> monitor id
  std::map<std::string, MonitorSession, std::less<>> sessions_;  // name -> session
  std::unordered_map<std::string, std::string> routes_;          // routing id -> name
  std::map<std::pair<std::uint64_t, std::string>, SeqTracker> trackers_;
  CheckStates states_;
  std::optional<RecordBatch> batch_;
  std::uint64_t results_seen_ = 0;
  TimePoint next_status_{};
  bool snapshot_dirty_ = true;
  LogLimiter control_limiter_ = input_limiter("bad control"),
             results_limiter_ = input_limiter("bad bus record"),
             peer_limiter_ = input_limiter("peer"), send_limiter_ = input_limiter("send failure"),
             store_limiter_ = input_limiter("store error"),
             record_limiter_ = input_limiter("record"),
             loss_limiter_ = input_limiter("loss record"),
             config_limiter_ = input_limiter("CONFIG_ACK"),
             replay_limiter_ = input_limiter("REPLAY_REQ"),
             connect_limiter_ = input_limiter("monitor connected"),
             stall_limiter_ = input_limiter("loop stall");
  const SessionTiming timing_{options_.heartbeat, options_.liveness};
  std::chrono::steady_clock::time_point last_judged_{};  // real time of the last run_timers

  // Shared with other threads.
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::optional<ManagerConfig> pending_reload_;
  std::vector<MonitorStatus> monitors_snapshot_;
  std::vector<CheckStatus> checks_snapshot_;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, replay_requests_{0}, malformed_control_{0},
      malformed_results_{0}, unknown_peers_{0}, config_resends_{0}, events_count_{0},
      rejected_records_{0}, conflicts_{0}, record_errors_{0}, recovered_from_loss_{0},
      rejected_hellos_{0};
};

Manager::Loop::Loop(zmq::context_t& context, ManagerOptions options)
    : context_(context),
      options_(std::move(options)),
      log_(component_logger("manager")),
      sub_(context, zmq::socket_type::sub),
      events_(context, zmq::socket_type::pub) {
  if (options_.heartbeat <= std::chrono::milliseconds::zero() || options_.liveness == 0) {
    throw std::runtime_error("heartbeat and liveness must be positive");
  }
  auto config = load_manager_config(options_.config_file);
  if (!config) throw std::runtime_error(config.error().message);
  try {
    sqlite::create_private_directory(options_.data_dir);  // the store's files are 0600 too
    store_ = std::make_unique<ResultStore>(options_.data_dir, options_.synchronous);
    for (auto& [name, id] : store_->monitor_ids())
      ids_.emplace(name, id);
  } catch (const std::exception& e) {
    throw std::runtime_error("store in " + options_.data_dir.string() + ": " + e.what() +
                             " (check --data-dir)");
  }
  batch_.emplace(*store_, states_, static_cast<RecordBatchHost&>(*this),
                 BatchLog{log_, record_limiter_, loss_limiter_}, *options_.clock);
  apply_config(*config);

  try {
    control_.emplace(context_, options_.control);
    control_endpoint = control_->endpoint();
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot bind --control " + options_.control + ": " + e.what());
  }
  broker_in_endpoint = options_.broker_in;
  broker_out_endpoint = options_.broker_out;
  if (options_.embedded_broker) {
    try {
      // The manager's own SUB and event PUB use inproc bindings of the
      // embedded broker: every stored result then crosses loopback TCP once
      // (monitor -> broker), not twice.
      static std::atomic<std::uint64_t> instances{0};
      const std::string local = "inproc://netmon-manager-bus-" + std::to_string(instances++);
      broker_ = std::make_unique<ResultBroker>(
          context_, BrokerEndpoints{options_.broker_in, options_.broker_out},
          LocalBindings{local + "-in", local + "-out"});
      local_in_endpoint = local + "-in";
      local_out_endpoint = local + "-out";
    } catch (const zmq::error_t& e) {
      throw std::runtime_error("cannot bind the embedded broker (--broker-in " +
                               options_.broker_in + ", --broker-out " + options_.broker_out +
                               "): " + e.what() + " (or use --external-broker)");
    }
    broker_in_endpoint = broker_->in_endpoint();
    broker_out_endpoint = broker_->out_endpoint();
  }
  try {
    protocol::apply_input_limits(sub_);
    protocol::apply_bus_watermarks(sub_);
    sub_.set(zmq::sockopt::subscribe, std::string(protocol::kResultTopicPrefix));
    sub_.connect(local_out_endpoint.empty() ? broker_out_endpoint : local_out_endpoint);
    events_.set(zmq::sockopt::linger, protocol::kLingerMs);
    protocol::apply_bus_watermarks(events_);
    events_.connect(local_in_endpoint.empty() ? broker_in_endpoint : local_in_endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot connect to the broker (--broker-in " + broker_in_endpoint +
                             ", --broker-out " + broker_out_endpoint + "): " + e.what());
  }
  publish_snapshot();
}

Manager::Loop::~Loop() {
  stop();
}

void Manager::Loop::start() {
  if (thread_.joinable()) return;
  stop_requested_ = false;
  running_ = true;
  thread_ = std::thread([this] { run(); });
  log_->info("ready control={} broker_in={} broker_out={} store={}", control_endpoint,
             broker_in_endpoint, broker_out_endpoint,
             ResultStore::file_in(options_.data_dir).string());
}

void Manager::Loop::stop() {
  if (!thread_.joinable()) return;
  stop_requested_ = true;
  thread_.join();
}

Expected<void> Manager::Loop::reload_config() {
  auto config = load_manager_config(options_.config_file);
  if (!config) return config.error();
  std::lock_guard lock(mutex_);
  pending_reload_ = std::move(config).value();
  return {};
}

ManagerStats Manager::Loop::stats() const {
  return {stored_.load(),
          duplicates_.load(),
          replay_requests_.load(),
          malformed_control_.load(),
          malformed_results_.load(),
          unknown_peers_.load(),
          config_resends_.load(),
          events_count_.load(),
          rejected_records_.load(),
          conflicts_.load(),
          record_errors_.load(),
          recovered_from_loss_.load(),
          rejected_hellos_.load()};
}

std::vector<MonitorStatus> Manager::Loop::monitors() const {
  std::lock_guard lock(mutex_);
  return monitors_snapshot_;
}

std::vector<CheckStatus> Manager::Loop::checks() const {
  std::lock_guard lock(mutex_);
  return checks_snapshot_;
}

void Manager::Loop::run() {
  try {
    next_status_ = options_.clock->now() + options_.status_interval;
    while (!stop_requested_) {
      try {
        turn();
      } catch (const sqlite::SqliteError& e) {
        // The store refused a write (disk full, file locked by another
        // process): what is not stored is not acknowledged, so monitors keep
        // it; try again on the next turn.
        if (store_limiter_.allow(options_.clock->now())) {
          log_->error("store error, retrying: {}", e.what());
        }
      }
    }
    flush();  // what was received is committed (and acknowledged) before stopping
  } catch (const std::exception& e) {
    // Only the truly broken gets here (a socket closed under us): say so
    // loudly; stats and snapshots stay readable and running() turns false.
    log_->critical("manager loop stopped: {}", e.what());
  }
  running_ = false;
}

void Manager::Loop::turn() {
  std::optional<ManagerConfig> reload;
  {
    std::lock_guard lock(mutex_);
    reload.swap(pending_reload_);
  }
  if (reload) {
    apply_config(*reload);
    log_->info("config reloaded from {} monitors={}", options_.config_file.string(),
               reload->monitors.size());
  }
  std::array<zmq::pollitem_t, 2> items{
      {{control_->handle(), 0, ZMQ_POLLIN, 0}, {sub_.handle(), 0, ZMQ_POLLIN, 0}}};
  zmq::poll(items.data(), items.size(), kPollInterval);
  const TimePoint now = options_.clock->now();
  if (items[0].revents & ZMQ_POLLIN) drain_control(now);
  if (items[1].revents & ZMQ_POLLIN) drain_results(now);
  flush();
  run_timers(options_.clock->now());
  for (auto& [name, session] : sessions_)
    snapshot_dirty_ |= session.take_changed();
  if (snapshot_dirty_) publish_snapshot();
  print_status(options_.clock->now());
}

// Stores each configured monitor's check list (a new version when it
// changed) and delivers changes to connected monitors. A name dropped from
// the file gets an empty list, so its monitor stops checking.
void Manager::Loop::apply_config(const ManagerConfig& config) {
  std::map<std::string, std::vector<CheckSpec>, std::less<>> wanted(config.monitors.begin(),
                                                                    config.monitors.end());
  for (const auto& [name, desired] : desired_) {
    if (!wanted.contains(name) && !desired.checks.empty())
      wanted.emplace(name, std::vector<CheckSpec>{});
  }
  configured_.clear();
  for (const auto& [name, checks] : config.monitors)
    configured_.insert(name);
  const TimePoint now = options_.clock->now();
  for (const auto& [name, checks] : wanted) {
    const std::uint64_t version = store_->save_config(name, checks);
    DesiredConfig& desired = desired_[name];
    if (desired.version == version) continue;
    desired.version = version;
    desired.checks = checks;
    desired.digests.clear();
    for (const CheckSpec& spec : checks)
      desired.digests[spec.id] = protocol::check_digest(spec);
    states_.configure(name, checks);
    snapshot_dirty_ = true;
    if (auto it = sessions_.find(name); it != sessions_.end()) it->second.config_changed(now);
  }
}

void Manager::Loop::drain_control(TimePoint now) {
  for (int i = 0; i < kMaxMessagesPerTurn && batch_->records() < kMaxRecordsPerTurn; ++i) {
    auto input = control_->receive();
    if (!input) return;
    if (!*input) {
      bad_input(control_limiter_, malformed_control_, now, input->error().message);
      continue;
    }
    handle_control((*input)->routing_id, (*input)->body.to_string_view(), now);
  }
}

void Manager::Loop::drain_results(TimePoint now) {
  zmq::message_t topic;
  zmq::message_t body;
  for (int i = 0; i < kMaxMessagesPerTurn && batch_->records() < kMaxRecordsPerTurn; ++i) {
    if (!sub_.recv(topic, zmq::recv_flags::dontwait)) return;
    if (!topic.more()) {
      bad_input(results_limiter_, malformed_results_, now, "bus message without a body");
      continue;
    }
    (void)sub_.recv(body, zmq::recv_flags::none);
    if (body.more()) {
      while (body.more())
        (void)sub_.recv(body, zmq::recv_flags::none);
      bad_input(results_limiter_, malformed_results_, now, "bus message with extra frames");
      continue;
    }
    auto record = protocol::decode_record(body.to_string_view());
    if (!record) {
      bad_input(results_limiter_, malformed_results_, now,
                "bad record topic=" + loggable(topic.to_string_view(), 80) + ": " +
                    loggable(record.error().message, 200));
      continue;
    }
    // The decoder escaped invalid UTF-8 in the names; the topic is compared
    // escaped the same way.
    if (to_valid_utf8(topic.to_string_view()) != protocol::record_topic(*record)) {
      bad_input(results_limiter_, malformed_results_, now,
                "record whose topic " + loggable(topic.to_string_view(), 80) +
                    " does not name its monitor " + loggable(record->key.monitor) + " and check");
      continue;
    }
    if (options_.drop_every_nth_result != 0 &&
        ++results_seen_ % options_.drop_every_nth_result == 0) {
      continue;
    }
    // Records of no live session are not stored: a real one is still in its
    // monitor's outbox and comes back by replay after the next HELLO.
    const auto session = sessions_.find(record->key.monitor);
    if (session == sessions_.end()) {
      rejected(no_live_session(record->key, "bus"), now);
      continue;
    }
    if (!session->second.accepts_from_bus(*record, now)) continue;
    batch_->add(session->second.id(), std::move(record).value());
  }
}

void Manager::Loop::handle_control(const std::string& routing_id, std::string_view body,
                                   TimePoint now) {
  auto decoded = protocol::decode_control(body);
  if (!decoded) {
    if (protocol::is_other_version_hello(body)) {
      control_->send_to(
          routing_id,
          protocol::Reject{"bad_version", "this manager speaks NMP/" +
                                              std::to_string(protocol::kVersion) +
                                              "; upgrade or downgrade the monitor to match"});
      bad_input(control_limiter_, malformed_control_, now, "HELLO of another protocol version");
      return;
    }
    bad_input(control_limiter_, malformed_control_, now,
              "bad control message: " + loggable(decoded.error().message, 200));
    return;
  }
  if (auto* hello = std::get_if<protocol::Hello>(&*decoded)) {
    handle_hello(routing_id, *hello, now);
    return;
  }
  const auto route = routes_.find(routing_id);
  if (route == routes_.end()) {
    ++unknown_peers_;
    if (peer_limiter_.allow(now)) {
      log_->warn("message from an unknown peer ignored type={} (expected HELLO first)",
                 protocol::type_name(*decoded));
    }
    return;
  }
  MonitorSession& session = sessions_.at(route->second);
  session.receive(*decoded, now);
  if (std::holds_alternative<protocol::Bye>(*decoded)) routes_.erase(routing_id);
}

void Manager::Loop::handle_hello(const std::string& routing_id, const protocol::Hello& hello,
                                 TimePoint now) {
  if (!configured_.contains(hello.name)) {
    control_->send_to(
        routing_id, protocol::Reject{"unknown_name", "monitor '" + loggable(hello.name) +
                                                         "' is not in the manager's config file " +
                                                         options_.config_file.string() +
                                                         " (add it under monitors:)"});
    if (peer_limiter_.allow(now)) {
      log_->warn("HELLO refused monitor={} reason=unknown_name", loggable(hello.name));
    }
    return;
  }
  MonitorSession& session = sessions_
                                .try_emplace(hello.name, hello.name, timing_,
                                             SessionLog{log_, peer_limiter_, config_limiter_,
                                                        replay_limiter_, connect_limiter_},
                                             static_cast<SessionHost&>(*this))
                                .first->second;
  if (session.refuses(routing_id, hello, now)) return;
  if (!session.routing_id().empty()) routes_.erase(session.routing_id());
  const std::uint64_t id = store_->register_monitor(hello.name, hello.instance);
  ids_[hello.name] = id;
  routes_[routing_id] = hello.name;
  session.welcome(routing_id, hello, id, now);
  snapshot_dirty_ = true;
}

// One transaction for everything received this turn; ACKs only after COMMIT.
// If the transaction fails, the trackers it touched are dropped and rebuilt
// from the store.
void Manager::Loop::flush() {
  if (batch_->empty()) return;
  const FlushOutcome outcome = batch_->flush();
  conflicts_ += outcome.conflicts;
  record_errors_ += outcome.record_errors;
  recovered_from_loss_ += outcome.recovered_from_loss;
  if (outcome.store_error) {
    // Nothing of this batch is acknowledged: the monitors still hold it and
    // will replay it.
    for (const auto& key : outcome.touched)
      trackers_.erase(key);
    if (store_limiter_.allow(options_.clock->now())) {
      log_->error("store write failed, {} records not stored (monitors keep them): {}",
                  outcome.records, *outcome.store_error);
    }
    return;
  }
  stored_ += outcome.inserted;
  duplicates_ += outcome.duplicates;
  // Records of an epoch a HELLO replaced in this very turn are stored, but
  // their tracker is not kept: only live epochs are tracked.
  for (const auto& key : outcome.touched) {
    const bool live = std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& entry) {
      return entry.second.id() == key.first && entry.second.epoch() == key.second;
    });
    if (!live) trackers_.erase(key);
  }
  // Readers of monitors() see a stored seq no later than its ACK goes out.
  publish_snapshot();
  const TimePoint now = options_.clock->now();
  for (auto& [name, session] : sessions_)
    session.acknowledge(now);
}

void Manager::Loop::result_stored(const protocol::RecordKey& key, const CheckResult& result) {
  if (auto it = sessions_.find(key.monitor); it != sessions_.end()) {
    it->second.note_clock(result, options_.clock->now());
  }
}

void Manager::Loop::run_timers(TimePoint now) {
  report_suppressed(now);
  // The loop itself stalled since it last judged liveness (the process was
  // stopped, the machine paused, a commit took long): silence is counted only
  // while the manager listens. Measured in real time, whatever clock the
  // sessions are timed on; never moves a session's last message past now.
  const auto real_now = std::chrono::steady_clock::now();
  if (last_judged_ != std::chrono::steady_clock::time_point{} &&
      real_now - last_judged_ > options_.heartbeat) {
    const auto stalled = real_now - last_judged_;
    for (auto& [name, session] : sessions_)
      session.stalled(stalled, now);
    if (stall_limiter_.allow(now)) {
      log_->warn("manager loop stalled for {} ms; monitors' silence over it is not counted",
                 std::chrono::duration_cast<std::chrono::milliseconds>(stalled).count());
    }
  }
  last_judged_ = real_now;
  // Messages still queued on the ROUTER are read before anyone is judged
  // silent: after a stall they are the proof of life.
  const bool control_pending = control_->input_pending();
  for (auto& [name, session] : sessions_) {
    if (auto released = session.tick(now, control_pending)) routes_.erase(*released);
  }
}

SendOutcome Manager::Loop::send(const std::string& routing_id, std::string_view monitor,
                                const protocol::ControlMessage& message) {
  try {
    return control_->send(routing_id, message);
  } catch (const zmq::error_t& e) {
    if (send_limiter_.allow(options_.clock->now())) {
      log_->warn("send failed monitor={} type={}: {}", monitor, protocol::type_name(message),
                 e.what());
    }
    return SendOutcome::kBusy;
  }
}

void Manager::Loop::count(SessionCount what) {
  switch (what) {
    case SessionCount::kConfigResends:
      ++config_resends_;
      break;
    case SessionCount::kReplayRequests:
      ++replay_requests_;
      break;
    case SessionCount::kRejectedHellos:
      ++rejected_hellos_;
      break;
  }
}

void Manager::Loop::emit_event(protocol::Event event) {
  log_->critical("{}", event.text);
  const std::string topic = protocol::event_topic(event);
  const std::string body = protocol::encode_event(event);
  try {
    (void)events_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    (void)events_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    log_->warn("event not published: {}", e.what());
  }
  ++events_count_;
  batch_->add(std::move(event));
}

void Manager::Loop::bad_input(LogLimiter& limiter, std::atomic<std::uint64_t>& counter,
                              TimePoint now, const std::string& text) {
  ++counter;
  if (limiter.allow(now)) log_->warn("dropped: {}", text);
}

void Manager::Loop::report_suppressed(TimePoint now) {
  for (LogLimiter* limiter : {&control_limiter_, &results_limiter_, &peer_limiter_, &send_limiter_,
                              &store_limiter_, &record_limiter_, &loss_limiter_, &config_limiter_,
                              &replay_limiter_, &connect_limiter_, &stall_limiter_}) {
    if (const std::uint64_t count = limiter->take_suppressed(now); count != 0) {
      log_->warn("{} {} lines suppressed in the last 10 s (see the counters in the status)", count,
                 limiter->kind());
    }
  }
}

SeqTracker& Manager::Loop::tracker(std::uint64_t monitor_id, const std::string& epoch) {
  auto key = std::make_pair(monitor_id, epoch);
  auto it = trackers_.find(key);
  if (it == trackers_.end()) {
    it = trackers_
             .emplace(std::move(key),
                      SeqTracker(store_->epoch_progress(monitor_id, epoch), options_.clock->now()))
             .first;
  }
  return it->second;
}

void Manager::Loop::publish_snapshot() {
  std::vector<MonitorStatus> monitors;
  std::set<std::string, std::less<>> names(configured_.begin(), configured_.end());
  for (const auto& [name, session] : sessions_)
    names.insert(name);
  for (const std::string& name : names) {
    MonitorStatus status;
    status.name = name;
    status.state = std::string(to_string(MonitorState::kNeverSeen));
    if (auto id = ids_.find(name); id != ids_.end()) status.id = id->second;
    if (auto desired = desired_.find(name); desired != desired_.end()) {
      status.config_version = desired->second.version;
    }
    if (auto it = sessions_.find(name); it != sessions_.end()) {
      const MonitorSession& session = it->second;
      status.state = std::string(to_string(session.state()));
      status.acked_config_version = session.acked_config_version();
      status.epoch = session.epoch();
      status.clock_ahead_ms = session.clock_ahead_ms();
      status.outbox_error = session.outbox_error();
      if (auto seqs = trackers_.find({session.id(), session.epoch()}); seqs != trackers_.end()) {
        status.stored_seq = seqs->second.contiguous();
      }
    }
    monitors.push_back(std::move(status));
  }
  std::vector<CheckStatus> checks;
  for (const auto& entry : states_.snapshot()) {
    checks.push_back({entry.monitor, entry.check, std::string(to_string(entry.state))});
  }
  std::lock_guard lock(mutex_);
  monitors_snapshot_ = std::move(monitors);
  checks_snapshot_ = std::move(checks);
  snapshot_dirty_ = false;
}

void Manager::Loop::print_status(TimePoint now) {
  if (options_.status_interval <= std::chrono::milliseconds::zero() || now < next_status_) return;
  next_status_ = now + options_.status_interval;
  log_->info("{}", format_status_table(monitors(), checks()));
}

Manager::Manager(zmq::context_t& context, ManagerOptions options)
    : loop_(std::make_unique<Loop>(context, std::move(options))) {}

Manager::~Manager() {
  stop();
}

void Manager::start() {
  loop_->start();
}

void Manager::stop() {
  loop_->stop();
}

Expected<void> Manager::reload_config() {
  return loop_->reload_config();
}

ManagerStats Manager::stats() const {
  return loop_->stats();
}

std::vector<MonitorStatus> Manager::monitors() const {
  return loop_->monitors();
}

std::vector<CheckStatus> Manager::checks() const {
  return loop_->checks();
}

bool Manager::running() const {
  return loop_->running();
}

std::string Manager::control_endpoint() const {
  return loop_->control_endpoint;
}

std::string Manager::broker_in_endpoint() const {
  return loop_->broker_in_endpoint;
}

std::string Manager::broker_out_endpoint() const {
  return loop_->broker_out_endpoint;
}

}  // namespace netmon::manager
