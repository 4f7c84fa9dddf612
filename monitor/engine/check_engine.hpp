#pragma once
// Runs every scheduled check on one event loop. Knows nothing of ZeroMQ: it
// hands each result to a sink, which is the agent's outbox in netmon-monitor
// and the statistics table in netmon-probe.

#include <spdlog/logger.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/check_run_env.hpp"
#include "monitor/checks/check_runner.hpp"
#include "monitor/engine/check_scheduler.hpp"
#include "monitor/engine/lateness_histogram.hpp"

namespace netmon {

struct EngineStats {
  std::uint64_t runs_started = 0;
  std::uint64_t results = 0;
  // A tick that found its check still running: counted, not stacked.
  std::uint64_t overruns = 0;
  LatenessHistogram lateness;
};

class CheckEngine {
 public:
  using ResultSink = std::function<void(CheckResult)>;

  // Runs started per loop turn before the loop handles I/O again.
  static constexpr std::size_t kMaxStartsPerTurn = 64;

  CheckEngine(asio::io_context& io, std::shared_ptr<spdlog::logger> log, ResultSink sink);
  CheckEngine(const CheckEngine&) = delete;
  CheckEngine& operator=(const CheckEngine&) = delete;
  ~CheckEngine();

  // Validates every spec, then replaces the schedule; on any error nothing
  // changes. Checks whose spec is unchanged keep their phase and in-flight run.
  // Loop thread only.
  Expected<void> set_checks(const std::vector<CheckSpec>& specs);

  std::size_t check_count() const { return scheduler_.size(); }
  const EngineStats& stats() const { return stats_; }
  std::uint64_t missed_ticks() const { return scheduler_.missed_ticks(); }
  checks::CheckRunEnv& env() { return env_; }

 private:
  struct Slot {
    checks::PreparedCheck check;
    std::uint64_t generation = 0;
    bool running = false;
    bool active = false;
  };

  void arm_timer();
  void on_tick();
  void fire(std::size_t slot, CheckScheduler::TimePoint due, CheckScheduler::TimePoint now);

  asio::io_context& io_;
  checks::CheckRunEnv env_;
  checks::CheckRunner runner_;
  ResultSink sink_;
  CheckScheduler scheduler_;
  asio::steady_timer timer_;
  std::optional<CheckScheduler::TimePoint> armed_for_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_slots_;
  std::unordered_map<std::string, std::size_t> slot_by_id_;
  std::uint64_t next_generation_ = 1;
  EngineStats stats_;
  // Outstanding run callbacks check this before touching the engine.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace netmon
