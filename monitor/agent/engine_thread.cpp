#include "monitor/agent/engine_thread.hpp"

#include <asio/post.hpp>
#include <future>

#include "common/logging.hpp"
#include "monitor/agent/synthetic_generator.hpp"
#include "monitor/checks/check_registry.hpp"
#include "monitor/engine/check_engine.hpp"

namespace netmon::agent {
EngineThread::EngineThread(ResultQueue& queue, double synthetic_rate)
    : queue_(queue), synthetic_rate_(synthetic_rate) {}

EngineThread::~EngineThread() {
  stop();
}

void EngineThread::start() {
  if (thread_.joinable()) return;
  work_.emplace(io_.get_executor());
  if (synthetic_rate_ > 0) {
    generator_ = std::make_unique<SyntheticGenerator>(
        io_, synthetic_rate_, [this](std::vector<CheckResult>& batch) { queue_.push(batch); },
        [this] { return queue_.size(); });
    asio::post(io_, [this] { generator_->start(); });
  } else {
    engine_ = std::make_unique<CheckEngine>(
        io_, component_logger("monitor"),
        [this](CheckResult result) { queue_.push(std::move(result)); });
  }
  thread_ = std::thread([this] { io_.run(); });
}

Expected<void> EngineThread::set_checks(const std::vector<CheckSpec>& specs) {
  if (!thread_.joinable()) return Error{"the engine is not running"};
  std::promise<Expected<void>> verdict;
  auto future = verdict.get_future();
  asio::post(io_, [this, &specs, &verdict] {
    try {
      if (engine_) {
        verdict.set_value(engine_->set_checks(specs));
      } else if (auto prepared = checks::prepare_checks(specs); !prepared) {
        verdict.set_value(prepared.error());
      } else {
        verdict.set_value({});
      }
    } catch (const std::exception& e) {
      verdict.set_value(Error{std::string("cannot apply the checks: ") + e.what()});
    }
  });
  return future.get();
}

void EngineThread::stop() {
  if (!thread_.joinable()) return;
  // Engine and generator are torn down on their own loop, then the loop ends.
  asio::post(io_, [this] {
    if (generator_) {
      generator_->stop();
      if (generator_->skipped() > 0) {
        component_logger("monitor")->warn(
            "synthetic mode: {} results not generated because the agent fell behind by over {}",
            generator_->skipped(), SyntheticGenerator::kMaxBacklog);
      }
    }
    engine_.reset();
    work_.reset();
    io_.stop();
  });
  thread_.join();
  generator_.reset();
}

}  // namespace netmon::agent
