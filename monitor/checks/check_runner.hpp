#pragma once
// Runs one execution of a prepared check: starts a CheckRun, enforces the
// timeout on the loop, and stamps the result with id, type, target, wall-clock
// time and phase timings. Shared by the engine's scheduler and netmon-probe.

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/check_result.hpp"
#include "monitor/checks/check_registry.hpp"
#include "monitor/checks/check_run_env.hpp"

namespace netmon::checks {

class CheckRunner {
 public:
  using Callback = std::function<void(CheckResult)>;

  explicit CheckRunner(CheckRunEnv& env) : env_(env) {}
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;
  // Cancels every run still in flight; their callbacks are not called.
  ~CheckRunner();

  // Starts one run on the loop thread. `done` is called exactly once, on the
  // loop thread, possibly before run() returns (a run can fail at once).
  void run(const PreparedCheck& check, Callback done);

  std::size_t in_flight() const { return runs_.size(); }

 private:
  struct RunState;
  void report(RunState& run);

  CheckRunEnv& env_;
  std::uint64_t next_run_id_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<RunState>> runs_;
};

}  // namespace netmon::checks
