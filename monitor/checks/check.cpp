#include "monitor/checks/check.hpp"

namespace netmon::checks {

Outcome up(nlohmann::json details) {
  Outcome outcome;
  outcome.details = std::move(details);
  return outcome;
}

Outcome down(std::string reason, std::string error, nlohmann::json details) {
  Outcome outcome;
  outcome.status = CheckStatus::kDown;
  outcome.reason = std::move(reason);
  outcome.error = std::move(error);
  outcome.details = std::move(details);
  return outcome;
}

Outcome failure(std::string reason, std::string error) {
  Outcome outcome;
  outcome.status = CheckStatus::kError;
  outcome.reason = std::move(reason);
  outcome.error = std::move(error);
  return outcome;
}

void CheckRun::start(Completion done) {
  completion_ = std::move(done);
  started_ = std::chrono::steady_clock::now();
  on_start();
}

void CheckRun::cancel() {
  if (done_) return;
  done_ = true;
  completion_ = nullptr;
  on_cancel();
}

std::chrono::microseconds CheckRun::elapsed() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               started_);
}

void CheckRun::mark(Phase phase) {
  mark(phase, elapsed());
}

void CheckRun::mark(Phase phase, std::chrono::microseconds at) {
  std::optional<std::chrono::microseconds>* slot = nullptr;
  switch (phase) {
    case Phase::kResolve:
      slot = &timings_.resolve;
      break;
    case Phase::kConnect:
      slot = &timings_.connect;
      break;
    case Phase::kTls:
      slot = &timings_.tls;
      break;
    case Phase::kFirstByte:
      slot = &timings_.first_byte;
      break;
  }
  if (!slot->has_value()) *slot = at;
}

bool CheckRun::take_resolved(const Expected<HostResolver::Addresses>& answer) {
  if (done()) return false;
  mark(Phase::kResolve);
  if (!answer) {
    finish(down("resolve_failed", answer.error().message));
    return false;
  }
  return true;
}

void CheckRun::finish(Outcome outcome) {
  if (done_) return;
  done_ = true;
  timings_.total = elapsed();
  Completion completion = std::move(completion_);
  completion_ = nullptr;
  if (completion) completion(std::move(outcome), timings_);
}

}  // namespace netmon::checks
