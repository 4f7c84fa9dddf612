#pragma once
// The manager: one loop thread owns the control ROUTER, the results SUB, the
// events PUB and the store (see docs/PROTOCOL.md for the dialog). Other
// threads only read snapshots and queue a reload; they never touch a socket
// or the store.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "common/monotonic_clock.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::manager {

struct ManagerOptions {
  std::filesystem::path config_file;  // --config
  std::filesystem::path data_dir;     // --data-dir (store: DIR/netmon.db)
  std::string control = "tcp://127.0.0.1:5555";
  std::string broker_in = "tcp://127.0.0.1:5556";
  std::string broker_out = "tcp://127.0.0.1:5557";
  // The operator console's endpoint (netmon-ctl); "" serves none. The
  // command line's default is ipc://DATA_DIR/ctl.sock.
  std::string ctl;
  bool embedded_broker = true;  // false: --external-broker
  std::chrono::milliseconds heartbeat{1000};
  std::uint32_t liveness = 3;
  sqlite::Synchronous synchronous = sqlite::Synchronous::kFull;
  std::uint32_t drop_every_nth_result = 0;  // test hook: ignore every Nth record from SUB
  const MonotonicClock* clock = &SteadyClock::instance();
  // How often the status table is printed (on `clock`); 0 turns it off.
  std::chrono::milliseconds status_interval{10'000};
};

using WallTime = std::chrono::system_clock::time_point;

struct MonitorStatus {
  std::string name;
  std::uint64_t id = 0;
  // CONNECTED/LOST/STOPPED/NEVER_SEEN, or RECONNECTING: known from the store
  // and not back yet since the manager started (LOST after kReconnectGrace).
  std::string state;
  std::uint64_t config_version = 0, acked_config_version = 0, stored_seq = 0;
  std::string epoch;
  // A result dated this far (ms) ahead of the manager's clock was seen lately:
  // the monitor's clock is wrong. 0 when not.
  std::int64_t clock_ahead_ms = 0;
  // The monitor's HEARTBEAT says its outbox commits fail (disk full ...): the error. "" when not.
  std::string outbox_error = {};
  std::string peer = {};             // remote address of its connection ("" unknown)
  WallTime since = {};               // state entered (epoch 0: not since this manager started)
  WallTime last_heard = {};          // last control message (epoch 0: never)
  std::size_t checks = 0;            // configured
  std::uint64_t results_stored = 0;  // since the manager started
  // Seqs it announced beyond those stored (its outbox backlog as last
  // reported); empty when it announced none.
  std::optional<std::uint64_t> backlog = {};
};

// A check's newest stored result (by epoch and seq).
struct LatestResult {
  WallTime time;
  std::string status;  // up/down/timeout/error
  std::string reason, error;
  std::optional<double> latency_ms;  // none when the result has no latency
};

struct CheckStatus {
  std::string monitor, check;
  // UNKNOWN/UP/DOWN, or STALE: the monitor is not CONNECTED or the newest
  // result is older than two intervals; last_state keeps what it was.
  std::string state;
  std::string last_state = {};
  CheckSpec spec = {};
  std::optional<LatestResult> last = {};
  WallTime down_since = {};  // epoch 0 unless DOWN
};

// A monitor known from the store is RECONNECTING for this long after the
// manager starts, then LOST.
inline constexpr std::chrono::seconds kReconnectGrace{10};

struct ManagerStats {
  std::uint64_t stored = 0, duplicates = 0, replay_requests = 0, malformed_control = 0,
                malformed_results = 0, unknown_peers = 0, config_resends = 0, events = 0;
  // Records of no live session or beyond the plausible seqs; keys that came
  // again with another body; records that could not be stored; results that
  // arrived after their loss was reported; HELLOs refused (name_in_use).
  std::uint64_t rejected_records = 0, conflicts = 0, record_errors = 0, recovered_from_loss = 0,
                rejected_hellos = 0;
  // Console requests: answered, refused as malformed, replies a gone client missed.
  std::uint64_t ctl_requests = 0, ctl_bad_requests = 0, ctl_dropped_replies = 0;
};

class Manager {
 public:
  // Loads the config (errors carry file:line) and the store, binds the control
  // socket and starts the embedded broker. Throws std::runtime_error.
  Manager(zmq::context_t& context, ManagerOptions options);
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();  // stop()

  void start();  // runs the loop thread; logs `ready`
  void stop();   // idempotent; commits what was received, then returns
  // Re-reads config_file; a bad file changes nothing and returns the error.
  Expected<void> reload_config();

  ManagerStats stats() const;
  std::vector<MonitorStatus> monitors() const;
  std::vector<CheckStatus> checks() const;
  // True from start() until the loop ends (stop(), or a fatal error it logged).
  bool running() const;

  // The endpoints actually bound or connected (tcp port 0 resolved).
  std::string control_endpoint() const;
  std::string broker_in_endpoint() const;
  std::string broker_out_endpoint() const;
  std::string ctl_endpoint() const;  // "" when it serves none

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace netmon::manager
