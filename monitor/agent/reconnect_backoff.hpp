#pragma once
// Reconnect delays (PROTOCOL.md §8), with ±20 % jitter so a fleet of monitors
// does not reconnect in lockstep after an outage.
//
// An absence starts with the first delay asked for after reset() (a WELCOME).
// For its first `quick_phase` every delay is `quick`: a manager that restarts
// is back within a second or two, and a doubling backoff had monitors wait
// 12–16 s for one (issue 9). After that, min, 2 × min, 4 × min ... up to max,
// so a manager that is away for long is not hammered. A refusal (REJECT) is
// never quick: asking again at once gets the same answer.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "common/monotonic_clock.hpp"

namespace netmon::agent {

struct BackoffTiming {
  std::chrono::milliseconds quick{200};
  std::chrono::milliseconds quick_phase{10'000};
  std::chrono::milliseconds min{1000};
  std::chrono::milliseconds max{5000};
};

class ReconnectBackoff {
 public:
  using TimePoint = MonotonicClock::TimePoint;
  static constexpr double kJitter = 0.2;

  explicit ReconnectBackoff(BackoffTiming timing, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt, for a loss noticed at `now`.
  std::chrono::milliseconds after_loss(TimePoint now);
  // The delay after the manager refused this monitor: the doubling one.
  std::chrono::milliseconds after_refusal(TimePoint now);
  // Connected: the next loss starts a new absence, quick again.
  void reset();

 private:
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);
  std::chrono::milliseconds doubling();

  BackoffTiming timing_;
  std::chrono::milliseconds base_;
  std::optional<TimePoint> absent_since_;
  std::mt19937_64 random_;
};

}  // namespace netmon::agent
