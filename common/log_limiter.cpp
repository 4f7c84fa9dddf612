#include "common/log_limiter.hpp"

#include <utility>

namespace netmon {

bool LogLimiter::allow(TimePoint now) {
  roll(now);
  if (lines_ < burst_) {
    ++lines_;
    return true;
  }
  ++suppressed_;
  return false;
}

std::uint64_t LogLimiter::take_suppressed(TimePoint now) {
  roll(now);
  return std::exchange(ended_suppressed_, 0);
}

std::uint64_t LogLimiter::take_all_suppressed() {
  return std::exchange(ended_suppressed_, 0) + std::exchange(suppressed_, 0);
}

void LogLimiter::roll(TimePoint now) {
  if (window_start_ && now - *window_start_ < window_) return;
  ended_suppressed_ += suppressed_;
  suppressed_ = 0;
  lines_ = 0;
  window_start_ = now;
}

}  // namespace netmon
