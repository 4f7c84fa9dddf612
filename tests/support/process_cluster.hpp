#pragma once
// Real-process clusters on loopback for the process tests and the bus
// benchmark: command lines for netmon-manager, netmon-monitor, netmon-broker
// and netmon-logger on free 127.0.0.1 ports, the manager's config file, and
// the two sides of the exactly-once comparison: each monitor's produced log
// ("<epoch> <seq>" per committed record) and `netmon-manager export`.
//
// Free of gtest, so the benchmark (tests/bench) uses it too.

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/await.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::cluster {

using testing::await;
using testing::ChildProcess;
using testing::free_tcp_port;
using testing::loopback_endpoint;

// The three bus endpoints of one cluster, each on its own free port.
struct BusPorts {
  std::string control = loopback_endpoint(free_tcp_port());
  std::string broker_in = loopback_endpoint(free_tcp_port());
  std::string broker_out = loopback_endpoint(free_tcp_port());
};

// A manager config that knows `names`, each with no checks: synthetic
// monitors need none, and a monitor restarted without --synthetic to drain
// its outbox then produces nothing new.
void write_manager_config(const std::filesystem::path& file, const std::vector<std::string>& names);

struct ManagerArgs {
  std::filesystem::path config{};
  std::filesystem::path data_dir{};
  const BusPorts* ports = nullptr;
  bool external_broker = false;
  std::string sync{};  // "" (the default, full) or "normal"
  std::string log_level = "info";
};

std::vector<std::string> manager_args(const ManagerArgs& a);

struct MonitorArgs {
  std::string name{};
  std::filesystem::path data_dir{};
  const BusPorts* ports = nullptr;
  double synthetic_rate = 0;  // 0: no synthetic results (runs its config's checks)
  std::filesystem::path produced_log{};
  std::string sync{};  // "" (the default, full) or "normal"
  std::string log_level = "info";
};

std::vector<std::string> monitor_args(const MonitorArgs& a);

// netmon-broker on the cluster's broker endpoints.
std::vector<std::string> broker_args(const BusPorts& ports);

// (epoch, seq): a record's key within one monitor.
struct RecordKey {
  std::string epoch;
  std::uint64_t seq = 0;
  auto operator<=>(const RecordKey&) const = default;
};

// How many times each key occurs.
using KeyCounts = std::map<RecordKey, std::uint64_t>;

// A produced log: one "<epoch> <seq>" line per record the monitor committed
// to its outbox. A torn last line (the process was killed mid-write) is
// skipped; its record then shows up as stored but never produced.
KeyCounts read_produced_log(const std::filesystem::path& file);

std::uint64_t total(const KeyCounts& keys);

// `netmon-manager export --format jsonl` output, keyed by monitor name. Lines
// that are not JSON objects (log lines) are ignored.
std::map<std::string, KeyCounts> parse_export(const std::string& jsonl);

// What a comparison of produced and stored keys found.
struct Comparison {
  std::uint64_t produced = 0;    // keys in the produced log (with repeats)
  std::uint64_t stored = 0;      // rows in the export for this monitor
  std::uint64_t missing = 0;     // produced, not stored
  std::uint64_t duplicated = 0;  // stored (or produced) more than once
  std::uint64_t unexpected = 0;  // stored, never produced
  std::string examples;          // a few offending keys, for the failure message

  bool exact() const {
    return missing == 0 && duplicated == 0 && unexpected == 0 && produced == stored;
  }
};

Comparison compare(const KeyCounts& produced, const KeyCounts& stored);

// Rows in the manager's store (DIR/netmon.db), read-only; 0 while the file
// or its table does not exist yet. For awaiting "everything stored" cheaply;
// the verdict comes from the export.
std::uint64_t stored_rows(const std::filesystem::path& data_dir);

// Lines in a file (a produced log), counting only complete ones.
std::uint64_t count_file_lines(const std::filesystem::path& file);

// The built binaries a cluster runs.
struct Binaries {
  std::filesystem::path manager, monitor, broker, logger;
};

// What the process tests run at: two monitors at about 1,000 results/s in
// total; timeouts generous for a busy 2-core machine running ASan builds.
inline constexpr double kProcessTestRate = 500;
// What these tests kill, stop and restart are processes: a WAL commit at
// synchronous=normal survives all of that (only a power loss can undo it,
// and no test makes one). At full, each cluster asks the disk for about
// 2,000 fsyncs a second; several clusters in parallel on a slow CI disk
// stretched a manager's checkpoint past the monitors' 3 s liveness limit,
// so they lost it before the fault under test even began.
inline constexpr const char* kProcessTestSync = "normal";
inline constexpr std::chrono::seconds kProcessTestTimeout{60};

// "edge-1: produced N, stored N; ..." for the test's output.
std::string summary(const std::map<std::string, Comparison>& comparisons);

// "" when every monitor's produced keys are stored exactly once, nothing else
// is stored, and each monitor produced at least `min_produced`; otherwise
// what is wrong, per monitor.
std::string exactly_once_problems(const std::map<std::string, Comparison>& comparisons,
                                  std::uint64_t min_produced);

// A manager, named monitors, and optionally a standalone broker and a logger,
// as real processes in one temp dir: DIR/manager (the store), DIR/<name> (a
// monitor's data dir), DIR/<name>.produced (its produced log), one log file
// per process start (DIR/<role>-<n>.log). Every start awaits the process's
// ready line and throws std::runtime_error (with its log) if none comes.
class ProcessCluster {
 public:
  // Generous for a busy 2-core machine running ASan builds side by side.
  static constexpr std::chrono::seconds kStartTimeout{45};

  ProcessCluster(Binaries binaries, std::vector<std::string> names, bool external_broker = false);

  const std::filesystem::path& dir() const { return dir_.path(); }
  const BusPorts& ports() const { return ports_; }
  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t i) const { return names_.at(i); }
  std::filesystem::path manager_dir() const { return dir_ / "manager"; }
  // The manager's --config (written by the constructor; a test may rewrite
  // it before start_manager, and the console rewrites it on every change).
  std::filesystem::path config_file() const { return dir_ / "netmon.yaml"; }
  std::filesystem::path produced_log(std::size_t i) const { return dir_ / (name(i) + ".produced"); }

  ChildProcess& manager() { return *manager_; }
  ChildProcess& monitor(std::size_t i) { return *monitors_.at(i); }
  ChildProcess& broker() { return *broker_; }
  ChildProcess& logger() { return *logger_; }

  ChildProcess& start_manager();

  // rate 0: no synthetic results (the config gives it no checks either).
  ChildProcess& start_monitor(std::size_t i, double synthetic_rate);

  // Every monitor, each emitting `synthetic_rate` results/s.
  void start_monitors(double synthetic_rate);

  // The opening of every process test, once the manager (and broker) run:
  // every monitor at `synthetic_rate`, each connected, 2,000 more results
  // stored. Returns "" or what did not happen within `timeout`.
  std::string start_streaming(double synthetic_rate, std::chrono::milliseconds timeout);

  // After the manager is back: every monitor connected again (a line after
  // its entry in `marks`) and 1,000 more results stored. Returns "" or what
  // did not happen within `timeout`.
  std::string await_reconnected(const std::vector<std::size_t>& marks,
                                std::chrono::milliseconds timeout);

  // Each monitor's current log position, to await lines printed after it.
  std::vector<std::size_t> monitor_log_marks();

  // Waits for `line` in every monitor's log (after its entry in `marks`, if
  // given). Returns "" or which monitors did not print it within `timeout`.
  std::string await_monitor_line(std::string_view line, std::chrono::milliseconds timeout,
                                 const std::vector<std::size_t>& marks = {});

  // A standalone netmon-broker on the cluster's broker endpoints. Retried
  // while it exits at once: a killed broker's ports may take a moment to free.
  ChildProcess& start_broker();

  // netmon-logger --json on the broker's output, writing to `output`.
  ChildProcess& start_logger(const std::filesystem::path& output);

  // SIGKILL, then reap: the process is gone when this returns.
  static void kill(ChildProcess& process);

  std::uint64_t produced(std::size_t i) const { return count_file_lines(produced_log(i)); }
  std::uint64_t produced_total() const;
  std::uint64_t stored() const { return stored_rows(manager_dir()); }

  // Waits until the monitors produced `more` results beyond what they have
  // now and the store holds everything they produced up to then: the whole
  // path, monitor to COMMIT, is flowing. False after `timeout`.
  bool await_stored_progress(std::uint64_t more, std::chrono::milliseconds timeout);

  // "stored N of M produced" for failure messages.
  std::string progress() const;

  // SIGTERM to every monitor (each must exit 0); then each restarts without
  // --synthetic so its outbox drains into the store, until the store holds
  // as many rows as the produced logs; then they stop again. Returns "" or
  // what went wrong.
  std::string stop_and_drain_monitors(std::chrono::milliseconds timeout);

  // SIGTERM to every running monitor; "" or which did not exit 0.
  std::string stop_monitors();

  // SIGTERM to the logger, the manager and the broker (each must exit 0: a
  // sanitizer report or a crash on the way out is an exit code too).
  std::string stop_services();

  // `netmon-manager export --data-dir DIR --format jsonl`: its output.
  std::string export_jsonl();

  // Each monitor's produced log against the export, by monitor name; names
  // in the export that are not ours come back as entries with only `stored`.
  std::map<std::string, Comparison> compare_with_export();

  // The end of every process test: stop_and_drain_monitors, stop_services,
  // then the export against the produced logs (its summary printed), which
  // must hold each produced key exactly once and at least `min_produced` per
  // monitor. Returns "" or everything that went wrong.
  std::string drain_stop_and_compare(std::chrono::milliseconds timeout, std::uint64_t min_produced);

  // The last lines of every process's current log, for failure messages.
  std::string logs();

 private:
  std::filesystem::path next_log(const std::string& role);

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& binary, const std::string& role,
                                      std::vector<std::string> args, std::string_view ready);

  Binaries binaries_;
  std::vector<std::string> names_;
  bool external_broker_;
  testing::TempDir dir_;
  BusPorts ports_;
  std::map<std::string, int> starts_;
  std::unique_ptr<ChildProcess> manager_;
  std::vector<std::unique_ptr<ChildProcess>> monitors_;
  std::unique_ptr<ChildProcess> broker_;
  std::unique_ptr<ChildProcess> logger_;
};

}  // namespace netmon::cluster
