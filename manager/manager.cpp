#include "manager/manager.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "broker/result_broker.hpp"
#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "common/text.hpp"
#include "manager/check_state.hpp"
#include "manager/manager_config.hpp"
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

constexpr std::string_view kConnected = "CONNECTED";
constexpr std::string_view kLost = "LOST";
constexpr std::string_view kStopped = "STOPPED";
constexpr std::string_view kNeverSeen = "NEVER_SEEN";

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// At most kBurst lines per kWindow per kind of line caused by input; the
// rest are counted, and the count is logged on a timer once the window ends
// (not only when the next bad input arrives).
class LogLimiter {
 public:
  explicit LogLimiter(std::string_view kind) : kind_(kind) {}
  bool allow(TimePoint now) {
    roll(now);
    if (lines_ < kBurst) {
      ++lines_;
      return true;
    }
    ++suppressed_;
    return false;
  }
  // Lines held back in windows that have ended; each is reported once.
  std::uint64_t take_suppressed(TimePoint now) {
    roll(now);
    return std::exchange(ended_suppressed_, 0);
  }
  std::string_view kind() const { return kind_; }

 private:
  void roll(TimePoint now) {
    if (now - window_start_ < kWindow) return;
    ended_suppressed_ += suppressed_;
    suppressed_ = 0;
    lines_ = 0;
    window_start_ = now;
  }

  static constexpr int kBurst = 10;
  static constexpr std::chrono::seconds kWindow{10};
  std::string_view kind_;
  TimePoint window_start_{};
  int lines_ = 0;
  std::uint64_t suppressed_ = 0, ended_suppressed_ = 0;
};

// How far beyond the newest seq a monitor announced on its own connection
// (HELLO, HEARTBEAT, REPLAY) a bus record's seq may lie: the monitor's output
// between two heartbeats, with room to spare. A seq beyond it is forged or
// broken; storing it would make the real record for that seq a duplicate.
// What the bus delivered never moves the bound: else each forged record at
// its edge would move it 1,000,000 further.
constexpr std::uint64_t kSeqWindow = 1'000'000;
// A result dated further than this ahead of the manager's clock means the
// monitor's clock is wrong (a past date may just be a late delivery).
constexpr std::chrono::seconds kMaxClockAhead{60};
// A monitor's takeover or clock-skew condition is raised as an event at most
// this often; further occurrences are counted.
constexpr std::chrono::seconds kConditionEventInterval{60};

struct DesiredConfig {
  std::uint64_t version = 0;
  std::vector<CheckSpec> checks;
  std::map<std::string, std::string> digests;  // check id -> digest
};

struct Session {
  std::string name;
  std::uint64_t id = 0;
  std::string instance;
  std::string routing_id;
  std::string_view state = kNeverSeen;
  std::string epoch;
  std::uint64_t acked_config_version = 0;
  bool config_unacked = false;  // a CONFIG is out and not (correctly) acknowledged
  TimePoint config_sent_at{};
  TimePoint config_resend_at{};
  TimePoint last_received{};
  TimePoint last_sent{};
  std::uint64_t acked_seq_sent = 0;
  bool ack_due = false;  // a REPLAY batch arrived: answer with an ACK even if nothing is new
  std::optional<SeqRange> replay_requested;
  TimePoint replay_requested_at{};
  // The last REPLAY that was not an answer to our REPLAY_REQ: the monitor
  // catching up on its own after WELCOME.
  std::optional<TimePoint> catch_up_seen;
  // A send found the connection gone. Messages it sent before closing (a BYE
  // above all) may still be queued on the ROUTER: it is LOST only if nothing
  // from it arrives within one heartbeat interval.
  std::optional<TimePoint> closed_at;
  // The newest seq the monitor announced (HELLO, HEARTBEAT, the records of a
  // REPLAY), at most kMaxSeq: bounds the seqs accepted from the bus (kSeqWindow).
  std::uint64_t announced_seq = 0;
  // Newest result timestamp ahead of the manager's clock by more than
  // kMaxClockAhead, in ms (0: none seen); and when it was last raised.
  std::int64_t clock_ahead_ms = 0;
  std::optional<TimePoint> clock_ahead_at;  // when a skewed result was last seen
  std::optional<TimePoint> clock_event_at;
  std::string outbox_error;  // from its last HEARTBEAT: its outbox commits fail
  // Its HEARTBEATs name its newest seq (older monitors' do not): it is asked
  // only for seqs it announced.
  bool announces = false;
  std::optional<TimePoint> takeover_event_at;
  std::optional<TimePoint> epoch_event_at;
  std::uint64_t config_logged_version = 0;    // the last CONFIG logged as sent, and when
  std::optional<TimePoint> config_logged_at;  // an epoch ended with seqs never stored
};

struct PendingRecord {
  std::uint64_t monitor_id = 0;
  protocol::Record record;
};

}  // namespace

class Manager::Loop {
 public:
  Loop(zmq::context_t& context, ManagerOptions options);
  ~Loop();

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
  void handle_config_ack(Session& session, const protocol::ConfigAck& ack, TimePoint now);
  void handle_heartbeat(Session& session, const protocol::Heartbeat& heartbeat, TimePoint now);
  void handle_replay(Session& session, protocol::Replay& replay, TimePoint now);
  void flush();
  void run_timers(TimePoint now);
  void check_gap(Session& session, TimePoint now);

  bool send(Session& session, const protocol::ControlMessage& message, TimePoint now);
  void send_to(const std::string& routing_id, const protocol::ControlMessage& message);
  void send_config(Session& session, TimePoint now);
  void set_state(Session& session, std::string_view state, const std::string& why);
  void emit_event(protocol::Event event);
  void bad_input(LogLimiter& limiter, std::atomic<std::uint64_t>& counter, TimePoint now,
                 const std::string& text);
  // Null unless `key` belongs to a live session's epoch with a plausible seq.
  Session* session_for(const protocol::RecordKey& key, std::string_view via, TimePoint now);
  bool store_record(const PendingRecord& pending, SeqTracker& seqs, std::int64_t stored_us);
  void note_clock(Session& session, const CheckResult& result, TimePoint now);
  void report_suppressed(TimePoint now);
  bool old_connection_alive(Session& session);
  void note_ended_epoch(Session& session, const protocol::Hello& hello);
  SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch);
  void publish_snapshot();
  void print_status(TimePoint now);

  zmq::context_t& context_;
  ManagerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<ResultBroker> broker_;
  zmq::socket_t router_;
  zmq::socket_t sub_;
  zmq::socket_t events_;
  std::unique_ptr<ResultStore> store_;

  // Loop-thread state.
  std::set<std::string, std::less<>> configured_;              // names in the config file
  std::map<std::string, DesiredConfig, std::less<>> desired_;  // name -> current version
  std::map<std::string, std::uint64_t, std::less<>> ids_;      // name -> monitor id
  std::map<std::string, Session, std::less<>> sessions_;       // name -> session
  std::unordered_map<std::string, std::string> routes_;        // routing id -> name
  std::map<std::pair<std::uint64_t, std::string>, SeqTracker> trackers_;
  CheckStates states_;
  std::vector<PendingRecord> batch_;
  // (monitor id, epoch, loss seq) of the loss rows a result of this batch was
  // found in: each row's lost ranges are written once per batch, not once
  // per result (a loss in 10^5 pieces made that quadratic).
  std::set<std::tuple<std::uint64_t, std::string, std::uint64_t>> losses_found_in_;
  std::vector<protocol::Event> events_to_store_;
  std::uint64_t results_seen_ = 0;
  TimePoint next_status_{};
  bool snapshot_dirty_ = true;
  LogLimiter control_limiter_{"bad control"}, results_limiter_{"bad bus record"},
      peer_limiter_{"peer"}, send_limiter_{"send failure"}, store_limiter_{"store error"},
      record_limiter_{"record"}, loss_limiter_{"loss record"}, config_limiter_{"CONFIG_ACK"},
      replay_limiter_{"REPLAY_REQ"}, connect_limiter_{"monitor connected"},
      stall_limiter_{"loop stall"};
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
      router_(context, zmq::socket_type::router),
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
  apply_config(*config);

  try {
    router_.set(zmq::sockopt::router_mandatory, 1);
    protocol::apply_input_limits(router_);
    router_.bind(options_.control);
    control_endpoint = router_.get(zmq::sockopt::last_endpoint);
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
    sub_.set(zmq::sockopt::subscribe, "res/");
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
        store_->rollback();
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
      {{router_.handle(), 0, ZMQ_POLLIN, 0}, {sub_.handle(), 0, ZMQ_POLLIN, 0}}};
  zmq::poll(items.data(), items.size(), kPollInterval);
  const TimePoint now = options_.clock->now();
  if (items[0].revents & ZMQ_POLLIN) drain_control(now);
  if (items[1].revents & ZMQ_POLLIN) drain_results(now);
  flush();
  run_timers(options_.clock->now());
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
    if (auto it = sessions_.find(name); it != sessions_.end() && it->second.state == kConnected) {
      send_config(it->second, now);
    }
  }
}

void Manager::Loop::drain_control(TimePoint now) {
  zmq::message_t routing;
  zmq::message_t body;
  for (int i = 0; i < kMaxMessagesPerTurn && batch_.size() < kMaxRecordsPerTurn; ++i) {
    if (!router_.recv(routing, zmq::recv_flags::dontwait)) return;
    if (!routing.more()) {  // a ROUTER always prepends the routing id; nothing to answer
      bad_input(control_limiter_, malformed_control_, now, "control message without a body");
      continue;
    }
    (void)router_.recv(body, zmq::recv_flags::none);
    if (body.more()) {
      while (body.more())
        (void)router_.recv(body, zmq::recv_flags::none);
      bad_input(control_limiter_, malformed_control_, now,
                "control message with more than one body frame");
      continue;
    }
    handle_control(routing.to_string(), body.to_string_view(), now);
  }
}

void Manager::Loop::drain_results(TimePoint now) {
  zmq::message_t topic;
  zmq::message_t body;
  for (int i = 0; i < kMaxMessagesPerTurn && batch_.size() < kMaxRecordsPerTurn; ++i) {
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
    Session* session = session_for(record->key, "bus", now);
    if (session == nullptr) continue;
    // A monitor drops only seqs it had. Of one that announces its newest seq,
    // a LOSS beyond it is forged (its ACK would pass every seq up to it) or
    // ahead of the next heartbeat: then it is still in the outbox and comes
    // by replay.
    if (const auto* loss = std::get_if<protocol::LossRange>(&record->body);
        loss != nullptr && session->announces && loss->to_seq > session->announced_seq) {
      bad_input(results_limiter_, rejected_records_, now,
                "bus LOSS beyond the announced seqs monitor=" + session->name +
                    " to_seq=" + std::to_string(loss->to_seq) +
                    " announced=" + std::to_string(session->announced_seq));
      continue;
    }
    batch_.push_back({session->id, std::move(record).value()});
  }
}

Session* Manager::Loop::session_for(const protocol::RecordKey& key, std::string_view via,
                                    TimePoint now) {
  const auto it = sessions_.find(key.monitor);
  if (it == sessions_.end() || it->second.routing_id.empty() || it->second.state == kStopped ||
      it->second.epoch != key.epoch) {
    bad_input(results_limiter_, rejected_records_, now,
              std::string(via) + " record of no live session monitor=" + loggable(key.monitor) +
                  " epoch=" + loggable(key.epoch, 32) + " seq=" + std::to_string(key.seq));
    return nullptr;
  }
  Session& session = it->second;
  const std::uint64_t known = session.announced_seq;
  if (key.seq > known + kSeqWindow) {
    bad_input(results_limiter_, rejected_records_, now,
              std::string(via) + " record beyond the announced seqs monitor=" + session.name +
                  " seq=" + std::to_string(key.seq) + " announced=" + std::to_string(known));
    return nullptr;
  }
  return &session;
}

void Manager::Loop::handle_control(const std::string& routing_id, std::string_view body,
                                   TimePoint now) {
  auto decoded = protocol::decode_control(body);
  if (!decoded) {
    if (protocol::is_other_version_hello(body)) {
      send_to(routing_id,
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
  Session& session = sessions_.at(route->second);
  session.last_received = now;
  if (session.state == kLost) set_state(session, kConnected, "heard from again");
  std::visit(
      [&](auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, protocol::Heartbeat>) {
          handle_heartbeat(session, message, now);
        } else if constexpr (std::is_same_v<T, protocol::ConfigAck>) {
          handle_config_ack(session, message, now);
        } else if constexpr (std::is_same_v<T, protocol::Replay>) {
          handle_replay(session, message, now);
        } else if constexpr (std::is_same_v<T, protocol::Bye>) {
          set_state(session, kStopped, "said BYE");
          routes_.erase(session.routing_id);
          session.closed_at.reset();
        } else {
          bad_input(control_limiter_, malformed_control_, now,
                    std::string("unexpected ") + std::string(protocol::type_name(message)) +
                        " from monitor=" + session.name);
        }
      },
      *decoded);
}

void Manager::Loop::handle_hello(const std::string& routing_id, const protocol::Hello& hello,
                                 TimePoint now) {
  if (!configured_.contains(hello.name)) {
    send_to(routing_id,
            protocol::Reject{"unknown_name", "monitor '" + loggable(hello.name) +
                                                 "' is not in the manager's config file " +
                                                 options_.config_file.string() +
                                                 " (add it under monitors:)"});
    if (peer_limiter_.allow(now)) {
      log_->warn("HELLO refused monitor={} reason=unknown_name", loggable(hello.name));
    }
    return;
  }
  Session& session = sessions_[hello.name];
  // The session is live on another connection. The same instance may be the
  // monitor itself reconnecting (its old connection is then gone: a send to
  // it fails) or someone who knows its instance id: never hand the session
  // over silently. Instance ids are secrets: neither is ever disclosed.
  if (session.state == kConnected && session.routing_id != routing_id &&
      (session.instance != hello.instance || old_connection_alive(session))) {
    const bool same_instance = session.instance == hello.instance;
    send_to(routing_id,
            protocol::Reject{"name_in_use",
                             "monitor name '" + hello.name +
                                 "' is in use by another live connection; stop that monitor or "
                                 "give this one another --name"});
    ++rejected_hellos_;
    if (same_instance && (!session.takeover_event_at ||
                          now - *session.takeover_event_at >= kConditionEventInterval)) {
      session.takeover_event_at = now;
      emit_event({std::chrono::system_clock::now(), session.name, "", std::string(kConnected),
                  std::string(kConnected),
                  "monitor " + session.name +
                      ": a second connection presented its instance id and was refused (the "
                      "session stays with the live one; is its data dir copied elsewhere?)"});
    } else if (peer_limiter_.allow(now)) {
      log_->warn("HELLO refused monitor={} reason=name_in_use same_instance={}", session.name,
                 same_instance);
    }
    return;
  }
  if (!session.routing_id.empty()) routes_.erase(session.routing_id);
  // Only the live epoch's seqs are tracked: a tracker per epoch ever seen
  // would grow without bound.
  if (session.id != 0 && session.epoch != hello.epoch) {
    // A new outbox (a corrupt one set aside, a data dir wiped): whatever the
    // old epoch held beyond what is stored is gone, and no loss record of the
    // old epoch can say so. The manager says it.
    const SeqTracker& old_seqs = tracker(session.id, session.epoch);
    const std::uint64_t old_last = std::max(session.announced_seq, old_seqs.highest());
    if (old_last > old_seqs.contiguous() &&
        (!session.epoch_event_at || now - *session.epoch_event_at >= kConditionEventInterval)) {
      session.epoch_event_at = now;
      emit_event({std::chrono::system_clock::now(), session.name, "", std::string(session.state),
                  std::string(session.state),
                  "monitor " + session.name + ": outbox epoch " + loggable(session.epoch, 32) +
                      " was replaced by " + loggable(hello.epoch, 32) + "; its seqs " +
                      std::to_string(old_seqs.contiguous() + 1) + ".." + std::to_string(old_last) +
                      " that are not stored are lost"});
    }
    trackers_.erase({session.id, session.epoch});
  }
  const std::uint64_t id = store_->register_monitor(hello.name, hello.instance);
  ids_[hello.name] = id;
  session.name = hello.name;
  session.id = id;
  session.instance = hello.instance;
  session.routing_id = routing_id;
  session.epoch = hello.epoch;
  session.last_received = now;
  session.replay_requested.reset();
  session.catch_up_seen.reset();
  session.closed_at.reset();
  session.ack_due = false;
  session.announces = false;
  // The decoder does not bound it; beyond kMaxSeq the window's bound would wrap.
  session.announced_seq = std::min(hello.last_seq, protocol::kMaxSeq);
  routes_[routing_id] = hello.name;
  if (!hello.ended_epoch.empty() && hello.ended_epoch != hello.epoch)
    note_ended_epoch(session, hello);
  const std::uint64_t stored = tracker(id, hello.epoch).contiguous();
  session.acked_seq_sent = stored;
  // A HELLO again on the same connection is welcomed again: as many lines
  // as the session's holder sends HELLOs, unless limited.
  if (connect_limiter_.allow(now)) {
    log_->info("monitor connected monitor={} id={} epoch={} stored_seq={} last_seq={}", hello.name,
               id, loggable(hello.epoch, 32), stored, hello.last_seq);
  }
  if (session.state != kConnected) set_state(session, kConnected, "said HELLO");
  send(session,
       protocol::Welcome{id, stored, static_cast<std::uint32_t>(options_.heartbeat.count()),
                         options_.liveness},
       now);
  const DesiredConfig& desired = desired_[hello.name];
  if (hello.config_version == desired.version) {
    session.acked_config_version = desired.version;
    session.config_unacked = false;
  } else {
    send_config(session, now);
  }
  snapshot_dirty_ = true;
}

// Its log lines are the monitor's doing: rate-limited, escaped and bounded.
void Manager::Loop::handle_config_ack(Session& session, const protocol::ConfigAck& ack,
                                      TimePoint now) {
  const DesiredConfig& desired = desired_[session.name];
  if (ack.version != desired.version) {
    if (config_limiter_.allow(now)) {
      log_->info("stale CONFIG_ACK ignored monitor={} version={} current={}", session.name,
                 ack.version, desired.version);
    }
    return;
  }
  std::string problem;
  if (!ack.error.empty()) problem = " refused: " + ack.error;
  for (const auto& [id, digest] : desired.digests) {
    const auto it = ack.digests.find(id);
    if (it == ack.digests.end()) {
      problem += " missing=" + id;
    } else if (it->second != digest) {
      problem += " mismatch=" + id;
    }
  }
  for (const auto& [id, digest] : ack.digests) {
    if (!desired.digests.contains(id)) problem += " extra=" + id;
    if (problem.size() > 300) break;  // enough to say what is wrong
  }
  if (!problem.empty()) {
    if (config_limiter_.allow(now)) {
      log_->warn("config version {} not confirmed monitor={}: {}; resending", ack.version,
                 session.name, loggable(problem, 300));
    }
    // At least one interval after the CONFIG went out, not after this answer:
    // a slow answer does not delay the correction further.
    session.config_unacked = true;
    session.config_resend_at = session.config_sent_at + options_.heartbeat;
    return;
  }
  session.config_unacked = false;
  session.acked_config_version = ack.version;
  snapshot_dirty_ = true;
  if (config_limiter_.allow(now)) {
    log_->info("config version {} acknowledged monitor={} checks={}", ack.version, session.name,
               desired.checks.size());
  }
}

// A monitor's heartbeat names the newest seq of its outbox: records lost at
// the tail of the bus become a gap even when no newer record follows them.
void Manager::Loop::handle_heartbeat(Session& session, const protocol::Heartbeat& heartbeat,
                                     TimePoint now) {
  if (heartbeat.epoch.empty()) return;  // an older monitor: it announces nothing
  if (heartbeat.epoch != session.epoch) {
    bad_input(control_limiter_, malformed_control_, now,
              "HEARTBEAT for epoch " + loggable(heartbeat.epoch, 32) +
                  ", not the session's, from monitor=" + session.name);
    return;
  }
  if (heartbeat.last_seq > protocol::kMaxSeq) {
    bad_input(control_limiter_, malformed_control_, now,
              "HEARTBEAT last_seq beyond 2^63-1 from monitor=" + session.name);
    return;
  }
  session.announces = true;
  session.announced_seq = std::max(session.announced_seq, heartbeat.last_seq);
  tracker(session.id, session.epoch).announce(heartbeat.last_seq, now);
  if (heartbeat.outbox_error != session.outbox_error) {
    if (heartbeat.outbox_error.empty()) {
      if (peer_limiter_.allow(now)) log_->info("outbox of monitor={} works again", session.name);
    } else if (peer_limiter_.allow(now)) {
      log_->error("outbox of monitor={} failing: {}", session.name,
                  loggable(heartbeat.outbox_error, 200));
    }
    session.outbox_error = loggable(heartbeat.outbox_error, 200);
    snapshot_dirty_ = true;
  }
}

void Manager::Loop::handle_replay(Session& session, protocol::Replay& replay, TimePoint now) {
  session.ack_due = true;
  if (!session.replay_requested) session.catch_up_seen = now;
  // Replayed records come from the monitor's outbox over its own connection:
  // it holds them, as a HEARTBEAT would say (the decoder bounds them by kMaxSeq).
  for (const auto& record : replay.records) {
    if (record.key.monitor == session.name && record.key.epoch == session.epoch) {
      session.announced_seq = std::max(session.announced_seq, record.key.seq);
    }
  }
  for (auto& record : replay.records) {
    if (record.key.monitor != session.name || record.key.epoch != replay.epoch ||
        record.key.epoch != session.epoch) {
      bad_input(control_limiter_, malformed_control_, now,
                "REPLAY record of another monitor or epoch from monitor=" + session.name);
      continue;
    }
    if (session_for(record.key, "REPLAY", now) == nullptr) continue;
    batch_.push_back({session.id, std::move(record)});
  }
}

// One transaction for everything received this turn; ACKs only after COMMIT.
// Trackers learn each record as it is inserted (a LOSS is reconciled with the
// records before it in the same batch); if the transaction fails, the
// trackers it touched are dropped and rebuilt from the store.
void Manager::Loop::flush() {
  if (batch_.empty() && events_to_store_.empty()) return;
  std::uint64_t inserted = 0, duplicates = 0;
  std::set<std::pair<std::uint64_t, std::string>> touched;
  try {
    const std::int64_t stored_us = wall_us();
    store_->begin();
    // Records come in runs of one (monitor, epoch): look its tracker up once per run.
    SeqTracker* run_seqs = nullptr;
    const PendingRecord* run_first = nullptr;
    for (const PendingRecord& pending : batch_) {
      const protocol::RecordKey& key = pending.record.key;
      if (run_first == nullptr || run_first->monitor_id != pending.monitor_id ||
          run_first->record.key.epoch != key.epoch) {
        run_seqs = &tracker(pending.monitor_id, key.epoch);
        run_first = &pending;
        touched.emplace(pending.monitor_id, key.epoch);
      }
      // One bad record is dropped and counted; it never stops the batch or
      // the loop. Only a store failure (SqliteError) aborts the batch.
      try {
        if (store_record(pending, *run_seqs, stored_us)) {
          ++inserted;
        } else {
          ++duplicates;
        }
      } catch (const sqlite::SqliteError&) {
        throw;
      } catch (const std::exception& e) {
        ++record_errors_;
        if (record_limiter_.allow(options_.clock->now())) {
          log_->error("record not stored monitor={} epoch={} seq={}: {}", loggable(key.monitor),
                      loggable(key.epoch, 32), key.seq, loggable(e.what(), 200));
        }
      }
    }
    for (const auto& [monitor_id, epoch, loss_seq] : losses_found_in_) {
      store_->set_lost_ranges(monitor_id, epoch, loss_seq,
                              tracker(monitor_id, epoch).lost_by(loss_seq));
    }
    for (const protocol::Event& event : events_to_store_)
      store_->add_event(event);
    store_->commit();
  } catch (const sqlite::SqliteError& e) {
    // Nothing of this batch is acknowledged: the monitors still hold it and
    // will replay it.
    store_->rollback();
    for (const auto& key : touched)
      trackers_.erase(key);
    if (store_limiter_.allow(options_.clock->now())) {
      log_->error("store write failed, {} records not stored (monitors keep them): {}",
                  batch_.size(), e.what());
    }
    batch_.clear();
    losses_found_in_.clear();
    events_to_store_.clear();
    return;
  }
  stored_ += inserted;
  duplicates_ += duplicates;
  batch_.clear();
  losses_found_in_.clear();
  events_to_store_.clear();
  // Records of an epoch a HELLO replaced in this very turn are stored, but
  // their tracker is not kept: only live epochs are tracked.
  for (const auto& key : touched) {
    const bool live = std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& entry) {
      return entry.second.id == key.first && entry.second.epoch == key.second;
    });
    if (!live) trackers_.erase(key);
  }
  // Readers of monitors() see a stored seq no later than its ACK goes out.
  publish_snapshot();
  const TimePoint now = options_.clock->now();
  for (auto& [name, session] : sessions_) {
    if (session.state != kConnected) continue;
    const std::uint64_t contiguous = tracker(session.id, session.epoch).contiguous();
    if (contiguous > session.acked_seq_sent || session.ack_due) {
      if (send(session, protocol::Ack{session.epoch, contiguous}, now)) {
        session.acked_seq_sent = contiguous;
        session.ack_due = false;
      }
    }
  }
}

// Inserts one record inside the open transaction; false for a duplicate.
bool Manager::Loop::store_record(const PendingRecord& pending, SeqTracker& seqs,
                                 std::int64_t stored_us) {
  const protocol::RecordKey& key = pending.record.key;
  const TimePoint now = options_.clock->now();
  const std::optional<std::uint64_t> lost_by = seqs.loss_covering(key.seq);
  if (seqs.contains(key.seq) && !lost_by) {
    // Already stored: the store tells a replay (same body) from a conflict.
    if (store_->insert(pending.monitor_id, pending.record, stored_us) == InsertOutcome::kConflict) {
      ++conflicts_;
      if (record_limiter_.allow(now)) {
        log_->warn(
            "conflict: monitor={} epoch={} seq={} arrived again with another body; the "
            "first one stays",
            key.monitor, loggable(key.epoch, 32), key.seq);
      }
    }
    return false;
  }
  if (store_->insert(pending.monitor_id, pending.record, stored_us) != InsertOutcome::kInserted) {
    return false;
  }
  if (lost_by) {
    // Reported lost, but it was still on its way (queued on the bus): it is
    // stored, and its loss record no longer claims it. It is a record like
    // any other from here on.
    seqs.found(key.seq);
    losses_found_in_.emplace(pending.monitor_id, key.epoch, *lost_by);
    ++recovered_from_loss_;
  } else {
    seqs.add(key.seq, now);
  }
  if (const auto* loss = std::get_if<protocol::LossRange>(&pending.record.body)) {
    // What the monitor dropped may have reached us before the drop: the loss
    // covers only what is not stored.
    const std::vector<SeqRange> lost = seqs.missing_in(loss->from_seq, loss->to_seq);
    seqs.add_loss(key.seq, lost, now);
    store_->set_lost_ranges(pending.monitor_id, key.epoch, key.seq, lost);
    std::uint64_t lost_count = 0;
    for (const SeqRange& range : lost)
      lost_count += range.to - range.from + 1;
    // Every loss is in the store; the log says so at a bounded rate (a
    // forged one costs nothing to publish).
    if (loss_limiter_.allow(now)) {
      log_->warn(
          "monitor lost records monitor={} epoch={} from_seq={} to_seq={} count={} reason={} "
          "not_stored={}",
          key.monitor, loggable(key.epoch, 32), loss->from_seq, loss->to_seq, loss->count,
          loggable(loss->reason), lost_count);
    }
    return true;
  }
  const auto& result = std::get<CheckResult>(pending.record.body);
  if (auto it = sessions_.find(key.monitor); it != sessions_.end()) {
    note_clock(it->second, result, now);
  }
  if (auto change =
          states_.apply(key.monitor, result.check_id, result.status, key.epoch, key.seq)) {
    std::string text = "check " + key.monitor + "/" + result.check_id + " " +
                       std::string(change->from) + " -> " + std::string(change->to) +
                       " status=" + std::string(to_string(result.status)) +
                       (result.reason.empty() ? "" : " reason=" + loggable(result.reason, 64));
    if (change->to == kStateDown) {
      text += " after " + std::to_string(change->failures) + " consecutive failures";
    }
    emit_event({std::chrono::system_clock::now(), key.monitor, result.check_id,
                std::string(change->from), std::string(change->to), std::move(text)});
  }
  return true;
}

// Result timestamps are the monitor's wall clock: data, never an order. One
// far ahead of ours means the monitor's clock is wrong; that is shown in its
// status and raised as an event (at most once per kConditionEventInterval).
void Manager::Loop::note_clock(Session& session, const CheckResult& result, TimePoint now) {
  const auto ahead = result.timestamp - std::chrono::system_clock::now();
  if (ahead <= kMaxClockAhead) {
    // The condition stays reported for a while: one sane result after a
    // skewed one does not prove the clock is right again.
    if (session.clock_ahead_ms != 0 && now - *session.clock_ahead_at >= kConditionEventInterval) {
      session.clock_ahead_ms = 0;
      snapshot_dirty_ = true;
    }
    return;
  }
  const auto ahead_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ahead).count();
  if (session.clock_ahead_ms != ahead_ms) snapshot_dirty_ = true;
  session.clock_ahead_ms = ahead_ms;
  session.clock_ahead_at = now;
  if (session.clock_event_at && now - *session.clock_event_at < kConditionEventInterval) return;
  session.clock_event_at = now;
  emit_event({std::chrono::system_clock::now(), session.name, "", std::string(session.state),
              std::string(session.state),
              "monitor " + session.name + ": clock skew, a result is dated " +
                  std::to_string(ahead_ms / 1000) + " s ahead of the manager's clock"});
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
    for (auto& [name, session] : sessions_) {
      session.last_received = std::min(session.last_received + stalled, now);
      if (session.closed_at) session.closed_at = std::min(*session.closed_at + stalled, now);
    }
    if (stall_limiter_.allow(now)) {
      log_->warn("manager loop stalled for {} ms; monitors' silence over it is not counted",
                 std::chrono::duration_cast<std::chrono::milliseconds>(stalled).count());
    }
  }
  last_judged_ = real_now;
  // Messages still queued on the ROUTER are read before anyone is judged
  // silent: after a stall they are the proof of life.
  const bool control_pending = (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
  const auto silent_limit = options_.heartbeat * options_.liveness;
  for (auto& [name, session] : sessions_) {
    if (session.state != kConnected) continue;
    if (session.closed_at) {
      // Its HELLO on a new connection may be queued behind the stall.
      if (now - *session.closed_at >= options_.heartbeat && !control_pending) {
        routes_.erase(session.routing_id);
        session.routing_id.clear();
        session.closed_at.reset();
        set_state(session, kLost, "its connection closed");
      }
      continue;
    }
    if (now - session.last_received >= silent_limit && !control_pending) {
      set_state(session, kLost,
                "silent for " + std::to_string(options_.liveness) + " heartbeat intervals");
      continue;
    }
    if (session.config_unacked && now >= session.config_resend_at) {
      ++config_resends_;
      send_config(session, now);
    }
    check_gap(session, now);
    if (now - session.last_sent >= options_.heartbeat) send(session, protocol::Heartbeat{}, now);
  }
}

// A gap that outlives one heartbeat interval is asked for, one request at a
// time, the next one as soon as the previous is filled. Not while the monitor
// is replaying on its own (after WELCOME): that replay is filling the gap.
void Manager::Loop::check_gap(Session& session, TimePoint now) {
  const SeqTracker& seqs = tracker(session.id, session.epoch);
  if (session.replay_requested && seqs.contiguous() >= session.replay_requested->to) {
    session.replay_requested.reset();
  }
  auto gap = seqs.first_gap();
  if (!gap || now - gap->noticed < options_.heartbeat) return;
  // A seq stored beyond what the monitor announced (a forged one, or one the
  // next heartbeat will announce) opens a gap it may not hold yet: asking
  // for that part would repeat every liveness interval for nothing.
  if (session.announces) {
    if (gap->range.from > session.announced_seq) return;
    gap->range.to = std::min(gap->range.to, session.announced_seq);
  }
  if (session.catch_up_seen && now - *session.catch_up_seen < options_.heartbeat) return;
  if (session.replay_requested &&
      now - session.replay_requested_at < options_.heartbeat * options_.liveness) {
    return;
  }
  ++replay_requests_;  // before the send: whoever sees the request sees it counted
  if (send(session, protocol::ReplayReq{session.epoch, gap->range.from, gap->range.to}, now)) {
    session.replay_requested = gap->range;
    session.replay_requested_at = now;
    // Gaps are asked for one after the other, as fast as they are filled.
    if (replay_limiter_.allow(now)) {
      log_->info("REPLAY_REQ sent monitor={} epoch={} from_seq={} to_seq={}", session.name,
                 loggable(session.epoch, 32), gap->range.from, gap->range.to);
    }
  }
}

bool Manager::Loop::send(Session& session, const protocol::ControlMessage& message, TimePoint now) {
  if (session.closed_at) return false;
  const std::string bytes = protocol::encode(message);
  try {
    if (router_.send(zmq::buffer(session.routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      session.last_sent = now;
      return true;
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) {
      // Its connection is gone for good (a reconnect gets a new routing id):
      // no need to wait for liveness, but its queued messages come first.
      session.closed_at = now;
      return false;
    }
    if (send_limiter_.allow(now)) {
      log_->warn("send failed monitor={} type={}: {}", session.name, protocol::type_name(message),
                 e.what());
    }
    return false;
  }
  return false;  // the peer's queue is full; a later turn sends again
}

void Manager::Loop::send_to(const std::string& routing_id,
                            const protocol::ControlMessage& message) {
  const std::string bytes = protocol::encode(message);
  try {
    if (router_.send(zmq::buffer(routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t&) {
    // The peer went away before hearing its answer; nothing to keep.
  }
}

void Manager::Loop::send_config(Session& session, TimePoint now) {
  const DesiredConfig& desired = desired_[session.name];
  session.config_unacked = true;
  session.config_sent_at = now;
  // Unanswered, it goes again after the liveness interval.
  session.config_resend_at = now + options_.heartbeat * options_.liveness;
  if (send(session, protocol::Config{desired.version, desired.checks}, now)) {
    // A monitor that keeps refusing gets the same version again every few
    // heartbeats: logged once a minute (config_resends counts them all).
    if (desired.version != session.config_logged_version || !session.config_logged_at ||
        now - *session.config_logged_at >= kConditionEventInterval) {
      session.config_logged_version = desired.version;
      session.config_logged_at = now;
      log_->info("config version {} sent monitor={} checks={}", desired.version, session.name,
                 desired.checks.size());
    }
  }
}

void Manager::Loop::set_state(Session& session, std::string_view state, const std::string& why) {
  const std::string_view from = session.state;
  session.state = state;
  snapshot_dirty_ = true;
  emit_event({std::chrono::system_clock::now(), session.name, "", std::string(from),
              std::string(state),
              "monitor " + session.name + " " + std::string(from) + " -> " + std::string(state) +
                  " (" + why + ")"});
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
  events_to_store_.push_back(std::move(event));
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

// The monitor set an outbox aside (corrupt) whose newest seq it knew: what
// the store lacks of that epoch is lost, and no loss record of the epoch can
// come from the monitor any more. The manager stores one in its place (seq
// just past the epoch's last), reconciled like any other.
void Manager::Loop::note_ended_epoch(Session& session, const protocol::Hello& hello) {
  const std::uint64_t stored = tracker(session.id, hello.ended_epoch).contiguous();
  if (hello.ended_last_seq <= stored) return;  // nothing lacking, or noted already
  protocol::Record loss;
  loss.key = {session.name, session.id, hello.ended_epoch, hello.ended_last_seq + 1};
  loss.body = protocol::LossRange{stored + 1, hello.ended_last_seq, hello.ended_last_seq - stored,
                                  "outbox_corrupt"};
  batch_.push_back({session.id, std::move(loss)});
}

// A probe of the session's current connection: under ZMQ_ROUTER_MANDATORY a
// send to a connection that is gone fails at once with EHOSTUNREACH.
bool Manager::Loop::old_connection_alive(Session& session) {
  if (session.closed_at || session.routing_id.empty()) return false;
  try {
    const std::string bytes = protocol::encode(protocol::Heartbeat{});
    if (!router_.send(zmq::buffer(session.routing_id),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return true;  // its queue is full: it is there, just slow
    }
    (void)router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    return true;
  } catch (const zmq::error_t& e) {
    return e.num() != EHOSTUNREACH;
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
    status.state = std::string(kNeverSeen);
    if (auto id = ids_.find(name); id != ids_.end()) status.id = id->second;
    if (auto desired = desired_.find(name); desired != desired_.end()) {
      status.config_version = desired->second.version;
    }
    if (auto it = sessions_.find(name); it != sessions_.end()) {
      const Session& session = it->second;
      status.state = std::string(session.state);
      status.acked_config_version = session.acked_config_version;
      status.epoch = session.epoch;
      status.clock_ahead_ms = session.clock_ahead_ms;
      status.outbox_error = session.outbox_error;
      if (auto seqs = trackers_.find({session.id, session.epoch}); seqs != trackers_.end()) {
        status.stored_seq = seqs->second.contiguous();
      }
    }
    monitors.push_back(std::move(status));
  }
  std::vector<CheckStatus> checks;
  for (const auto& entry : states_.snapshot()) {
    checks.push_back({entry.monitor, entry.check, std::string(entry.state)});
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
