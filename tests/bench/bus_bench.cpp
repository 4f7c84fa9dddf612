// netmon_bus_bench (scripts/bench.sh bus): the bus as real processes on
// loopback. Starts netmon-manager (embedded broker) and N netmon-monitor
// processes in synthetic mode on free 127.0.0.1 ports with temporary data
// dirs, and reads the manager's store (DIR/netmon.db, read-only) to measure:
//
//   throughput  results/s the manager COMMITs from N monitors offering more
//               than it can take: rows whose stored_us (wall clock at COMMIT)
//               falls in the measured window, divided by the window.
//   latency     stored_us - (ts_us + latency_us), i.e. check completion to
//               COMMIT, p50/p99 at 10,000 results/s in total.
//   replay      N monitors fill their outboxes with 1,000,000 results while
//               no manager runs (synthetic, as fast as they can, until their
//               produced logs reach the count), then stop cleanly; a manager
//               starts on an empty store and the monitors restart without
//               --synthetic (their config has no checks, so they produce
//               nothing new): the time from their start to the COMMIT of the
//               last buffered result.
//
// For each figure it prints the CPU each process used in the window (from
// /proc/PID/stat): the honest first answer to "what limited it" on 2 cores.
// Every process is stopped by PID when a phase ends (and killed by the
// kernel if this program dies: PR_SET_PDEATHSIG).

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite_db.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/process_cluster.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef NETMON_MANAGER_BINARY
#error "tests/bench/CMakeLists.txt must define NETMON_MANAGER_BINARY"
#endif
#ifndef NETMON_MONITOR_BINARY
#error "tests/bench/CMakeLists.txt must define NETMON_MONITOR_BINARY"
#endif

namespace netmon::bench {
namespace {

using namespace std::chrono_literals;
using cluster::BusPorts;
using testing::ChildProcess;
using testing::TempDir;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 30s;
constexpr auto kPollEvery = 100ms;

struct Options {
  int monitors = 4;
  // results/s in total for the throughput figure: one run per rate, the best
  // committed rate is the figure (offering far more than the manager takes
  // only gives the monitors' CPU away on 2 cores).
  std::vector<double> offered = {100'000, 150'000, 200'000};
  int warmup_ms = 3000;
  int window_ms = 10'000;
  double latency_rate = 10'000;
  int latency_window_ms = 10'000;
  std::uint64_t replay_count = 1'000'000;
  double fill_rate = 100'000;  // results/s in total while filling the outboxes
  int fill_timeout_s = 90;
  int replay_timeout_s = 90;
  std::string sync = "full";
  std::string phases = "throughput,latency,replay";
  bool keep_dirs = false;
};

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string fixed(double value, int decimals = 0) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::vector<std::pair<std::string, std::chrono::microseconds>> machine_times();

// One process's CPU over a window, in cores (1.0 = one core busy).
struct CpuShare {
  std::string name;
  double cores = 0;
};

// N monitors and, unless told otherwise, a manager, in one temp dir.
class Cluster {
 public:
  explicit Cluster(const Options& options) : options_(options), dir_("netmon-bus-bench-") {
    for (int i = 1; i <= options_.monitors; ++i)
      names_.push_back("bench-" + std::to_string(i));
    cluster::write_manager_config(dir_ / "netmon.yaml", names_);
    if (options_.keep_dirs) {
      dir_.keep();
      std::cout << "bench: logs and stores in " << dir_.path().string() << "\n";
    }
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path store_dir() const { return dir_ / "manager"; }
  std::filesystem::path produced_log(int i) const {
    return dir_ / (names_[static_cast<std::size_t>(i)] + ".produced");
  }

  void start_manager() {
    ++manager_starts_;
    manager_ = std::make_unique<ChildProcess>(
        NETMON_MANAGER_BINARY,
        cluster::manager_args(
            {.config = dir_ / "netmon.yaml", .data_dir = store_dir(), .ports = &ports_}),
        dir_ / ("manager-" + std::to_string(manager_starts_) + ".log"));
    if (!manager_->wait_for_line("ready", kStartTimeout))
      throw std::runtime_error("netmon-manager did not print 'ready':\n" + manager_->log());
  }

  // rate_each 0: no synthetic results. produced: pass --produced-log.
  void start_monitors(double rate_each, bool produced) {
    ++monitor_starts_;
    monitors_.clear();
    for (int i = 0; i < options_.monitors; ++i) {
      const std::string& name = names_[static_cast<std::size_t>(i)];
      monitors_.push_back(std::make_unique<ChildProcess>(
          NETMON_MONITOR_BINARY,
          cluster::monitor_args({.name = name,
                                 .data_dir = dir_ / name,
                                 .ports = &ports_,
                                 .synthetic_rate = rate_each,
                                 .produced_log = produced ? produced_log(i) : "",
                                 .sync = options_.sync}),
          dir_ / (name + "-" + std::to_string(monitor_starts_) + ".log")));
    }
  }

  void stop_monitors() {
    for (auto& monitor : monitors_)
      monitor->signal(SIGTERM);
    for (auto& monitor : monitors_)
      if (!monitor->wait_exit(20s)) monitor->stop(1s);
  }
  void stop_manager() {
    if (manager_) manager_->stop(20s);
  }

  std::vector<std::pair<std::string, std::chrono::microseconds>> cpu_times() const {
    std::vector<std::pair<std::string, std::chrono::microseconds>> times = machine_times();
    if (manager_ && manager_->pid() > 0) times.emplace_back("manager", manager_->cpu_time());
    for (std::size_t i = 0; i < monitors_.size(); ++i)
      times.emplace_back(names_[i], monitors_[i]->cpu_time());
    return times;
  }

  bool all_running() {
    if (manager_ && !manager_->running()) return false;
    for (auto& monitor : monitors_)
      if (!monitor->running()) return false;
    return true;
  }

  std::string failure_logs() {
    std::string text;
    if (manager_) text += "--- manager log (tail)\n" + tail(manager_->log());
    for (std::size_t i = 0; i < monitors_.size(); ++i)
      text += "--- " + names_[i] + " log (tail)\n" + tail(monitors_[i]->log());
    return text;
  }

  const Options& options() const { return options_; }

 private:
  static std::string tail(const std::string& text) {
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  Options options_;
  TempDir dir_;
  BusPorts ports_;
  std::vector<std::string> names_;
  std::unique_ptr<ChildProcess> manager_;
  std::vector<std::unique_ptr<ChildProcess>> monitors_;
  int manager_starts_ = 0;
  int monitor_starts_ = 0;
};

// The whole machine from /proc/stat, summed over its CPUs: "machine" (busy:
// not idle, not waiting for I/O) and "iowait" (idle with I/O outstanding).
std::vector<std::pair<std::string, std::chrono::microseconds>> machine_times() {
  std::ifstream file("/proc/stat");
  std::string label;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  file >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const auto us = [&](long long t) {
    return std::chrono::microseconds{t * 1'000'000 / (ticks > 0 ? ticks : 100)};
  };
  return {{"machine", us(user + nice + system + irq + softirq + steal)}, {"iowait", us(iowait)}};
}

// CPU used per process between two samples, in cores.
std::vector<CpuShare> cpu_between(
    const std::vector<std::pair<std::string, std::chrono::microseconds>>& before,
    const std::vector<std::pair<std::string, std::chrono::microseconds>>& after,
    std::chrono::microseconds window) {
  std::vector<CpuShare> shares;
  for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
    const double used = static_cast<double>((after[i].second - before[i].second).count());
    shares.push_back({before[i].first, used / static_cast<double>(window.count())});
  }
  return shares;
}

double share_of(const std::vector<CpuShare>& shares, const std::string& name) {
  for (const auto& share : shares)
    if (share.name == name) return share.cores;
  return 0;
}

std::string describe(const std::vector<CpuShare>& shares) {
  std::string text;
  double monitors = 0;
  int monitor_count = 0;
  for (const auto& share : shares) {
    if (share.name == "machine" || share.name == "iowait") continue;
    if (share.name == "manager") {
      text += "manager " + fixed(share.cores, 2) + " cores";
    } else {
      monitors += share.cores;
      ++monitor_count;
    }
  }
  if (monitor_count > 0) {
    if (!text.empty()) text += ", ";
    text += std::to_string(monitor_count) + " monitors " + fixed(monitors, 2) + " cores";
  }
  text += ", machine " + fixed(share_of(shares, "machine"), 2) + " of " +
          std::to_string(std::thread::hardware_concurrency()) + " busy, iowait " +
          fixed(share_of(shares, "iowait"), 2);
  return text;
}

// A verdict on what bounded a figure, from CPU alone.
std::string limit_of(const std::vector<CpuShare>& shares, bool offered_more_than_done) {
  const double cores = std::thread::hardware_concurrency();
  const double machine = share_of(shares, "machine");
  if (!offered_more_than_done) {
    return machine >= 0.85 * cores ? "the offered rate, with the cores nearly full"
                                   : "the offered rate (not saturated)";
  }
  const double manager = share_of(shares, "manager");
  double ours = 0;
  for (const auto& share : shares)
    if (share.name != "machine" && share.name != "iowait") ours += share.cores;
  if (machine >= 0.9 * cores) {
    if (machine - ours >= 0.25 * cores)
      return "CPU: all cores busy, " + fixed(machine - ours, 2) +
             " of them other processes (rerun on an idle machine)";
    return manager >= ours / 2 ? "CPU: all cores busy, the manager the largest share"
                               : "CPU: all cores busy, the monitors the largest share";
  }
  if (manager >= 0.8) return "the manager's loop thread (CPU-bound)";
  if (share_of(shares, "iowait") >= 0.3) return "fsync: the disk (iowait)";
  return "not CPU-bound: commit/fsync latency or pacing";
}

// Rows and COMMITs (distinct stored_us: one per batch) in a window.
struct Committed {
  std::uint64_t rows = 0;
  std::uint64_t commits = 0;

  std::string batches(double window_s) const {
    if (commits == 0) return "no commits";
    return fixed(static_cast<double>(commits) / window_s) + " commits/s of ~" +
           fixed(static_cast<double>(rows) / static_cast<double>(commits)) + " rows";
  }
};

Committed committed_between(const std::filesystem::path& store_dir, std::int64_t from_us,
                            std::int64_t to_us) {
  sqlite::Database db(store_dir / "netmon.db", {.read_only = true});
  auto count = db.prepare(
      "SELECT count(*), count(DISTINCT stored_us) FROM records "
      "WHERE stored_us >= ?1 AND stored_us < ?2");
  count.bind(1, from_us).bind(2, to_us);
  if (!count.step()) return {};
  return {static_cast<std::uint64_t>(count.column_int64(0)),
          static_cast<std::uint64_t>(count.column_int64(1))};
}

struct Row {
  std::string figure, target, measured, verdict, cpu, limit;
};
std::vector<Row> rows;

struct Throughput {
  double per_second = 0;
  Row row;
};

Throughput throughput_at(const Options& options, double offered) {
  Cluster cluster(options);
  cluster.start_manager();
  const double each = offered / options.monitors;
  cluster.start_monitors(each, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(options.warmup_ms));
  const auto cpu_before = cluster.cpu_times();
  const auto started = SteadyClock::now();
  const std::int64_t from_us = wall_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(options.window_ms));
  const std::int64_t to_us = wall_us();
  const auto cpu_after = cluster.cpu_times();
  const auto window =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started);
  const bool healthy = cluster.all_running();
  const std::string logs = healthy ? "" : cluster.failure_logs();
  cluster.stop_monitors();
  cluster.stop_manager();
  const Committed done = committed_between(cluster.store_dir(), from_us, to_us);
  const std::uint64_t committed = done.rows;
  const double window_s = static_cast<double>(to_us - from_us) / 1e6;
  const double per_second = static_cast<double>(committed) / window_s;
  const auto shares = cpu_between(cpu_before, cpu_after, window);
  std::cout << "throughput: offered " << fixed(offered) << "/s from " << options.monitors
            << " monitors, committed " << committed << " in " << fixed(window_s, 1)
            << " s = " << fixed(per_second) << "/s (" << done.batches(window_s)
            << "); cpu: " << describe(shares) << "\n";
  if (!healthy) std::cout << "throughput: a process exited early\n" << logs;
  return {
      per_second,
      {"committed results/s (" + std::to_string(options.monitors) + " monitors, offered " +
           fixed(offered) + "/s)",
       ">= 100000", fixed(per_second), per_second >= 100'000 ? "met" : "MISSED", describe(shares),
       limit_of(shares, per_second < offered * 0.95) + "; " + done.batches(window_s)}};
}

void throughput(const Options& options) {
  Throughput best;
  for (const double offered : options.offered) {
    Throughput run = throughput_at(options, offered);
    if (run.per_second >= best.per_second) best = std::move(run);
  }
  rows.push_back(best.row);
}

void latency(const Options& options) {
  Cluster cluster(options);
  cluster.start_manager();
  cluster.start_monitors(options.latency_rate / options.monitors, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(options.warmup_ms));
  const auto cpu_before = cluster.cpu_times();
  const auto started = SteadyClock::now();
  const std::int64_t from_us = wall_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(options.latency_window_ms));
  const std::int64_t to_us = wall_us();
  const auto cpu_after = cluster.cpu_times();
  const auto window =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started);
  cluster.stop_monitors();
  cluster.stop_manager();

  std::vector<std::int64_t> delays;
  {
    sqlite::Database db(cluster.store_dir() / "netmon.db", {.read_only = true});
    auto select = db.prepare(
        "SELECT stored_us - (ts_us + latency_us) FROM records "
        "WHERE stored_us >= ?1 AND stored_us < ?2 AND \"check\" != '_loss'");
    select.bind(1, from_us).bind(2, to_us);
    while (select.step())
      delays.push_back(select.column_int64(0));
  }
  const Committed done = committed_between(cluster.store_dir(), from_us, to_us);
  const double window_s = static_cast<double>(to_us - from_us) / 1e6;
  std::sort(delays.begin(), delays.end());
  auto percentile = [&](double p) {
    if (delays.empty()) return 0.0;
    const auto at = static_cast<std::size_t>(p * static_cast<double>(delays.size() - 1));
    return static_cast<double>(delays[at]) / 1000.0;
  };
  const double rate =
      static_cast<double>(delays.size()) * 1e6 / static_cast<double>(to_us - from_us);
  const auto shares = cpu_between(cpu_before, cpu_after, window);
  std::cout << "latency: " << delays.size() << " results (" << fixed(rate) << "/s) check "
            << "completion -> COMMIT: p50 " << fixed(percentile(0.5), 2) << " ms, p99 "
            << fixed(percentile(0.99), 2) << " ms, max " << fixed(percentile(1.0), 2) << " ms ("
            << done.batches(window_s) << "); cpu: " << describe(shares) << "\n";
  const double p99 = percentile(0.99);
  rows.push_back({"latency p50 at " + fixed(options.latency_rate) + "/s", "-",
                  fixed(percentile(0.5), 2) + " ms", "-", describe(shares), ""});
  rows.push_back({"latency p99 at " + fixed(options.latency_rate) + "/s", "<= 20 ms",
                  fixed(p99, 2) + " ms", !delays.empty() && p99 <= 20 ? "met" : "MISSED",
                  describe(shares),
                  (rate < options.latency_rate * 0.9 ? "the manager fell behind the offered rate; "
                                                     : std::string()) +
                      done.batches(window_s)});
}

void replay(const Options& options) {
  Cluster cluster(options);
  // Phase 1: fill the outboxes with no manager listening on the control port.
  const auto fill_started = SteadyClock::now();
  cluster.start_monitors(options.fill_rate / options.monitors, true);
  std::uint64_t produced = 0;
  const auto fill_end = fill_started + std::chrono::seconds(options.fill_timeout_s);
  while (SteadyClock::now() < fill_end) {
    produced = 0;
    for (int i = 0; i < options.monitors; ++i)
      produced += cluster::count_file_lines(cluster.produced_log(i));
    if (produced >= options.replay_count) break;
    if (!cluster.all_running())
      throw std::runtime_error("a monitor exited:\n" + cluster.failure_logs());
    std::this_thread::sleep_for(kPollEvery);
  }
  cluster.stop_monitors();
  const double fill_s = std::chrono::duration<double>(SteadyClock::now() - fill_started).count();
  // Exact after a clean stop: every committed record has its line.
  produced = 0;
  for (int i = 0; i < options.monitors; ++i)
    produced += cluster::count_file_lines(cluster.produced_log(i));
  std::cout << "replay: " << produced << " results buffered in " << options.monitors
            << " outboxes in " << fixed(fill_s, 1) << " s (" << fixed(produced / fill_s)
            << "/s, no manager)\n";

  // Phase 2: a manager on an empty store, then the monitors (no new results).
  cluster.start_manager();
  const std::int64_t from_us = wall_us();
  const auto started = SteadyClock::now();
  cluster.start_monitors(0, false);
  const auto cpu_before = cluster.cpu_times();
  const auto end = started + std::chrono::seconds(options.replay_timeout_s);
  std::uint64_t stored = 0;
  while (SteadyClock::now() < end) {
    stored = cluster::stored_rows(cluster.store_dir());
    if (stored >= produced) break;
    std::this_thread::sleep_for(kPollEvery);
  }
  const auto cpu_after = cluster.cpu_times();
  const auto window =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started);
  cluster.stop_monitors();
  cluster.stop_manager();

  std::int64_t first_us = 0;
  std::int64_t last_us = 0;
  {
    sqlite::Database db(cluster.store_dir() / "netmon.db", {.read_only = true});
    auto select = db.prepare("SELECT count(*), min(stored_us), max(stored_us) FROM records");
    if (select.step() && select.column_int64(0) > 0) {
      stored = static_cast<std::uint64_t>(select.column_int64(0));
      first_us = select.column_int64(1);
      last_us = select.column_int64(2);
    }
  }
  const double total_s = static_cast<double>(last_us - from_us) / 1e6;
  const double rate = total_s > 0 ? static_cast<double>(stored) / total_s : 0;
  const Committed done = committed_between(cluster.store_dir(), from_us, last_us + 1);
  const auto shares = cpu_between(cpu_before, cpu_after, window);
  std::cout << "replay: " << stored << " of " << produced << " stored; monitors started -> last "
            << "COMMIT " << fixed(total_s, 2) << " s (" << fixed(rate) << "/s); first -> last "
            << "COMMIT " << fixed(static_cast<double>(last_us - first_us) / 1e6, 2) << " s ("
            << done.batches(total_s) << "); cpu: " << describe(shares) << "\n";
  const bool complete = stored == produced;
  rows.push_back({"replay of " + std::to_string(produced) + " buffered", ">= 100000/s",
                  fixed(total_s, 2) + " s = " + fixed(rate) + "/s",
                  complete && rate >= 100'000 ? "met" : (complete ? "MISSED" : "INCOMPLETE"),
                  describe(shares), limit_of(shares, true) + "; " + done.batches(total_s)});
}

void print_table() {
  std::cout << "\n| figure | target | measured | verdict | cpu in the window | what limited it |\n"
            << "| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& row : rows)
    std::cout << "| " << row.figure << " | " << row.target << " | " << row.measured << " | "
              << row.verdict << " | " << row.cpu << " | " << row.limit << " |\n";
}

}  // namespace
}  // namespace netmon::bench

int main(int argc, char** argv) {
  using netmon::bench::Options;
  Options options;
  CLI::App app{"netmon bus benchmark: manager + N synthetic monitors as processes on loopback"};
  app.add_option("--monitors", options.monitors, "monitor processes")->capture_default_str();
  app.add_option("--offered", options.offered,
                 "results/s offered in total (throughput), one run per comma-separated rate")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--warmup-ms", options.warmup_ms)->capture_default_str();
  app.add_option("--window-ms", options.window_ms, "throughput window")->capture_default_str();
  app.add_option("--latency-rate", options.latency_rate, "results/s in total (latency)")
      ->capture_default_str();
  app.add_option("--latency-window-ms", options.latency_window_ms)->capture_default_str();
  app.add_option("--replay-count", options.replay_count, "results to buffer, then replay")
      ->capture_default_str();
  app.add_option("--fill-rate", options.fill_rate, "results/s in total while buffering")
      ->capture_default_str();
  app.add_option("--fill-timeout-s", options.fill_timeout_s)->capture_default_str();
  app.add_option("--replay-timeout-s", options.replay_timeout_s)->capture_default_str();
  app.add_option("--sync", options.sync, "monitors' outbox synchronous mode: full or normal")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  app.add_option("--phases", options.phases, "comma-separated: throughput,latency,replay")
      ->capture_default_str();
  app.add_flag("--keep-dirs", options.keep_dirs, "keep each phase's temp dir (logs, stores)");
  CLI11_PARSE(app, argc, argv);
  if (options.monitors < 1) {
    std::cerr << "--monitors must be at least 1\n";
    return 2;
  }
  try {
    const auto wants = [&](const char* phase) {
      return options.phases.find(phase) != std::string::npos;
    };
    if (wants("throughput")) netmon::bench::throughput(options);
    if (wants("latency")) netmon::bench::latency(options);
    if (wants("replay")) netmon::bench::replay(options);
  } catch (const std::exception& e) {
    std::cerr << "bus bench failed: " << e.what() << "\n";
    netmon::bench::print_table();
    return 1;
  }
  netmon::bench::print_table();
  return 0;
}
