#pragma once
// The monotonic clock as an object, so timers and liveness can be driven by a
// test instead of by waiting. Production code uses SteadyClock; tests use
// ManualClock and advance it. Wall-clock time is data, never a timer.

#include <atomic>
#include <chrono>

namespace netmon {

class MonotonicClock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~MonotonicClock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public MonotonicClock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  static SteadyClock& instance() {
    static SteadyClock clock;
    return clock;
  }
};

// Starts at an arbitrary fixed point; moves only when advanced. Safe to read
// from one thread while another advances it.
class ManualClock final : public MonotonicClock {
 public:
  TimePoint now() const override { return TimePoint{Duration{ticks_.load()}}; }
  void advance(Duration by) { ticks_.fetch_add(by.count()); }

 private:
  std::atomic<Duration::rep> ticks_{
      std::chrono::duration_cast<Duration>(std::chrono::hours(1)).count()};
};

}  // namespace netmon
