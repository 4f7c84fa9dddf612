#include "monitor/agent/reconnect_backoff.hpp"

#include <algorithm>

namespace netmon::agent {

ReconnectBackoff::ReconnectBackoff(BackoffTiming timing, std::uint64_t seed)
    : timing_(timing), base_(timing.min), random_(seed) {
  timing_.max = std::max(timing_.min, timing_.max);
}

std::chrono::milliseconds ReconnectBackoff::after_loss(TimePoint now) {
  if (!absent_since_) absent_since_ = now;
  if (now - *absent_since_ < timing_.quick_phase) return jittered(timing_.quick);
  return doubling();
}

std::chrono::milliseconds ReconnectBackoff::after_refusal(TimePoint now) {
  if (!absent_since_) absent_since_ = now;
  return doubling();
}

void ReconnectBackoff::reset() {
  base_ = timing_.min;
  absent_since_.reset();
}

std::chrono::milliseconds ReconnectBackoff::doubling() {
  const auto delay = jittered(base_);
  base_ = std::min(timing_.max, base_ * 2);
  return delay;
}

std::chrono::milliseconds ReconnectBackoff::jittered(std::chrono::milliseconds base) {
  std::uniform_real_distribution<double> jitter(1.0 - kJitter, 1.0 + kJitter);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(base.count()) * jitter(random_)));
}

}  // namespace netmon::agent
