#include "manager/manager.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "broker/result_broker.hpp"
#include "common/data_dir_lock.hpp"
#include "common/log_limiter.hpp"
#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "common/text.hpp"
#include "manager/check_state.hpp"
#include "manager/config_file.hpp"
#include "manager/console_commands.hpp"
#include "manager/control_channel.hpp"
#include "manager/ctl_server.hpp"
#include "manager/manager_config.hpp"
#include "manager/monitor_session.hpp"
#include "manager/record_batch.hpp"
#include "manager/result_store.hpp"
#include "manager/seq_tracker.hpp"
#include "manager/status_table.hpp"
#include "manager/store_queries.hpp"

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

// Over how long `status` measures the ingest rate.
constexpr std::chrono::seconds kIngestWindow{10};

class Manager::Loop final : private SessionHost, private RecordBatchHost, private ConsoleHost {
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
  std::string ctl_endpoint;
  std::string local_in_endpoint;  // inproc bindings of the embedded broker, if any
  std::string local_out_endpoint;

 private:
  void run();
  void turn();
  // Returns the monitors whose check list got a new version, with it.
  std::map<std::string, std::uint64_t, std::less<>> apply_config(const ManagerConfig& config);
  void take_config(LoadedConfigFile loaded);
  void restore_latest_results();
  void drain_ctl(TimePoint now);
  std::vector<MonitorStatus> build_monitor_rows(TimePoint now) const;
  std::vector<CheckStatus> build_check_rows(TimePoint now) const;

  void drain_control(TimePoint now);
  void drain_results(TimePoint now);
  void handle_control(const std::string& routing_id, std::string_view body, const std::string& peer,
                      TimePoint now);
  void handle_hello(const std::string& routing_id, const protocol::Hello& hello,
                    const std::string& peer, TimePoint now);
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

  // ConsoleHost: the console's view of the loop, and the changes it asks for.
  std::vector<MonitorStatus> monitor_rows() override {
    return build_monitor_rows(options_.clock->now());
  }
  std::vector<CheckStatus> check_rows() override { return build_check_rows(options_.clock->now()); }
  ManagerSummary summary() override;
  const ManagerConfig& running_config() override { return config_; }
  ConsoleResult<AppliedConfig> commit_config(const ManagerConfig& config) override;
  ConsoleResult<ManagerConfig> reload_config_file() override;

  zmq::context_t& context_;
  ManagerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<DataDirLock> data_dir_lock_;
  std::unique_ptr<ResultBroker> broker_;
  std::optional<ControlChannel> control_;
  zmq::socket_t sub_;
  zmq::socket_t events_;
  std::unique_ptr<ResultStore> store_;
  std::optional<CtlServer> ctl_;
  std::unique_ptr<ConsoleCommands> console_;

  // Loop-thread state.
  ManagerConfig config_;          // as running: the file's, and the console's changes
  ConfigFileStamp config_stamp_;  // of the file as last read or written
  TimePoint started_{};
  std::chrono::system_clock::time_point started_wall_{};
  // Each check's newest stored result (by epoch and seq), and when it came.
  struct Newest {
    LatestResult result;
    std::string epoch;
    std::uint64_t seq = 0;
    TimePoint received{};
  };
  std::map<std::pair<std::string, std::string>, Newest, std::less<>> newest_;
  std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point, std::less<>>
      down_since_;
  std::map<std::string, std::uint64_t, std::less<>> stored_by_monitor_;
  std::deque<std::pair<TimePoint, std::uint64_t>> ingest_samples_;  // (when, stored_ then)
  std::set<std::string, std::less<>> configured_;                   // names in the config file
  std::map<std::string, DesiredConfig, std::less<>> desired_;       // name -> current version
  std::map<std::string, std::uint64_t, std::less<>> ids_;           // name -> monitor id
  std::map<std::string, MonitorSession, std::less<>> sessions_;     // name -> session
  std::unordered_map<std::string, std::string> routes_;             // routing id -> name
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
  std::optional<LoadedConfigFile> pending_reload_;
  std::vector<MonitorStatus> monitors_snapshot_;
  std::vector<CheckStatus> checks_snapshot_;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, replay_requests_{0}, malformed_control_{0},
      malformed_results_{0}, unknown_peers_{0}, config_resends_{0}, events_count_{0},
      rejected_records_{0}, conflicts_{0}, record_errors_{0}, recovered_from_loss_{0},
      rejected_hellos_{0}, ctl_requests_{0};
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
  auto config = load_config_file(options_.config_file);
  if (!config) throw std::runtime_error(config.error().message);
  // Before the store is opened: one manager per store.
  data_dir_lock_.emplace(options_.data_dir, "manager.lock", "netmon-manager");
  started_ = options_.clock->now();
  started_wall_ = std::chrono::system_clock::now();
  try {
    store_ = std::make_unique<ResultStore>(options_.data_dir, options_.synchronous);
    for (auto& [name, id] : store_->monitor_ids())
      ids_.emplace(name, id);
  } catch (const std::exception& e) {
    throw std::runtime_error("store in " + options_.data_dir.string() + ": " + e.what() +
                             " (check --data-dir)");
  }
  batch_.emplace(*store_, states_, static_cast<RecordBatchHost&>(*this),
                 BatchLog{log_, record_limiter_, loss_limiter_}, *options_.clock);
  take_config(std::move(config).value());
  // After a restart: the check states and last results the store implies
  // (once: a check a reload adds starts afresh even if its id was used before).
  states_.restore(*store_);
  restore_latest_results();

  try {
    control_.emplace(context_, options_.control);
    control_endpoint = control_->endpoint();
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot bind --control " + options_.control + ": " + e.what());
  }
  if (!options_.ctl.empty()) {
    try {
      ctl_.emplace(context_, options_.ctl);
    } catch (const zmq::error_t& e) {
      throw std::runtime_error("cannot bind --ctl " + options_.ctl + ": " + e.what() +
                               " (an ipc path is at most 107 bytes; --ctl off serves none)");
    }
    ctl_endpoint = ctl_->endpoint();
    console_ = std::make_unique<ConsoleCommands>(
        static_cast<ConsoleHost&>(*this), options_.data_dir,
        [this](const std::string& routing_id, const protocol::ctl::Reply& reply) {
          ctl_->reply(routing_id, reply);
        });
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
  console_.reset();  // its worker reads the store: gone before the lock is released
}

void Manager::Loop::start() {
  if (thread_.joinable()) return;
  stop_requested_ = false;
  running_ = true;
  thread_ = std::thread([this] { run(); });
  log_->info("ready control={} broker_in={} broker_out={} store={} ctl={}", control_endpoint,
             broker_in_endpoint, broker_out_endpoint,
             ResultStore::file_in(options_.data_dir).string(),
             ctl_endpoint.empty() ? "off" : ctl_endpoint);
}

void Manager::Loop::stop() {
  if (!thread_.joinable()) return;
  stop_requested_ = true;
  thread_.join();
}

Expected<void> Manager::Loop::reload_config() {
  auto config = load_config_file(options_.config_file);
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
          rejected_hellos_.load(),
          ctl_requests_.load(),
          ctl_ ? ctl_->bad_requests() : 0,
          ctl_ ? ctl_->dropped_replies() : 0};
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
  std::optional<LoadedConfigFile> reload;
  {
    std::lock_guard lock(mutex_);
    reload.swap(pending_reload_);
  }
  if (reload) {
    const std::size_t monitors = reload->config.monitors.size();
    take_config(std::move(reload).value());
    log_->info("config reloaded from {} monitors={}", options_.config_file.string(), monitors);
  }
  std::array<zmq::pollitem_t, 3> items{{{control_->handle(), 0, ZMQ_POLLIN, 0},
                                        {sub_.handle(), 0, ZMQ_POLLIN, 0},
                                        {ctl_ ? ctl_->handle() : nullptr, 0, ZMQ_POLLIN, 0}}};
  zmq::poll(items.data(), ctl_ ? 3 : 2, kPollInterval);
  const TimePoint now = options_.clock->now();
  if (items[0].revents & ZMQ_POLLIN) drain_control(now);
  if (items[1].revents & ZMQ_POLLIN) drain_results(now);
  flush();
  // After the flush: what a console request reads is what is stored.
  if (ctl_ && (items[2].revents & ZMQ_POLLIN)) drain_ctl(now);
  run_timers(options_.clock->now());
  if (console_) console_->tick(options_.clock->now());
  for (auto& [name, session] : sessions_)
    snapshot_dirty_ |= session.take_changed();
  if (snapshot_dirty_) publish_snapshot();
  print_status(options_.clock->now());
}

// Stores each configured monitor's check list (a new version when it
// changed) and delivers changes to connected monitors. A name dropped from
// the file gets an empty list, so its monitor stops checking.
std::map<std::string, std::uint64_t, std::less<>> Manager::Loop::apply_config(
    const ManagerConfig& config) {
  std::map<std::string, std::uint64_t, std::less<>> changed;
  std::map<std::string, std::vector<CheckSpec>, std::less<>> wanted(config.monitors.begin(),
                                                                    config.monitors.end());
  for (const auto& [name, desired] : desired_) {
    if (!wanted.contains(name) && !desired.checks.empty())
      wanted.emplace(name, std::vector<CheckSpec>{});
  }
  configured_.clear();
  for (const auto& [name, checks] : config.monitors)
    configured_.insert(name);
  std::erase_if(newest_, [&](const auto& entry) {
    const auto monitor = wanted.find(entry.first.first);
    return monitor == wanted.end() ||
           std::none_of(monitor->second.begin(), monitor->second.end(),
                        [&](const CheckSpec& spec) { return spec.id == entry.first.second; });
  });
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
    changed[name] = version;
    snapshot_dirty_ = true;
    if (auto it = sessions_.find(name); it != sessions_.end()) it->second.config_changed(now);
  }
  return changed;
}

void Manager::Loop::take_config(LoadedConfigFile loaded) {
  apply_config(loaded.config);
  config_ = std::move(loaded.config);
  config_stamp_ = loaded.stamp;
}

// After a restart the console shows each check's last result and since when
// it is DOWN from the store, not nothing until the monitor is back.
void Manager::Loop::restore_latest_results() {
  auto reader = StoreReader::open(options_.data_dir);
  if (!reader) return;  // a new store: nothing to restore
  for (const auto& entry : states_.snapshot()) {
    if (entry.state == CheckState::kDown) {
      StoreFilter filter;
      filter.monitor = entry.monitor;
      filter.check = entry.check;
      if (auto events = reader->events(filter, 1); events && !events->events.empty()) {
        down_since_[{entry.monitor, entry.check}] = events->events.back().time;
      }
    }
  }
  for (const auto& [name, checks] : config_.monitors) {
    std::vector<std::string> ids;
    for (const CheckSpec& spec : checks)
      ids.push_back(spec.id);
    auto latest = reader->last_results(name, ids);
    if (!latest) continue;
    for (const auto& result : latest->checks) {
      Newest& newest = newest_[std::pair{name, result.check}];
      newest.result = {result.time, result.status, result.reason, "", result.latency_ms};
      newest.received = started_;
    }
  }
}

ConsoleResult<AppliedConfig> Manager::Loop::commit_config(const ManagerConfig& config) {
  const std::string file = options_.config_file.string();
  if (auto now_on_disk = stamp_config_file(options_.config_file);
      now_on_disk && *now_on_disk != config_stamp_) {
    return ConsoleFailure{"config_changed_on_disk",
                          file +
                              " changed on disk since the manager read it; run `reload` "
                              "first (then repeat the change)"};
  }
  // The file first: a change that cannot be written is not made, so a
  // restart never loses one that was answered.
  auto written = save_config_file(options_.config_file, config, config_stamp_);
  if (!written) return ConsoleFailure{"config_write_failed", written.error().message};
  config_stamp_ = *written;
  log_->info("config file {} rewritten (previous kept as {}.bak)", file, file);
  AppliedConfig applied;
  for (auto& [name, version] : apply_config(config))
    applied.versions.emplace(name, version);
  config_ = config;
  snapshot_dirty_ = true;
  return applied;
}

ConsoleResult<ManagerConfig> Manager::Loop::reload_config_file() {
  auto loaded = load_config_file(options_.config_file);
  if (!loaded) {
    return ConsoleFailure{"invalid_config",
                          loaded.error().message + " (the running config stays; fix the file)"};
  }
  ManagerConfig before = config_;
  take_config(std::move(loaded).value());
  log_->info("config reloaded from {} monitors={} (console)", options_.config_file.string(),
             config_.monitors.size());
  return before;
}

void Manager::Loop::drain_ctl(TimePoint now) {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    auto call = ctl_->receive();
    if (!call) return;
    ++ctl_requests_;
    try {
      console_->handle(*call, now);
    } catch (const std::exception& e) {
      // A console request never stops the loop; its client hears why.
      ctl_->reply(call->routing_id,
                  protocol::ctl::Reply{call->request.id, false, "internal",
                                       std::string("internal error: ") + e.what(), ""});
      log_->error("console request {} failed: {}", loggable(call->request.command, 32), e.what());
    }
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
    handle_control((*input)->routing_id, (*input)->body.to_string_view(), (*input)->peer, now);
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
                                   const std::string& peer, TimePoint now) {
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
    handle_hello(routing_id, *hello, peer, now);
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
                                 const std::string& peer, TimePoint now) {
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
  session.set_peer(peer);
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
  {
    const TimePoint now = options_.clock->now();
    ingest_samples_.emplace_back(now, stored_.load());
    while (ingest_samples_.size() > 2 && now - ingest_samples_[1].first > kIngestWindow)
      ingest_samples_.pop_front();
  }
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
  const TimePoint now = options_.clock->now();
  if (auto it = sessions_.find(key.monitor); it != sessions_.end()) {
    it->second.note_clock(result, now);
  }
  ++stored_by_monitor_[key.monitor];
  // Newest by (epoch, seq), as the check states are: replay brings old ones late.
  auto [entry, fresh] = newest_.try_emplace({key.monitor, result.check_id});
  Newest& newest = entry->second;
  if (!fresh && newest.epoch == key.epoch && key.seq < newest.seq) return;
  newest.epoch = key.epoch;
  newest.seq = key.seq;
  newest.received = now;
  newest.result = {result.timestamp, std::string(to_string(result.status)), result.reason,
                   result.error, std::chrono::duration<double, std::milli>(result.latency).count()};
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
  if (!event.check.empty()) {
    if (event.to == to_string(CheckState::kDown)) {
      down_since_[{event.monitor, event.check}] = event.ts;
    } else {
      down_since_.erase({event.monitor, event.check});
    }
  }
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

std::vector<MonitorStatus> Manager::Loop::build_monitor_rows(TimePoint now) const {
  std::vector<MonitorStatus> monitors;
  std::set<std::string, std::less<>> names(configured_.begin(), configured_.end());
  for (const auto& [name, session] : sessions_)
    names.insert(name);
  for (const std::string& name : names) {
    MonitorStatus status;
    status.name = name;
    status.state = std::string(to_string(MonitorState::kNeverSeen));
    if (auto id = ids_.find(name); id != ids_.end()) {
      status.id = id->second;
      // Known from the store, not back since this manager started: it is
      // most likely waiting out its reconnect delay.
      status.state = now - started_ < kReconnectGrace ? "RECONNECTING"
                                                      : std::string(to_string(MonitorState::kLost));
    }
    if (auto desired = desired_.find(name); desired != desired_.end()) {
      status.config_version = desired->second.version;
      status.checks = desired->second.checks.size();
    }
    if (auto stored = stored_by_monitor_.find(name); stored != stored_by_monitor_.end()) {
      status.results_stored = stored->second;
    }
    if (auto it = sessions_.find(name); it != sessions_.end()) {
      const MonitorSession& session = it->second;
      status.state = std::string(to_string(session.state()));
      status.acked_config_version = session.acked_config_version();
      status.epoch = session.epoch();
      status.clock_ahead_ms = session.clock_ahead_ms();
      status.outbox_error = session.outbox_error();
      status.peer = session.peer();
      status.since = session.state_since();
      status.last_heard = session.last_heard();
      if (auto seqs = trackers_.find({session.id(), session.epoch()}); seqs != trackers_.end()) {
        status.stored_seq = seqs->second.contiguous();
        if (session.announced_seq() > 0) {
          status.backlog = session.announced_seq() > status.stored_seq
                               ? session.announced_seq() - status.stored_seq
                               : 0;
        }
      }
    }
    monitors.push_back(std::move(status));
  }
  return monitors;
}

std::vector<CheckStatus> Manager::Loop::build_check_rows(TimePoint now) const {
  std::map<std::pair<std::string, std::string>, CheckState, std::less<>> states;
  for (const auto& entry : states_.snapshot())
    states.emplace(std::pair{entry.monitor, entry.check}, entry.state);
  std::vector<CheckStatus> checks;
  for (const auto& [monitor, desired] : desired_) {
    const auto session = sessions_.find(monitor);
    const bool connected =
        session != sessions_.end() && session->second.state() == MonitorState::kConnected;
    for (const CheckSpec& spec : desired.checks) {  // in the config's order
      const auto key = std::pair{monitor, spec.id};
      const auto state = states.find(key);
      const CheckState current = state == states.end() ? CheckState::kUnknown : state->second;
      CheckStatus status{monitor, spec.id, std::string(to_string(current))};
      status.last_state = status.state;
      status.spec = spec;
      const auto newest = newest_.find(key);
      if (newest != newest_.end()) status.last = newest->second.result;
      if (auto down = down_since_.find(key);
          down != down_since_.end() && current == CheckState::kDown) {
        status.down_since = down->second;
      }
      // A state nobody confirmed lately is not shown as current.
      const bool old = newest == newest_.end() || now - newest->second.received > 2 * spec.interval;
      if (current != CheckState::kUnknown && (!connected || old)) status.state = "STALE";
      checks.push_back(std::move(status));
    }
  }
  return checks;
}

ManagerSummary Manager::Loop::summary() {
  ManagerSummary summary;
  summary.config_file = std::filesystem::absolute(options_.config_file).string();
  summary.data_dir = std::filesystem::absolute(options_.data_dir).string();
  const TimePoint now = options_.clock->now();
  summary.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_);
  summary.stored = stored_.load();
  if (!ingest_samples_.empty()) {
    const auto& [first_at, first_stored] = ingest_samples_.front();
    const double seconds = std::chrono::duration<double>(now - first_at).count();
    if (seconds > 0)
      summary.ingest_per_s = static_cast<double>(summary.stored - first_stored) / seconds;
  }
  summary.control = control_endpoint;
  summary.broker_in = broker_in_endpoint;
  summary.broker_out = broker_out_endpoint;
  summary.ctl = ctl_endpoint;
  return summary;
}

void Manager::Loop::publish_snapshot() {
  const TimePoint now = options_.clock->now();
  std::vector<MonitorStatus> monitors = build_monitor_rows(now);
  std::vector<CheckStatus> checks = build_check_rows(now);
  std::lock_guard lock(mutex_);
  monitors_snapshot_ = std::move(monitors);
  checks_snapshot_ = std::move(checks);
  snapshot_dirty_ = false;
}

void Manager::Loop::print_status(TimePoint now) {
  if (options_.status_interval <= std::chrono::milliseconds::zero() || now < next_status_) return;
  next_status_ = now + options_.status_interval;
  publish_snapshot();  // STALE and RECONNECTING change with time alone
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

std::string Manager::ctl_endpoint() const {
  return loop_->ctl_endpoint;
}

}  // namespace netmon::manager
