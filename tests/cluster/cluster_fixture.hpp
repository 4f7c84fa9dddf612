#pragma once
// Real-process clusters on loopback for the process tests and the bus
// benchmark: command lines for netmon-manager, netmon-monitor, netmon-broker
// and netmon-logger on free 127.0.0.1 ports, the manager's config file, and
// the two sides of the exactly-once comparison: each monitor's produced log
// ("<epoch> <seq>" per committed record) and `netmon-manager export`.
//
// Header-only and free of gtest, so the benchmark (tests/bench) uses it too.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite_db.hpp"
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
inline void write_manager_config(const std::filesystem::path& file,
                                 const std::vector<std::string>& names) {
  std::ofstream out(file);
  out << "monitors:\n";
  for (const auto& name : names)
    out << "  " << name << ":\n    checks: []\n";
}

struct ManagerArgs {
  std::filesystem::path config{};
  std::filesystem::path data_dir{};
  const BusPorts* ports = nullptr;
  bool external_broker = false;
  std::string sync{};  // "" (the default, full) or "normal"
  std::string log_level = "info";
};

inline std::vector<std::string> manager_args(const ManagerArgs& a) {
  std::vector<std::string> args{"--config",          a.config.string(),  "--data-dir",
                                a.data_dir.string(), "--control",        a.ports->control,
                                "--broker-in",       a.ports->broker_in, "--broker-out",
                                a.ports->broker_out, "--log-level",      a.log_level};
  if (a.external_broker) args.emplace_back("--external-broker");
  if (!a.sync.empty()) args.insert(args.end(), {"--sync", a.sync});
  return args;
}

struct MonitorArgs {
  std::string name{};
  std::filesystem::path data_dir{};
  const BusPorts* ports = nullptr;
  double synthetic_rate = 0;  // 0: no synthetic results (runs its config's checks)
  std::filesystem::path produced_log{};
  std::string sync{};  // "" (the default, full) or "normal"
  std::string log_level = "info";
};

inline std::vector<std::string> monitor_args(const MonitorArgs& a) {
  std::vector<std::string> args{"--name",      a.name,           "--data-dir", a.data_dir.string(),
                                "--manager",   a.ports->control, "--broker",   a.ports->broker_in,
                                "--log-level", a.log_level};
  if (a.synthetic_rate > 0) {
    std::ostringstream rate;
    rate << a.synthetic_rate;
    args.insert(args.end(), {"--synthetic", rate.str()});
  }
  if (!a.produced_log.empty()) args.insert(args.end(), {"--produced-log", a.produced_log.string()});
  if (!a.sync.empty()) args.insert(args.end(), {"--sync", a.sync});
  return args;
}

// netmon-broker on the cluster's broker endpoints.
inline std::vector<std::string> broker_args(const BusPorts& ports) {
  return {"--in", ports.broker_in, "--out", ports.broker_out};
}

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
inline KeyCounts read_produced_log(const std::filesystem::path& file) {
  KeyCounts keys;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: torn
    std::istringstream fields(line);
    RecordKey key;
    if (fields >> key.epoch >> key.seq) ++keys[key];
  }
  return keys;
}

inline std::uint64_t total(const KeyCounts& keys) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : keys)
    sum += count;
  return sum;
}

// `netmon-manager export --format jsonl` output, keyed by monitor name. Lines
// that are not JSON objects (log lines) are ignored.
inline std::map<std::string, KeyCounts> parse_export(const std::string& jsonl) {
  std::map<std::string, KeyCounts> by_monitor;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    const auto object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.contains("monitor") || !object.contains("epoch") ||
        !object.contains("seq"))
      continue;
    RecordKey key{object["epoch"].get<std::string>(), object["seq"].get<std::uint64_t>()};
    ++by_monitor[object["monitor"].get<std::string>()][key];
  }
  return by_monitor;
}

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

inline Comparison compare(const KeyCounts& produced, const KeyCounts& stored) {
  Comparison c;
  c.produced = total(produced);
  c.stored = total(stored);
  int shown = 0;
  auto note = [&](const char* what, const RecordKey& key, std::uint64_t count) {
    if (shown++ < 5)
      c.examples += std::string(what) + " " + key.epoch + "/" + std::to_string(key.seq) + " x" +
                    std::to_string(count) + "; ";
  };
  for (const auto& [key, count] : produced) {
    const auto at = stored.find(key);
    if (at == stored.end()) {
      ++c.missing;
      note("missing", key, count);
    } else if (at->second != 1 || count != 1) {
      ++c.duplicated;
      note("duplicated", key, at->second);
    }
  }
  for (const auto& [key, count] : stored) {
    if (!produced.contains(key)) {
      ++c.unexpected;
      note("unexpected", key, count);
    }
  }
  return c;
}

// Rows in the manager's store (DIR/netmon.db), read-only; 0 while the file
// or its table does not exist yet. For awaiting "everything stored" cheaply;
// the verdict comes from the export.
inline std::uint64_t stored_rows(const std::filesystem::path& data_dir) {
  const auto file = data_dir / "netmon.db";
  if (!std::filesystem::exists(file)) return 0;
  try {
    sqlite::Database db(file, {.read_only = true});
    auto count = db.prepare("SELECT count(*) FROM records");
    return count.step() ? static_cast<std::uint64_t>(count.column_int64(0)) : 0;
  } catch (const sqlite::SqliteError&) {
    return 0;
  }
}

// Lines in a file (a produced log), counting only complete ones.
inline std::uint64_t count_file_lines(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t lines = 0;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    const std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i)
      lines += buffer[i] == '\n' ? 1 : 0;
  }
  return lines;
}

// The built binaries a cluster runs.
struct Binaries {
  std::filesystem::path manager, monitor, broker, logger;
};

// The binaries tests/CMakeLists.txt builds next to the cluster tests;
// nullopt while one of them is not part of the build yet.
inline std::optional<Binaries> built_binaries() {
#if defined(NETMON_MANAGER_BINARY) && defined(NETMON_MONITOR_BINARY) && \
    defined(NETMON_BROKER_BINARY) && defined(NETMON_LOGGER_BINARY)
  return Binaries{NETMON_MANAGER_BINARY, NETMON_MONITOR_BINARY, NETMON_BROKER_BINARY,
                  NETMON_LOGGER_BINARY};
#else
  return std::nullopt;
#endif
}

// Why a process test fails when built_binaries() is nullopt.
inline constexpr const char* kBinariesNotBuilt =
    "netmon-manager, netmon-monitor, netmon-broker or netmon-logger is not built";

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
inline std::string summary(const std::map<std::string, Comparison>& comparisons) {
  std::string text;
  for (const auto& [name, c] : comparisons)
    text += name + ": produced " + std::to_string(c.produced) + ", stored " +
            std::to_string(c.stored) + "; ";
  return text;
}

// "" when every monitor's produced keys are stored exactly once, nothing else
// is stored, and each monitor produced at least `min_produced`; otherwise
// what is wrong, per monitor.
inline std::string exactly_once_problems(const std::map<std::string, Comparison>& comparisons,
                                         std::uint64_t min_produced) {
  std::string problems;
  for (const auto& [name, c] : comparisons) {
    if (c.exact() && c.produced >= min_produced) continue;
    problems += name + ": produced " + std::to_string(c.produced) + ", stored " +
                std::to_string(c.stored) + ", missing " + std::to_string(c.missing) +
                ", duplicated " + std::to_string(c.duplicated) + ", unexpected " +
                std::to_string(c.unexpected) + (c.examples.empty() ? "" : " (" + c.examples + ")") +
                "\n";
  }
  return problems;
}

// A manager, named monitors, and optionally a standalone broker and a logger,
// as real processes in one temp dir: DIR/manager (the store), DIR/<name> (a
// monitor's data dir), DIR/<name>.produced (its produced log), one log file
// per process start (DIR/<role>-<n>.log). Every start awaits the process's
// ready line and throws std::runtime_error (with its log) if none comes.
class ProcessCluster {
 public:
  // Generous for a busy 2-core machine running ASan builds side by side.
  static constexpr std::chrono::seconds kStartTimeout{45};

  ProcessCluster(Binaries binaries, std::vector<std::string> names, bool external_broker = false)
      : binaries_(std::move(binaries)),
        names_(std::move(names)),
        external_broker_(external_broker),
        dir_("netmon-cluster-"),
        monitors_(names_.size()) {
    write_manager_config(dir_ / "netmon.yaml", names_);
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  const BusPorts& ports() const { return ports_; }
  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t i) const { return names_.at(i); }
  std::filesystem::path manager_dir() const { return dir_ / "manager"; }
  std::filesystem::path produced_log(std::size_t i) const { return dir_ / (name(i) + ".produced"); }

  ChildProcess& manager() { return *manager_; }
  ChildProcess& monitor(std::size_t i) { return *monitors_.at(i); }
  ChildProcess& broker() { return *broker_; }
  ChildProcess& logger() { return *logger_; }

  ChildProcess& start_manager() {
    manager_.reset();
    manager_ = start(binaries_.manager, "manager",
                     manager_args({.config = dir_ / "netmon.yaml",
                                   .data_dir = manager_dir(),
                                   .ports = &ports_,
                                   .external_broker = external_broker_,
                                   .sync = kProcessTestSync}),
                     "ready");
    return *manager_;
  }

  // rate 0: no synthetic results (the config gives it no checks either).
  ChildProcess& start_monitor(std::size_t i, double synthetic_rate) {
    monitors_.at(i).reset();
    monitors_.at(i) = start(binaries_.monitor, name(i),
                            monitor_args({.name = name(i),
                                          .data_dir = dir_ / name(i),
                                          .ports = &ports_,
                                          .synthetic_rate = synthetic_rate,
                                          .produced_log = produced_log(i),
                                          .sync = kProcessTestSync}),
                            "ready");
    return *monitors_.at(i);
  }

  // Every monitor, each emitting `synthetic_rate` results/s.
  void start_monitors(double synthetic_rate) {
    for (std::size_t i = 0; i < size(); ++i)
      start_monitor(i, synthetic_rate);
  }

  // The opening of every process test, once the manager (and broker) run:
  // every monitor at `synthetic_rate`, each connected, 2,000 more results
  // stored. Returns "" or what did not happen within `timeout`.
  std::string start_streaming(double synthetic_rate, std::chrono::milliseconds timeout) {
    start_monitors(synthetic_rate);
    if (std::string problems = await_monitor_line("connected", timeout); !problems.empty())
      return problems;
    return await_stored_progress(2000, timeout) ? "" : "no progress: " + progress();
  }

  // After the manager is back: every monitor connected again (a line after
  // its entry in `marks`) and 1,000 more results stored. Returns "" or what
  // did not happen within `timeout`.
  std::string await_reconnected(const std::vector<std::size_t>& marks,
                                std::chrono::milliseconds timeout) {
    if (std::string problems = await_monitor_line("connected", timeout, marks); !problems.empty())
      return problems;
    return await_stored_progress(1000, timeout) ? "" : "no progress: " + progress();
  }

  // Each monitor's current log position, to await lines printed after it.
  std::vector<std::size_t> monitor_log_marks() {
    std::vector<std::size_t> marks;
    for (std::size_t i = 0; i < size(); ++i)
      marks.push_back(monitor(i).log_mark());
    return marks;
  }

  // Waits for `line` in every monitor's log (after its entry in `marks`, if
  // given). Returns "" or which monitors did not print it within `timeout`.
  std::string await_monitor_line(std::string_view line, std::chrono::milliseconds timeout,
                                 const std::vector<std::size_t>& marks = {}) {
    std::string problems;
    for (std::size_t i = 0; i < size(); ++i) {
      const std::size_t mark = marks.empty() ? 0 : marks.at(i);
      if (monitor(i).wait_for_line(line, timeout, mark)) continue;
      problems += name(i) + " printed no '" + std::string(line) + "' line";
      // One printed before the mark means it happened before the step under test.
      if (auto earlier = monitor(i).wait_for_line(line, std::chrono::milliseconds(0)))
        problems += " (only before the fault: '" + *earlier + "')";
      problems += "; ";
    }
    return problems;
  }

  // A standalone netmon-broker on the cluster's broker endpoints. Retried
  // while it exits at once: a killed broker's ports may take a moment to free.
  ChildProcess& start_broker() {
    broker_.reset();
    const auto end = std::chrono::steady_clock::now() + kStartTimeout;
    while (true) {
      auto process =
          std::make_unique<ChildProcess>(binaries_.broker, broker_args(ports_), next_log("broker"));
      // netmon-broker logs "ready in=... out=..." once bound, like every process.
      if (process->wait_for_line("ready", kStartTimeout)) {
        broker_ = std::move(process);
        return *broker_;
      }
      if (process->running() || std::chrono::steady_clock::now() >= end)
        throw std::runtime_error("netmon-broker did not start:\n" + process->log());
    }
  }

  // netmon-logger --json on the broker's output, writing to `output`.
  ChildProcess& start_logger(const std::filesystem::path& output) {
    logger_.reset();
    logger_ =
        start(binaries_.logger, "logger",
              {"--broker", ports_.broker_out, "--json", "--output", output.string()}, "ready");
    return *logger_;
  }

  // SIGKILL, then reap: the process is gone when this returns.
  static void kill(ChildProcess& process) {
    process.signal(SIGKILL);
    process.wait_exit(std::chrono::seconds(30));
  }

  std::uint64_t produced(std::size_t i) const { return count_file_lines(produced_log(i)); }
  std::uint64_t produced_total() const {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < size(); ++i)
      sum += produced(i);
    return sum;
  }
  std::uint64_t stored() const { return stored_rows(manager_dir()); }

  // Waits until the monitors produced `more` results beyond what they have
  // now and the store holds everything they produced up to then: the whole
  // path, monitor to COMMIT, is flowing. False after `timeout`.
  bool await_stored_progress(std::uint64_t more, std::chrono::milliseconds timeout) {
    const std::uint64_t target = produced_total() + more;
    const auto end = std::chrono::steady_clock::now() + timeout;
    if (!await([&] { return produced_total() >= target; }, timeout)) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    return await([&] { return stored() >= target; }, std::max(left, std::chrono::milliseconds(0)));
  }

  // "stored N of M produced" for failure messages.
  std::string progress() const {
    return "stored " + std::to_string(stored()) + " of " + std::to_string(produced_total()) +
           " produced\n";
  }

  // SIGTERM to every monitor (each must exit 0); then each restarts without
  // --synthetic so its outbox drains into the store, until the store holds
  // as many rows as the produced logs; then they stop again. Returns "" or
  // what went wrong.
  std::string stop_and_drain_monitors(std::chrono::milliseconds timeout) {
    std::string problems = stop_monitors();
    for (std::size_t i = 0; i < size(); ++i)
      start_monitor(i, 0);
    const std::uint64_t expected = produced_total();
    if (!await([&] { return stored() >= expected; }, timeout)) {
      problems += "the store holds " + std::to_string(stored()) + " rows, the produced logs " +
                  std::to_string(expected) + " lines after draining for " +
                  std::to_string(timeout.count()) + " ms; ";
    }
    return problems + stop_monitors();
  }

  // SIGTERM to every running monitor; "" or which did not exit 0.
  std::string stop_monitors() {
    std::string problems;
    for (auto& monitor : monitors_)
      if (monitor) monitor->signal(SIGTERM);
    for (std::size_t i = 0; i < size(); ++i) {
      if (!monitors_[i]) continue;
      const auto status = monitors_[i]->wait_exit(std::chrono::seconds(30));
      if (status != 0) {
        problems += name(i) + " exited with " +
                    (status ? std::to_string(*status) : std::string("no exit in 30 s")) +
                    " on SIGTERM; ";
      }
    }
    return problems;
  }

  // SIGTERM to the logger, the manager and the broker (each must exit 0: a
  // sanitizer report or a crash on the way out is an exit code too).
  std::string stop_services() {
    std::string problems;
    auto stop = [&](const char* role, std::unique_ptr<ChildProcess>& process) {
      if (!process || !process->running()) return;
      const auto status = process->stop(std::chrono::seconds(30));
      if (status != 0) {
        problems += std::string(role) + " exited with " +
                    (status ? std::to_string(*status) : std::string("no exit in 30 s")) +
                    " on SIGTERM; ";
      }
    };
    stop("logger", logger_);
    stop("manager", manager_);
    stop("broker", broker_);
    return problems;
  }

  // `netmon-manager export --data-dir DIR --format jsonl`: its output.
  std::string export_jsonl() {
    const auto log = next_log("export");
    ChildProcess exporter(binaries_.manager,
                          {"export", "--data-dir", manager_dir().string(), "--format", "jsonl"},
                          log);
    const auto status = exporter.wait_exit(std::chrono::seconds(60));
    if (status != 0) throw std::runtime_error("netmon-manager export failed:\n" + exporter.log());
    return exporter.log();
  }

  // Each monitor's produced log against the export, by monitor name; names
  // in the export that are not ours come back as entries with only `stored`.
  std::map<std::string, Comparison> compare_with_export() {
    auto exported = parse_export(export_jsonl());
    std::map<std::string, Comparison> result;
    for (std::size_t i = 0; i < size(); ++i) {
      result[name(i)] = compare(read_produced_log(produced_log(i)), exported[name(i)]);
      exported.erase(name(i));
    }
    for (const auto& [other, keys] : exported)
      result[other] = compare({}, keys);
    return result;
  }

  // The end of every process test: stop_and_drain_monitors, stop_services,
  // then the export against the produced logs (its summary printed), which
  // must hold each produced key exactly once and at least `min_produced` per
  // monitor. Returns "" or everything that went wrong.
  std::string drain_stop_and_compare(std::chrono::milliseconds timeout,
                                     std::uint64_t min_produced) {
    std::string problems = stop_and_drain_monitors(timeout);
    problems += stop_services();
    const auto comparisons = compare_with_export();
    std::cout << summary(comparisons) << "\n";
    return problems + exactly_once_problems(comparisons, min_produced);
  }

  // The last lines of every process's current log, for failure messages.
  std::string logs() {
    std::string text;
    auto add = [&](const std::string& role, std::unique_ptr<ChildProcess>& process) {
      if (!process) return;
      std::string log = process->log();
      if (log.size() > 3000) log = "..." + log.substr(log.size() - 3000);
      text += "--- " + role + " (" + process->log_path().string() + ")\n" + log;
    };
    add("manager", manager_);
    for (std::size_t i = 0; i < size(); ++i)
      add(name(i), monitors_[i]);
    add("broker", broker_);
    add("logger", logger_);
    return text;
  }

 private:
  std::filesystem::path next_log(const std::string& role) {
    return dir_ / (role + "-" + std::to_string(++starts_[role]) + ".log");
  }

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& binary, const std::string& role,
                                      std::vector<std::string> args, std::string_view ready) {
    auto process = std::make_unique<ChildProcess>(binary, std::move(args), next_log(role));
    if (!process->wait_for_line(ready, kStartTimeout)) {
      throw std::runtime_error(binary.filename().string() + " (" + role + ") printed no '" +
                               std::string(ready) + "' line:\n" + process->log());
    }
    return process;
  }

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
