#pragma once
// One netmon-probe run: rounds at a fixed rate (t0 + k x interval) on a
// private event loop; every check of a round starts at once through the
// shared CheckRunner; a check still running when the next round starts (its
// timeout may exceed the interval) is an overrun: that round skips it, and it
// is never started twice. Results feed the statistics, the -v
// lines, the periodic table and the raw-data spool for -o.

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <vector>

#include "common/check_result.hpp"
#include "common/expected.hpp"
#include "monitor/checks/check_run_env.hpp"
#include "monitor/checks/check_runner.hpp"
#include "monitor/probe/probe_options.hpp"
#include "monitor/probe/probe_report.hpp"
#include "monitor/probe/probe_statistics.hpp"

namespace netmon::probe {

inline constexpr std::uint64_t kStatisticsEveryRounds = 10;

enum class StopReason { kNone, kCount, kSignal, kStopped };

class ProbeSession {
 public:
  using Observer = std::function<void(const CheckResult& result, std::uint64_t round)>;

  // `out` receives the -v lines and the periodic statistics.
  ProbeSession(ProbeOptions options, std::ostream& out);
  ~ProbeSession();
  ProbeSession(const ProbeSession&) = delete;
  ProbeSession& operator=(const ProbeSession&) = delete;

  // SIGINT and SIGTERM end the run like stop(); a second one after that gets
  // the default action again (it kills the process).
  void stop_on_signals();
  // Called for every result after it is counted (tests, extra sinks).
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // Runs rounds until -c rounds have finished or stop() / a signal. Blocks.
  void run();
  // Ends the run: in-flight checks are cancelled and not counted. Any thread.
  void stop();

  const ProbeOptions& options() const { return options_; }
  const ProbeStatistics& statistics() const { return stats_; }
  std::uint64_t rounds_started() const { return rounds_started_; }
  std::uint64_t rounds_completed() const { return rounds_completed_; }
  std::uint64_t overruns() const { return overruns_; }
  std::uint64_t missed_rounds() const { return missed_rounds_; }
  StopReason stop_reason() const { return stop_reason_; }
  int stop_signal() const { return stop_signal_; }
  std::chrono::system_clock::time_point started_at() const { return started_at_; }
  std::chrono::system_clock::time_point ended_at() const { return ended_at_; }

  // kExitOk when the last result of every check was up, kExitFailure
  // otherwise (also when a check has no result). Per check rather than per
  // round: with overruns, the rounds a slow check skipped say nothing of it.
  int exit_code() const;

  // The final table's title, e.g. "statistics: 3 rounds in 2.0s, ended by SIGINT".
  std::string summary_title() const;
  nlohmann::ordered_json session_json() const;
  nlohmann::ordered_json statistics_json() const;
  // Writes -o (no-op without it).
  Expected<void> write_output();

 private:
  struct Round {
    std::uint64_t started = 0;
    std::uint64_t received = 0;
    bool launching = true;
  };

  void start_round();
  void schedule_next_round();
  void on_result(std::size_t check, std::uint64_t round, const CheckResult& result);
  void complete_round_if_done(std::uint64_t round);
  void request_finish(StopReason reason);
  void shutdown();

  ProbeOptions options_;
  std::ostream& out_;
  asio::io_context io_;
  checks::CheckRunEnv env_;
  std::unique_ptr<checks::CheckRunner> runner_;
  asio::steady_timer round_timer_;
  std::optional<asio::signal_set> signals_;
  ProbeStatistics stats_;
  std::unique_ptr<RawDataSpool> spool_;
  Observer observer_;

  std::vector<bool> running_;
  std::vector<std::optional<bool>> last_up_;  // per check: was its latest result up
  std::map<std::uint64_t, Round> rounds_;
  std::chrono::steady_clock::time_point t0_;
  std::chrono::steady_clock::time_point next_due_;
  std::chrono::steady_clock::time_point ended_steady_;
  std::uint64_t rounds_started_ = 0;
  std::uint64_t rounds_completed_ = 0;
  std::uint64_t overruns_ = 0;
  std::uint64_t missed_rounds_ = 0;
  bool all_launched_ = false;
  bool shut_down_ = false;
  StopReason stop_reason_ = StopReason::kNone;
  int stop_signal_ = 0;
  std::size_t check_width_ = 0;
  std::size_t target_width_ = 0;
  std::chrono::system_clock::time_point started_at_{};
  std::chrono::system_clock::time_point ended_at_{};
};

}  // namespace netmon::probe
