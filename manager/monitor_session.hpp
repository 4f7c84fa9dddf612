#pragma once
// One monitor's session as the manager keeps it (docs/PROTOCOL.md, 7 and 8):
// the rules of HELLO, CONFIG_ACK, HEARTBEAT, REPLAY and BYE, liveness, the
// gap and resend rules, and its state changes. It owns no socket, store or
// clock: it is handed decoded messages and `now`, and what it sends, emits,
// stores or drops goes to its SessionHost (the manager's loop, or a test).
// A send's outcome matters to it (a CONFIG is logged, a REPLAY_REQ counted
// as asked, an ACK as sent, only once it went out; a closed connection
// stops every send), so the host answers each send at once.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "common/log_limiter.hpp"
#include "common/monotonic_clock.hpp"
#include "common/protocol/messages.hpp"
#include "manager/control_channel.hpp"
#include "manager/seq_tracker.hpp"

namespace spdlog {
class logger;
}

namespace netmon::manager {

// NEVER_SEEN until its first HELLO; CONNECTED until it says BYE (STOPPED) or
// falls silent or its connection closes (LOST); a HELLO connects it again,
// and so does any message from a LOST one.
enum class MonitorState { kNeverSeen, kConnected, kLost, kStopped };

// The names on the wire (EVENT from/to), in logs and in the status:
// NEVER_SEEN, CONNECTED, LOST, STOPPED.
std::string_view to_string(MonitorState state);

// How far beyond the newest seq a monitor announced on its own connection
// (HELLO, HEARTBEAT, REPLAY) a bus record's seq may lie: the monitor's output
// between two heartbeats, with room to spare. A seq beyond it is forged or
// broken; storing it would make the real record for that seq a duplicate.
// What the bus delivered never moves the bound: else each forged record at
// its edge would move it 1,000,000 further.
inline constexpr std::uint64_t kSeqWindow = 1'000'000;
// A result dated further than this ahead of the manager's clock means the
// monitor's clock is wrong (a past date may just be a late delivery).
inline constexpr std::chrono::seconds kMaxClockAhead{60};
// A monitor's takeover or clock-skew condition is raised as an event at most
// this often; further occurrences are counted.
inline constexpr std::chrono::seconds kConditionEventInterval{60};

// The check list a monitor should run, as the config file says now.
struct DesiredConfig {
  std::uint64_t version = 0;
  std::vector<CheckSpec> checks;
  std::map<std::string, std::string> digests;  // check id -> digest
};

struct SessionTiming {
  std::chrono::milliseconds heartbeat{1000};
  std::uint32_t liveness = 3;
};

// Counters a session moves.
enum class SessionCount { kConfigResends, kReplayRequests, kRejectedHellos };

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Sends on the connection `routing_id` of `monitor`.
  virtual SendOutcome send(const std::string& routing_id, std::string_view monitor,
                           const protocol::ControlMessage& message) = 0;
  // Answers a connection that gets no session (a REJECT).
  virtual void send_to(const std::string& routing_id, const protocol::ControlMessage& message) = 0;
  // Whether the connection `routing_id` is still there.
  virtual bool reachable(const std::string& routing_id) = 0;
  // Publishes and stores an event (and logs it).
  virtual void emit(protocol::Event event) = 0;
  // Stores a record of the monitor `monitor_id` with this turn's batch.
  virtual void store(std::uint64_t monitor_id, protocol::Record record) = 0;
  // Control input dropped; `text` is logged at a bounded rate and counted.
  virtual void malformed(const std::string& text, MonotonicClock::TimePoint now) = 0;
  // A record dropped before it was stored; likewise.
  virtual void rejected(const std::string& text, MonotonicClock::TimePoint now) = 0;
  virtual void count(SessionCount what) = 0;
  virtual const DesiredConfig& desired(const std::string& monitor) = 0;
  // The seqs stored of (monitor id, epoch).
  virtual SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch) = 0;
  // Only live epochs are tracked.
  virtual void forget_tracker(std::uint64_t monitor_id, const std::string& epoch) = 0;
};

// The log lines of every session, rate-limited together.
struct SessionLog {
  std::shared_ptr<spdlog::logger> log;
  LogLimiter& peer;
  LogLimiter& config;
  LogLimiter& replay;
  LogLimiter& connect;
};

// The line of a record dropped because no live session holds `key`.
std::string no_live_session(const protocol::RecordKey& key, std::string_view via);

class MonitorSession {
 public:
  using TimePoint = MonotonicClock::TimePoint;

  MonitorSession(std::string name, SessionTiming timing, SessionLog log, SessionHost& host);

  // A HELLO on `routing_id` while the session is live on another
  // connection. The same instance may be the monitor itself reconnecting
  // (its old connection is then gone) or someone who knows its instance id:
  // the session is never handed over silently. True when it was refused
  // (REJECT name_in_use sent).
  bool refuses(const std::string& routing_id, const protocol::Hello& hello, TimePoint now);
  // Takes a HELLO it did not refuse: the session is CONNECTED on
  // `routing_id` as `monitor_id`; WELCOME and, if it differs, CONFIG go out.
  void welcome(const std::string& routing_id, const protocol::Hello& hello,
               std::uint64_t monitor_id, TimePoint now);
  // Any other message on its connection.
  void receive(protocol::ControlMessage& message, TimePoint now);
  // The desired config changed: a CONNECTED monitor gets it now.
  void config_changed(TimePoint now);

  // Liveness, CONFIG resends, gaps and heartbeats, run once per loop turn.
  // `control_pending`: messages are still queued for the manager, which may
  // be this monitor's proof of life. When its connection closed and the
  // session is LOST: the routing id it no longer holds.
  [[nodiscard]] std::optional<std::string> tick(TimePoint now, bool control_pending);
  // The loop stalled for `stalled`: silence over it is not counted.
  void stalled(MonotonicClock::Duration stalled, TimePoint now);
  // After a commit: a cumulative ACK of the contiguous stored seqs, when they
  // moved or a REPLAY batch is to be answered.
  void acknowledge(TimePoint now);

  // Whether a record under `key` is one of the session's (its live epoch, a
  // plausible seq); `via` names where it came from in the line of a dropped one.
  bool accepts(const protocol::RecordKey& key, std::string_view via, TimePoint now);
  // The same for a record from the bus, where a LOSS beyond the announced
  // seqs is also dropped.
  bool accepts_from_bus(const protocol::Record& record, TimePoint now);
  // A stored result's timestamp: one far ahead of the manager's clock says
  // the monitor's clock is wrong.
  void note_clock(const CheckResult& result, TimePoint now);

  // True once after anything the status shows changed.
  bool take_changed() { return std::exchange(changed_, false); }

  const std::string& name() const { return name_; }
  std::uint64_t id() const { return id_; }
  MonitorState state() const { return state_; }
  const std::string& routing_id() const { return routing_id_; }
  const std::string& epoch() const { return epoch_; }
  std::uint64_t acked_config_version() const { return acked_config_version_; }
  std::int64_t clock_ahead_ms() const { return clock_ahead_ms_; }
  const std::string& outbox_error() const { return outbox_error_; }
  // For the console: when the state last changed and the monitor was last
  // heard from (wall clock; epoch 0 when never), where it connects from, and
  // the newest seq it announced.
  std::chrono::system_clock::time_point state_since() const { return state_since_; }
  std::chrono::system_clock::time_point last_heard() const { return last_heard_; }
  const std::string& peer() const { return peer_; }
  void set_peer(std::string peer) { peer_ = std::move(peer); }
  std::uint64_t announced_seq() const { return announced_seq_; }

 private:
  void on_heartbeat(const protocol::Heartbeat& heartbeat, TimePoint now);
  void on_config_ack(const protocol::ConfigAck& ack, TimePoint now);
  void on_replay(protocol::Replay& replay, TimePoint now);
  void replace_epoch(const protocol::Hello& hello, TimePoint now);
  void note_ended_epoch(const protocol::Hello& hello);
  void check_gap(TimePoint now);
  bool send(const protocol::ControlMessage& message, TimePoint now);
  void send_config(TimePoint now);
  void set_state(MonitorState state, const std::string& why);
  bool old_connection_alive();

  std::string name_;
  SessionTiming timing_;
  SessionLog log_;
  SessionHost& host_;
  bool changed_ = false;

  std::uint64_t id_ = 0;
  std::string instance_;
  std::string routing_id_;
  MonitorState state_ = MonitorState::kNeverSeen;
  std::string epoch_;
  std::uint64_t acked_config_version_ = 0;
  bool config_unacked_ = false;  // a CONFIG is out and not (correctly) acknowledged
  TimePoint config_sent_at_{};
  TimePoint config_resend_at_{};
  TimePoint last_received_{};
  TimePoint last_sent_{};
  std::uint64_t acked_seq_sent_ = 0;
  bool ack_due_ = false;  // a REPLAY batch arrived: answer with an ACK even if nothing is new
  std::optional<SeqRange> replay_requested_;
  TimePoint replay_requested_at_{};
  // The last REPLAY that was not an answer to our REPLAY_REQ: the monitor
  // catching up on its own after WELCOME.
  std::optional<TimePoint> catch_up_seen_;
  // A send found the connection gone. Messages it sent before closing (a BYE
  // above all) may still be queued on the ROUTER: it is LOST only if nothing
  // from it arrives within one heartbeat interval.
  std::optional<TimePoint> closed_at_;
  // The newest seq the monitor announced (HELLO, HEARTBEAT, the records of a
  // REPLAY), at most kMaxSeq: bounds the seqs accepted from the bus (kSeqWindow).
  std::uint64_t announced_seq_ = 0;
  // Newest result timestamp ahead of the manager's clock by more than
  // kMaxClockAhead, in ms (0: none seen); and when it was last raised.
  std::int64_t clock_ahead_ms_ = 0;
  std::optional<TimePoint> clock_ahead_at_;  // when a skewed result was last seen
  std::optional<TimePoint> clock_event_at_;
  std::string outbox_error_;  // from its last HEARTBEAT: its outbox commits fail
  std::chrono::system_clock::time_point state_since_{};
  std::chrono::system_clock::time_point last_heard_{};
  std::string peer_;
  // Its HEARTBEATs name its newest seq (older monitors' do not): it is asked
  // only for seqs it announced.
  bool announces_ = false;
  std::optional<TimePoint> takeover_event_at_;
  std::optional<TimePoint> epoch_event_at_;  // an epoch ended with seqs never stored
  std::uint64_t config_logged_version_ = 0;  // the last CONFIG logged as sent, and when
  std::optional<TimePoint> config_logged_at_;
};

}  // namespace netmon::manager
