#pragma once
// The monitor agent (netmon-monitor): runs the checks on an engine thread and,
// on its own thread, owns the control DEALER (to the manager), the results PUB
// (to the broker's XSUB) and the durable outbox. Every record is committed to
// the outbox before it is published; the manager's cumulative ACK trims it;
// WELCOME and REPLAY_REQ replay what the manager lacks (docs/PROTOCOL.md).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "common/monotonic_clock.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::agent {

struct MonitorOptions {
  std::string name;                // --name
  std::filesystem::path data_dir;  // --data-dir
  std::string manager = "tcp://127.0.0.1:5555";
  std::string broker = "tcp://127.0.0.1:5556";
  std::uint64_t outbox_max_records = 1'000'000;
  std::chrono::seconds outbox_max_age = std::chrono::hours(24 * 7);
  sqlite::Synchronous synchronous = sqlite::Synchronous::kFull;
  // Reconnect delays (ReconnectBackoff): `reconnect_quick` for the first
  // `reconnect_quick_phase` of an absence, then reconnect_min doubling up to
  // reconnect_max.
  std::chrono::milliseconds reconnect_quick{200}, reconnect_quick_phase{10'000};
  std::chrono::milliseconds reconnect_min{1000}, reconnect_max{5000};
  double synthetic_rate = 0;           // >0: emit this many synthetic results/s, no checks
  std::filesystem::path produced_log;  // non-empty: append "<epoch> <seq>\n" per committed record
  // Results held in memory while outbox commits fail (disk full); beyond it
  // the oldest are shed, and a loss record covers them once the outbox works.
  std::size_t max_pending_results = 50'000;
  std::uint32_t drop_every_nth_publish = 0;  // test hook: skip publishing every Nth record
  const MonotonicClock* clock = &SteadyClock::instance();
};

struct MonitorStats {
  std::uint64_t produced = 0;        // records committed to the outbox (results and loss records)
  std::uint64_t published = 0;       // records sent on the PUB socket
  std::uint64_t acked_seq = 0;       // highest seq the manager acknowledged (this epoch)
  std::uint64_t replayed = 0;        // records sent in REPLAY batches
  std::uint64_t outbox_records = 0;  // records held in the outbox now
  std::uint64_t dropped_by_cap = 0;  // records the outbox cap removed (each covered by a LOSS)
  std::uint64_t damaged_rows = 0;  // outbox rows damaged on disk, deleted (each covered by a LOSS)
  std::uint64_t malformed = 0;     // control messages dropped: undecodable or unexpected
  std::uint64_t reconnects = 0;    // control channel re-opened after a loss or a REJECT
  std::uint64_t turns = 0;         // agent loop wakeups
  std::uint64_t commit_attempts = 0;  // outbox transactions tried (results and loss records)
  std::uint64_t commit_failures = 0;  // of them, failed (disk full, I/O error)
  std::uint64_t commit_failures_in_a_row = 0;  // since the last that worked
  std::uint64_t pending_results = 0;           // results taken from the engine, not yet committed
  // Results dropped uncommitted (beyond max_pending_results while the outbox
  // failed, or held at a stop it refused): each is covered by a loss record,
  // except lost_unrecorded of them (a stop where not even that could be written).
  std::uint64_t shed_results = 0;
  std::uint64_t lost_unrecorded = 0;
  std::string outbox_error;  // why outbox commits fail now; empty while they work
  bool connected = false;    // WELCOME received on the current connection
  std::uint64_t monitor_id = 0;
  std::uint64_t config_version = 0;
  std::string epoch;
  std::uint64_t last_seq = 0;
};

class MonitorAgent {  // owns an engine thread and an agent thread
 public:
  // Validates the options and opens the data dir (identity, config, outbox);
  // throws std::runtime_error naming the flag and the fix on error.
  MonitorAgent(zmq::context_t& context, MonitorOptions options);
  MonitorAgent(const MonitorAgent&) = delete;
  MonitorAgent& operator=(const MonitorAgent&) = delete;
  ~MonitorAgent();  // stop()

  // Starts the checks of the last stored config and the agent thread, which
  // connects to the manager and the broker.
  void start();
  // Sends BYE if connected, joins threads; idempotent.
  void stop();
  MonitorStats stats() const;  // thread-safe snapshot
  // Why the agent thread stopped on its own (an outbox read that fails, a
  // dead engine thread): the process must then exit non-zero, since nothing
  // works any more. nullopt while it runs or after a clean stop. Thread-safe.
  std::optional<std::string> failure() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace netmon::agent
