#include "monitor/checks/check_runner.hpp"

#include <asio/steady_timer.hpp>

#include "common/duration.hpp"

namespace netmon::checks {

// One run's state, shared by the check run's completion and the deadline timer;
// whichever fires first reports, the other finds `reported` set.
struct CheckRunner::RunState {
  RunState(asio::io_context& io, std::uint64_t run_id, CheckResult stamp, Callback callback)
      : timer(io), id(run_id), result(std::move(stamp)), done(std::move(callback)) {}

  asio::steady_timer timer;
  std::uint64_t id;
  std::shared_ptr<CheckRun> check_run;
  CheckResult result;
  Callback done;
  bool reported = false;
};

namespace {

std::string_view last_phase(const PhaseTimings& timings) {
  if (timings.first_byte) return "first_byte";
  if (timings.tls) return "tls";
  if (timings.connect) return "connect";
  if (timings.resolve) return "resolve";
  return "start";
}

}  // namespace

CheckRunner::~CheckRunner() {
  for (auto& [id, weak] : runs_) {
    if (const auto run = weak.lock()) {
      run->reported = true;
      run->timer.cancel();
      if (run->check_run) run->check_run->cancel();
    }
  }
}

void CheckRunner::report(RunState& run) {
  run.reported = true;
  runs_.erase(run.id);
  run.timer.cancel();
  Callback callback = std::move(run.done);
  callback(std::move(run.result));
}

void CheckRunner::run(const PreparedCheck& check, Callback done) {
  CheckResult stamp;
  stamp.check_id = check.spec.id;
  stamp.type = check.spec.type;
  stamp.target = check.target;
  stamp.timestamp = std::chrono::system_clock::now();
  auto state =
      std::make_shared<RunState>(env_.io(), next_run_id_++, std::move(stamp), std::move(done));
  runs_.emplace(state->id, state);

  const std::chrono::milliseconds timeout = check.spec.timeout;
  state->timer.expires_after(timeout);
  state->timer.async_wait([this, state, timeout](const std::error_code& ec) {
    if (ec || state->reported) return;
    const PhaseTimings timings = state->check_run->timings();
    state->check_run->cancel();
    CheckResult& result = state->result;
    result.status = CheckStatus::kTimeout;
    result.reason = "timeout";
    result.error = "no verdict within " + format_duration(timeout) +
                   " (last phase reached: " + std::string(last_phase(timings)) + ")";
    result.timings = timings;
    result.timings.total = std::chrono::duration_cast<std::chrono::microseconds>(timeout);
    result.latency = result.timings.total;
    report(*state);
  });

  state->check_run = check.check->make_run(env_);
  // The completion holds the state weakly: a check run outliving its deadline must not keep it
  // alive.
  std::weak_ptr<RunState> weak = state;
  state->check_run->start([this, weak](Outcome outcome, const PhaseTimings& timings) {
    const auto run = weak.lock();
    if (!run || run->reported) return;
    CheckResult& result = run->result;
    result.status = outcome.status;
    result.reason = std::move(outcome.reason);
    result.error = std::move(outcome.error);
    result.details = std::move(outcome.details);
    result.timings = timings;
    result.latency = outcome.latency.value_or(timings.total);
    report(*run);
  });
}

}  // namespace netmon::checks
