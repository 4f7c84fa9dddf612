#pragma once
// A rate limit for log lines caused by input (bad messages, failing sends):
// at most `burst` lines per `window`, the rest counted. A window opens with
// the first line after the previous one ended, so a burst of 1 means "at most
// one line per window". What was held back is reported by the caller, once:
// take_suppressed() on a timer or before the next line, take_all_suppressed()
// when stopping.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/monotonic_clock.hpp"

namespace netmon {

class LogLimiter {
 public:
  using TimePoint = MonotonicClock::TimePoint;
  using Duration = MonotonicClock::Duration;

  // `kind` names the lines in the caller's suppression report.
  LogLimiter(std::string_view kind, int burst, Duration window)
      : kind_(kind), burst_(burst), window_(window) {}

  // True when a line may be logged now; else it is counted as suppressed.
  [[nodiscard]] bool allow(TimePoint now);
  // Lines held back in windows that have ended; each is returned once.
  [[nodiscard]] std::uint64_t take_suppressed(TimePoint now);
  // Every line held back, the current window's too; each is returned once.
  [[nodiscard]] std::uint64_t take_all_suppressed();
  std::string_view kind() const { return kind_; }

 private:
  void roll(TimePoint now);

  std::string_view kind_;
  int burst_;
  Duration window_;
  std::optional<TimePoint> window_start_;
  int lines_ = 0;
  std::uint64_t suppressed_ = 0, ended_suppressed_ = 0;
};

}  // namespace netmon
