#include "monitor/agent/synthetic_generator.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace netmon::agent {

SyntheticGenerator::SyntheticGenerator(asio::io_context& io, double rate_per_second, BatchSink sink,
                                       Backlog backlog)
    : timer_(io),
      rate_(rate_per_second),
      tick_(std::clamp(std::chrono::microseconds(
                           static_cast<std::int64_t>(1e6 / std::max(rate_per_second, 1e-3))),
                       std::chrono::microseconds(kMinTick), std::chrono::microseconds(kMaxTick))),
      sink_(std::move(sink)),
      backlog_(std::move(backlog)) {}

void SyntheticGenerator::start() {
  running_ = true;
  started_ = std::chrono::steady_clock::now();
  emitted_ = 0;
  skipped_ = 0;
  arm();
}

void SyntheticGenerator::stop() {
  running_ = false;
  timer_.cancel();
}

void SyntheticGenerator::arm() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](const std::error_code& error) {
    if (!error && running_) tick();
  });
}

void SyntheticGenerator::tick() {
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const auto due = static_cast<std::uint64_t>(std::floor(rate_ * elapsed_s));
  // After a stall, catch up by at most one second's worth per tick.
  const auto limit = static_cast<std::uint64_t>(std::max(1.0, rate_));
  const std::uint64_t count = std::min(due > emitted_ ? due - emitted_ : 0, limit);
  if (count > 0 && backlog_() > kMaxBacklog) {
    skipped_ += count;
    emitted_ += count;
    arm();
    return;
  }
  batch_.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i)
    batch_.push_back(make_result(emitted_ + i));
  emitted_ += count;
  if (!batch_.empty()) sink_(batch_);
  batch_.clear();
  arm();
}

CheckResult SyntheticGenerator::make_result(std::uint64_t n) {
  // A cheap, deterministic spread of latencies between 200 us and 5 ms.
  const std::uint64_t mixed = (n * 2654435761ULL) % 4801;
  const std::chrono::microseconds latency{200 + static_cast<std::int64_t>(mixed)};
  const int check = static_cast<int>(n % kCheckCount);
  CheckResult result;
  result.check_id = "synthetic-" + std::to_string(check);
  result.type = "synthetic";
  result.target = "127.0.0.1:" + std::to_string(10000 + check);
  result.timestamp = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(latency);
  const bool down = n % 97 == 96;
  result.status = down ? CheckStatus::kDown : CheckStatus::kUp;
  if (down) {
    result.reason = "synthetic_down";
    result.error = "synthetic failure (every 97th result)";
  }
  result.latency = latency;
  result.timings.connect = latency / 2;
  result.timings.total = latency;
  result.details = {{"rtt_us", latency.count()}, {"bytes", 64}, {"n", n}};
  return result;
}

}  // namespace netmon::agent
