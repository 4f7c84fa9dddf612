#pragma once
// The engine side of netmon-monitor: an asio loop on its own thread running
// the CheckEngine (or, in synthetic mode, the SyntheticGenerator), handing
// every result to the ResultQueue. The agent thread changes the checks by
// posting to the loop; it never touches the engine directly. An exception
// escaping the loop ends the process (std::terminate, a non-zero exit): no
// check would run any more, and a monitor that only heartbeats hides that.

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/agent/result_queue.hpp"

namespace netmon {
class CheckEngine;
}

namespace netmon::agent {

class SyntheticGenerator;

class EngineThread {
 public:
  // synthetic_rate > 0: no checks run, synthetic results are emitted instead.
  EngineThread(ResultQueue& queue, double synthetic_rate);
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;
  ~EngineThread();  // stop()

  void start();
  // Validates and applies the checks on the loop and waits for the verdict;
  // on error nothing changes. In synthetic mode they are only validated.
  // Any thread but the loop's; only between start() and stop().
  Expected<void> set_checks(const std::vector<CheckSpec>& specs);
  // Stops checks in flight and joins; idempotent.
  void stop();

 private:
  ResultQueue& queue_;
  double synthetic_rate_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<CheckEngine> engine_;
  std::unique_ptr<SyntheticGenerator> generator_;
  std::thread thread_;
};

}  // namespace netmon::agent
