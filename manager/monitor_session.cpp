#include "manager/monitor_session.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "common/logging.hpp"
#include "common/text.hpp"

namespace netmon::manager {

std::string_view to_string(MonitorState state) {
  switch (state) {
    case MonitorState::kNeverSeen:
      return "NEVER_SEEN";
    case MonitorState::kConnected:
      return "CONNECTED";
    case MonitorState::kLost:
      return "LOST";
    case MonitorState::kStopped:
      return "STOPPED";
  }
  return "NEVER_SEEN";
}

MonitorSession::MonitorSession(std::string name, SessionTiming timing, SessionLog log,
                               SessionHost& host)
    : name_(std::move(name)), timing_(timing), log_(std::move(log)), host_(host) {}

bool MonitorSession::refuses(const std::string& routing_id, const protocol::Hello& hello,
                             TimePoint now) {
  // Instance ids are secrets: neither is ever disclosed.
  if (state_ != MonitorState::kConnected || routing_id_ == routing_id ||
      (instance_ == hello.instance && !old_connection_alive())) {
    return false;
  }
  const bool same_instance = instance_ == hello.instance;
  host_.send_to(routing_id,
                protocol::Reject{"name_in_use",
                                 "monitor name '" + hello.name +
                                     "' is in use by another live connection; stop that monitor or "
                                     "give this one another --name"});
  host_.count(SessionCount::kRejectedHellos);
  if (same_instance &&
      (!takeover_event_at_ || now - *takeover_event_at_ >= kConditionEventInterval)) {
    takeover_event_at_ = now;
    const std::string connected(to_string(MonitorState::kConnected));
    host_.emit({std::chrono::system_clock::now(), name_, "", connected, connected,
                "monitor " + name_ +
                    ": a second connection presented its instance id and was refused (the "
                    "session stays with the live one; is its data dir copied elsewhere?)"});
  } else if (log_.peer.allow(now)) {
    log_.log->warn("HELLO refused monitor={} reason=name_in_use same_instance={}", name_,
                   same_instance);
  }
  return true;
}

void MonitorSession::welcome(const std::string& routing_id, const protocol::Hello& hello,
                             std::uint64_t monitor_id, TimePoint now) {
  // Only the live epoch's seqs are tracked: a tracker per epoch ever seen
  // would grow without bound.
  if (id_ != 0 && epoch_ != hello.epoch) replace_epoch(hello, now);
  id_ = monitor_id;
  instance_ = hello.instance;
  routing_id_ = routing_id;
  epoch_ = hello.epoch;
  last_received_ = now;
  last_heard_ = std::chrono::system_clock::now();
  replay_requested_.reset();
  catch_up_seen_.reset();
  closed_at_.reset();
  ack_due_ = false;
  announces_ = false;
  // The decoder does not bound it; beyond kMaxSeq the window's bound would wrap.
  announced_seq_ = std::min(hello.last_seq, protocol::kMaxSeq);
  if (!hello.ended_epoch.empty() && hello.ended_epoch != hello.epoch) note_ended_epoch(hello);
  const std::uint64_t stored = host_.tracker(id_, hello.epoch).contiguous();
  acked_seq_sent_ = stored;
  // A HELLO again on the same connection is welcomed again: as many lines
  // as the session's holder sends HELLOs, unless limited.
  if (log_.connect.allow(now)) {
    log_.log->info("monitor connected monitor={} id={} epoch={} stored_seq={} last_seq={}",
                   hello.name, id_, loggable(hello.epoch, 32), stored, hello.last_seq);
  }
  if (state_ != MonitorState::kConnected) set_state(MonitorState::kConnected, "said HELLO");
  send(protocol::Welcome{id_, stored, static_cast<std::uint32_t>(timing_.heartbeat.count()),
                         timing_.liveness},
       now);
  const DesiredConfig& desired = host_.desired(name_);
  if (hello.config_version == desired.version) {
    acked_config_version_ = desired.version;
    config_unacked_ = false;
  } else {
    send_config(now);
  }
  changed_ = true;
}

// A new outbox (a corrupt one set aside, a data dir wiped): whatever the old
// epoch held beyond what is stored is gone, and no loss record of the old
// epoch can say so. The manager says it.
void MonitorSession::replace_epoch(const protocol::Hello& hello, TimePoint now) {
  const SeqTracker& old_seqs = host_.tracker(id_, epoch_);
  const std::uint64_t old_last = std::max(announced_seq_, old_seqs.highest());
  if (old_last > old_seqs.contiguous() &&
      (!epoch_event_at_ || now - *epoch_event_at_ >= kConditionEventInterval)) {
    epoch_event_at_ = now;
    const std::string state(to_string(state_));
    host_.emit({std::chrono::system_clock::now(), name_, "", state, state,
                "monitor " + name_ + ": outbox epoch " + loggable(epoch_, 32) +
                    " was replaced by " + loggable(hello.epoch, 32) + "; its seqs " +
                    std::to_string(old_seqs.contiguous() + 1) + ".." + std::to_string(old_last) +
                    " that are not stored are lost"});
  }
  host_.forget_tracker(id_, epoch_);
}

// The monitor set an outbox aside (corrupt) whose newest seq it knew: what
// the store lacks of that epoch is lost, and no loss record of the epoch can
// come from the monitor any more. The manager stores one in its place (seq
// just past the epoch's last), reconciled like any other.
void MonitorSession::note_ended_epoch(const protocol::Hello& hello) {
  const std::uint64_t stored = host_.tracker(id_, hello.ended_epoch).contiguous();
  if (hello.ended_last_seq <= stored) return;  // nothing lacking, or noted already
  protocol::Record loss;
  loss.key = {name_, id_, hello.ended_epoch, hello.ended_last_seq + 1};
  loss.body = protocol::LossRange{stored + 1, hello.ended_last_seq, hello.ended_last_seq - stored,
                                  "outbox_corrupt"};
  host_.store(id_, std::move(loss));
}

void MonitorSession::receive(protocol::ControlMessage& message, TimePoint now) {
  last_received_ = now;
  last_heard_ = std::chrono::system_clock::now();
  if (state_ == MonitorState::kLost) set_state(MonitorState::kConnected, "heard from again");
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, protocol::Heartbeat>) {
          on_heartbeat(body, now);
        } else if constexpr (std::is_same_v<T, protocol::ConfigAck>) {
          on_config_ack(body, now);
        } else if constexpr (std::is_same_v<T, protocol::Replay>) {
          on_replay(body, now);
        } else if constexpr (std::is_same_v<T, protocol::Bye>) {
          set_state(MonitorState::kStopped, "said BYE");
          closed_at_.reset();
        } else {
          host_.malformed(std::string("unexpected ") + std::string(protocol::type_name(body)) +
                              " from monitor=" + name_,
                          now);
        }
      },
      message);
}

// Its log lines are the monitor's doing: rate-limited, escaped and bounded.
void MonitorSession::on_config_ack(const protocol::ConfigAck& ack, TimePoint now) {
  const DesiredConfig& desired = host_.desired(name_);
  if (ack.version != desired.version) {
    if (log_.config.allow(now)) {
      log_.log->info("stale CONFIG_ACK ignored monitor={} version={} current={}", name_,
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
    if (log_.config.allow(now)) {
      log_.log->warn("config version {} not confirmed monitor={}: {}; resending", ack.version,
                     name_, loggable(problem, 300));
    }
    // At least one interval after the CONFIG went out, not after this answer:
    // a slow answer does not delay the correction further.
    config_unacked_ = true;
    config_resend_at_ = config_sent_at_ + timing_.heartbeat;
    return;
  }
  config_unacked_ = false;
  acked_config_version_ = ack.version;
  changed_ = true;
  if (log_.config.allow(now)) {
    log_.log->info("config version {} acknowledged monitor={} checks={}", ack.version, name_,
                   desired.checks.size());
  }
}

// A monitor's heartbeat names the newest seq of its outbox: records lost at
// the tail of the bus become a gap even when no newer record follows them.
void MonitorSession::on_heartbeat(const protocol::Heartbeat& heartbeat, TimePoint now) {
  if (heartbeat.epoch.empty()) return;  // an older monitor: it announces nothing
  if (heartbeat.epoch != epoch_) {
    host_.malformed("HEARTBEAT for epoch " + loggable(heartbeat.epoch, 32) +
                        ", not the session's, from monitor=" + name_,
                    now);
    return;
  }
  if (heartbeat.last_seq > protocol::kMaxSeq) {
    host_.malformed("HEARTBEAT last_seq beyond 2^63-1 from monitor=" + name_, now);
    return;
  }
  announces_ = true;
  announced_seq_ = std::max(announced_seq_, heartbeat.last_seq);
  host_.tracker(id_, epoch_).announce(heartbeat.last_seq, now);
  if (heartbeat.outbox_error != outbox_error_) {
    if (heartbeat.outbox_error.empty()) {
      if (log_.peer.allow(now)) log_.log->info("outbox of monitor={} works again", name_);
    } else if (log_.peer.allow(now)) {
      log_.log->error("outbox of monitor={} failing: {}", name_,
                      loggable(heartbeat.outbox_error, 200));
    }
    outbox_error_ = loggable(heartbeat.outbox_error, 200);
    changed_ = true;
  }
}

void MonitorSession::on_replay(protocol::Replay& replay, TimePoint now) {
  ack_due_ = true;
  if (!replay_requested_) catch_up_seen_ = now;
  // Replayed records come from the monitor's outbox over its own connection:
  // it holds them, as a HEARTBEAT would say (the decoder bounds them by kMaxSeq).
  for (const auto& record : replay.records) {
    if (record.key.monitor == name_ && record.key.epoch == epoch_) {
      announced_seq_ = std::max(announced_seq_, record.key.seq);
    }
  }
  for (auto& record : replay.records) {
    if (record.key.monitor != name_ || record.key.epoch != replay.epoch ||
        record.key.epoch != epoch_) {
      host_.malformed("REPLAY record of another monitor or epoch from monitor=" + name_, now);
      continue;
    }
    if (!accepts(record.key, "REPLAY", now)) continue;
    host_.store(id_, std::move(record));
  }
}

void MonitorSession::config_changed(TimePoint now) {
  if (state_ == MonitorState::kConnected) send_config(now);
}

std::optional<std::string> MonitorSession::tick(TimePoint now, bool control_pending) {
  if (state_ != MonitorState::kConnected) return std::nullopt;
  if (closed_at_) {
    // Its HELLO on a new connection may be queued behind the stall.
    if (now - *closed_at_ < timing_.heartbeat || control_pending) return std::nullopt;
    std::string released = std::exchange(routing_id_, {});
    closed_at_.reset();
    set_state(MonitorState::kLost, "its connection closed");
    return released;
  }
  if (now - last_received_ >= timing_.heartbeat * timing_.liveness && !control_pending) {
    set_state(MonitorState::kLost,
              "silent for " + std::to_string(timing_.liveness) + " heartbeat intervals");
    return std::nullopt;
  }
  if (config_unacked_ && now >= config_resend_at_) {
    host_.count(SessionCount::kConfigResends);
    send_config(now);
  }
  check_gap(now);
  if (now - last_sent_ >= timing_.heartbeat) send(protocol::Heartbeat{}, now);
  return std::nullopt;
}

void MonitorSession::stalled(MonotonicClock::Duration stalled, TimePoint now) {
  last_received_ = std::min(last_received_ + stalled, now);
  if (closed_at_) closed_at_ = std::min(*closed_at_ + stalled, now);
}

// A gap that outlives one heartbeat interval is asked for, one request at a
// time, the next one as soon as the previous is filled. Not while the monitor
// is replaying on its own (after WELCOME): that replay is filling the gap.
void MonitorSession::check_gap(TimePoint now) {
  const SeqTracker& seqs = host_.tracker(id_, epoch_);
  if (replay_requested_ && seqs.contiguous() >= replay_requested_->to) replay_requested_.reset();
  auto gap = seqs.first_gap();
  if (!gap || now - gap->noticed < timing_.heartbeat) return;
  // A seq stored beyond what the monitor announced (a forged one, or one the
  // next heartbeat will announce) opens a gap it may not hold yet: asking
  // for that part would repeat every liveness interval for nothing.
  if (announces_) {
    if (gap->range.from > announced_seq_) return;
    gap->range.to = std::min(gap->range.to, announced_seq_);
  }
  if (catch_up_seen_ && now - *catch_up_seen_ < timing_.heartbeat) return;
  if (replay_requested_ && now - replay_requested_at_ < timing_.heartbeat * timing_.liveness) {
    return;
  }
  host_.count(
      SessionCount::kReplayRequests);  // before the send: whoever sees the request sees it counted
  if (send(protocol::ReplayReq{epoch_, gap->range.from, gap->range.to}, now)) {
    replay_requested_ = gap->range;
    replay_requested_at_ = now;
    // Gaps are asked for one after the other, as fast as they are filled.
    if (log_.replay.allow(now)) {
      log_.log->info("REPLAY_REQ sent monitor={} epoch={} from_seq={} to_seq={}", name_,
                     loggable(epoch_, 32), gap->range.from, gap->range.to);
    }
  }
}

void MonitorSession::acknowledge(TimePoint now) {
  if (state_ != MonitorState::kConnected) return;
  const std::uint64_t contiguous = host_.tracker(id_, epoch_).contiguous();
  if (contiguous > acked_seq_sent_ || ack_due_) {
    if (send(protocol::Ack{epoch_, contiguous}, now)) {
      acked_seq_sent_ = contiguous;
      ack_due_ = false;
    }
  }
}

std::string no_live_session(const protocol::RecordKey& key, std::string_view via) {
  return std::string(via) + " record of no live session monitor=" + loggable(key.monitor) +
         " epoch=" + loggable(key.epoch, 32) + " seq=" + std::to_string(key.seq);
}

bool MonitorSession::accepts(const protocol::RecordKey& key, std::string_view via, TimePoint now) {
  if (routing_id_.empty() || state_ == MonitorState::kStopped || epoch_ != key.epoch) {
    host_.rejected(no_live_session(key, via), now);
    return false;
  }
  if (key.seq > announced_seq_ + kSeqWindow) {
    host_.rejected(std::string(via) + " record beyond the announced seqs monitor=" + name_ +
                       " seq=" + std::to_string(key.seq) +
                       " announced=" + std::to_string(announced_seq_),
                   now);
    return false;
  }
  return true;
}

// A monitor drops only seqs it had. Of one that announces its newest seq, a
// LOSS beyond it is forged (its ACK would pass every seq up to it) or ahead
// of the next heartbeat: then it is still in the outbox and comes by replay.
bool MonitorSession::accepts_from_bus(const protocol::Record& record, TimePoint now) {
  if (!accepts(record.key, "bus", now)) return false;
  if (const auto* loss = std::get_if<protocol::LossRange>(&record.body);
      loss != nullptr && announces_ && loss->to_seq > announced_seq_) {
    host_.rejected("bus LOSS beyond the announced seqs monitor=" + name_ +
                       " to_seq=" + std::to_string(loss->to_seq) +
                       " announced=" + std::to_string(announced_seq_),
                   now);
    return false;
  }
  return true;
}

// Result timestamps are the monitor's wall clock: data, never an order. One
// far ahead of ours means the monitor's clock is wrong; that is shown in its
// status and raised as an event (at most once per kConditionEventInterval).
void MonitorSession::note_clock(const CheckResult& result, TimePoint now) {
  const auto ahead = result.timestamp - std::chrono::system_clock::now();
  if (ahead <= kMaxClockAhead) {
    // The condition stays reported for a while: one sane result after a
    // skewed one does not prove the clock is right again.
    if (clock_ahead_ms_ != 0 && now - *clock_ahead_at_ >= kConditionEventInterval) {
      clock_ahead_ms_ = 0;
      changed_ = true;
    }
    return;
  }
  const auto ahead_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ahead).count();
  if (clock_ahead_ms_ != ahead_ms) changed_ = true;
  clock_ahead_ms_ = ahead_ms;
  clock_ahead_at_ = now;
  if (clock_event_at_ && now - *clock_event_at_ < kConditionEventInterval) return;
  clock_event_at_ = now;
  const std::string state(to_string(state_));
  host_.emit({std::chrono::system_clock::now(), name_, "", state, state,
              "monitor " + name_ + ": clock skew, a result is dated " +
                  std::to_string(ahead_ms / 1000) + " s ahead of the manager's clock"});
}

bool MonitorSession::send(const protocol::ControlMessage& message, TimePoint now) {
  if (closed_at_) return false;
  switch (host_.send(routing_id_, name_, message)) {
    case SendOutcome::kSent:
      last_sent_ = now;
      return true;
    case SendOutcome::kClosed:
      // Its connection is gone for good (a reconnect gets a new routing id):
      // no need to wait for liveness, but its queued messages come first.
      closed_at_ = now;
      return false;
    case SendOutcome::kBusy:
      return false;
  }
  return false;
}

void MonitorSession::send_config(TimePoint now) {
  const DesiredConfig& desired = host_.desired(name_);
  config_unacked_ = true;
  config_sent_at_ = now;
  // Unanswered, it goes again after the liveness interval.
  config_resend_at_ = now + timing_.heartbeat * timing_.liveness;
  if (send(protocol::Config{desired.version, desired.checks}, now)) {
    // A monitor that keeps refusing gets the same version again every few
    // heartbeats: logged once a minute (config_resends counts them all).
    if (desired.version != config_logged_version_ || !config_logged_at_ ||
        now - *config_logged_at_ >= kConditionEventInterval) {
      config_logged_version_ = desired.version;
      config_logged_at_ = now;
      log_.log->info("config version {} sent monitor={} checks={}", desired.version, name_,
                     desired.checks.size());
    }
  }
}

void MonitorSession::set_state(MonitorState state, const std::string& why) {
  const std::string from(to_string(state_));
  const std::string to(to_string(state));
  state_ = state;
  changed_ = true;
  state_since_ = std::chrono::system_clock::now();
  host_.emit({state_since_, name_, "", from, to,
              "monitor " + name_ + " " + from + " -> " + to + " (" + why + ")"});
}

// A probe of the session's current connection: under ZMQ_ROUTER_MANDATORY a
// send to a connection that is gone fails at once.
bool MonitorSession::old_connection_alive() {
  if (closed_at_ || routing_id_.empty()) return false;
  return host_.reachable(routing_id_);
}

}  // namespace netmon::manager
