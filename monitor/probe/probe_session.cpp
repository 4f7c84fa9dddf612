#include "monitor/probe/probe_session.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <csignal>
#include <cstring>

#include "common/command_line.hpp"
#include "common/logging.hpp"

namespace netmon::probe {
namespace {

std::vector<ProbeStatistics::Row> rows_of(const std::vector<ProbeCheck>& checks) {
  std::vector<ProbeStatistics::Row> rows;
  rows.reserve(checks.size());
  for (const ProbeCheck& check : checks)
    rows.push_back({check.group, check.prepared.spec.type, check.label});
  return rows;
}

double seconds(std::chrono::milliseconds value) {
  return static_cast<double>(value.count()) / 1000.0;
}

std::string elapsed_text(std::chrono::steady_clock::duration elapsed) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1fs", std::chrono::duration<double>(elapsed).count());
  return buffer;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "signal " + std::to_string(signal);
  }
}

}  // namespace

ProbeSession::ProbeSession(ProbeOptions options, std::ostream& out)
    : options_(std::move(options)),
      out_(out),
      env_(io_, component_logger("probe")),
      runner_(std::make_unique<checks::CheckRunner>(env_)),
      round_timer_(io_),
      stats_(rows_of(options_.checks)),
      running_(options_.checks.size(), false),
      last_up_(options_.checks.size()) {
  if (!options_.output_path.empty()) spool_ = std::make_unique<RawDataSpool>();
  for (const ProbeCheck& check : options_.checks) {
    check_width_ = std::max(check_width_, check.prepared.spec.id.size());
    target_width_ = std::max(target_width_, check.prepared.check->target().size());
  }
}

ProbeSession::~ProbeSession() {
  // Runs still in flight are cancelled before the loop and env go away.
  runner_.reset();
}

void ProbeSession::stop_on_signals() {
  signals_.emplace(io_, SIGINT, SIGTERM);
  signals_->async_wait([this](const std::error_code& ec, int signal) {
    if (ec) return;
    stop_signal_ = signal;
    request_finish(StopReason::kSignal);
  });
}

void ProbeSession::stop() {
  asio::post(io_, [this] { request_finish(StopReason::kStopped); });
}

void ProbeSession::run() {
  started_at_ = std::chrono::system_clock::now();
  t0_ = std::chrono::steady_clock::now();
  next_due_ = t0_;
  asio::post(io_, [this] { start_round(); });
  io_.run();
  if (!shut_down_) shutdown();  // the loop ran dry (no checks)
}

void ProbeSession::start_round() {
  if (stop_reason_ != StopReason::kNone) return;
  const std::uint64_t number = ++rounds_started_;
  rounds_.emplace(number, Round{});
  for (std::size_t i = 0; i < options_.checks.size(); ++i) {
    Round& round = rounds_.at(number);
    if (running_[i]) {
      ++overruns_;
      continue;
    }
    running_[i] = true;
    ++round.started;
    runner_->run(options_.checks[i].prepared,
                 [this, i, number](const CheckResult& result) { on_result(i, number, result); });
  }
  rounds_.at(number).launching = false;
  complete_round_if_done(number);
  if (options_.count != 0 && rounds_started_ >= options_.count) {
    all_launched_ = true;
    if (runner_->in_flight() == 0) request_finish(StopReason::kCount);
    return;
  }
  schedule_next_round();
}

void ProbeSession::schedule_next_round() {
  next_due_ += options_.interval;
  // A round whose start time has already passed (the loop stalled) is skipped
  // and counted, not fired late in a burst.
  const auto now = std::chrono::steady_clock::now();
  while (next_due_ <= now) {
    next_due_ += options_.interval;
    ++missed_rounds_;
  }
  round_timer_.expires_at(next_due_);
  round_timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) start_round();
  });
}

void ProbeSession::on_result(std::size_t check, std::uint64_t round, const CheckResult& result) {
  running_[check] = false;
  last_up_[check] = result.status == CheckStatus::kUp;
  stats_.add(check, result);
  if (spool_) spool_->append(result, round);
  if (options_.verbose) {
    out_ << format_result_line(result, round, check_width_, target_width_) << std::flush;
  }
  if (observer_) observer_(result, round);
  if (auto it = rounds_.find(round); it != rounds_.end()) {
    ++it->second.received;
    complete_round_if_done(round);
  }
  if (all_launched_ && runner_ && runner_->in_flight() == 0) request_finish(StopReason::kCount);
}

void ProbeSession::complete_round_if_done(std::uint64_t number) {
  const auto it = rounds_.find(number);
  if (it == rounds_.end()) return;
  const Round& round = it->second;
  if (round.launching || round.received < round.started) return;
  ++rounds_completed_;
  rounds_.erase(it);
  const bool final_round = options_.count != 0 && number >= options_.count;
  if (number % kStatisticsEveryRounds == 0 && !final_round && stop_reason_ == StopReason::kNone) {
    out_ << format_statistics(stats_, "statistics after round " + std::to_string(number) + " (" +
                                          elapsed_text(std::chrono::steady_clock::now() - t0_) +
                                          ")")
         << std::flush;
  }
}

void ProbeSession::request_finish(StopReason reason) {
  if (stop_reason_ != StopReason::kNone) return;
  stop_reason_ = reason;
  // Deferred: this may run inside a runner callback, and shutdown destroys the runner.
  asio::post(io_, [this] { shutdown(); });
}

void ProbeSession::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  ended_at_ = std::chrono::system_clock::now();
  ended_steady_ = std::chrono::steady_clock::now();
  round_timer_.cancel();
  if (signals_) {
    std::error_code ignored;
    signals_->clear(ignored);  // a second Ctrl+C gets the default action
    signals_->cancel(ignored);
  }
  runner_.reset();  // cancels runs in flight; their results are not counted
  // Stop at once: a name lookup on Asio's resolver thread is not worth waiting for.
  io_.stop();
}

int ProbeSession::exit_code() const {
  const bool all_up = std::all_of(last_up_.begin(), last_up_.end(),
                                  [](const std::optional<bool>& up) { return up.value_or(false); });
  return !last_up_.empty() && all_up ? kExitOk : kExitFailure;
}

std::string ProbeSession::summary_title() const {
  std::string title = "statistics: " + std::to_string(rounds_completed_) +
                      (rounds_completed_ == 1 ? " round" : " rounds") + " in " +
                      elapsed_text(ended_steady_ - t0_);
  if (overruns_ != 0) title += ", " + std::to_string(overruns_) + " overrun(s)";
  if (missed_rounds_ != 0) title += ", " + std::to_string(missed_rounds_) + " missed round(s)";
  if (stop_reason_ == StopReason::kSignal) title += ", ended by " + signal_name(stop_signal_);
  if (stop_reason_ == StopReason::kStopped) title += ", stopped";
  return title;
}

nlohmann::ordered_json ProbeSession::session_json() const {
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const ProbeCheck& check : options_.checks) {
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const auto& [key, value] : check.prepared.spec.params) {
      std::visit([&, &name = key](const auto& text) { params[name] = text; }, value);
    }
    checks.push_back({{"id", check.prepared.spec.id},
                      {"type", check.prepared.spec.type},
                      {"target", check.prepared.check->target()},
                      {"group", check.group},
                      {"label", check.label},
                      {"timeout_s", seconds(check.prepared.spec.timeout)},
                      {"params", std::move(params)}});
  }
  std::string ended_by = "running";
  switch (stop_reason_) {
    case StopReason::kNone:
      break;
    case StopReason::kCount:
      ended_by = "count";
      break;
    case StopReason::kSignal:
      ended_by = signal_name(stop_signal_);
      break;
    case StopReason::kStopped:
      ended_by = "stopped";
      break;
  }
  return {
      {"start", format_timestamp(started_at_)},
      {"end", format_timestamp(ended_at_)},
      {"targets", options_.hosts},
      {"ports", options_.ports},
      {"interval_s", seconds(options_.interval)},
      {"timeout_s", seconds(options_.timeout)},
      {"count", options_.count == 0 ? nlohmann::ordered_json(nullptr)
                                    : nlohmann::ordered_json(options_.count)},
      {"rounds", rounds_completed_},
      {"rounds_started", rounds_started_},
      {"overruns", overruns_},
      {"missed_rounds", missed_rounds_},
      {"ended_by", ended_by},
      {"exit_code", exit_code()},
      {"checks", std::move(checks)},
  };
}

nlohmann::ordered_json ProbeSession::statistics_json() const {
  std::vector<std::uint16_t> ports;
  for (const ProbeCheck& check : options_.checks)
    ports.push_back(check.port.value_or(0));
  return probe::statistics_json(stats_, ports);
}

Expected<void> ProbeSession::write_output() {
  if (options_.output_path.empty() || !spool_) return {};
  return write_json_report(options_.output_path, session_json(), statistics_json(), *spool_);
}

}  // namespace netmon::probe
