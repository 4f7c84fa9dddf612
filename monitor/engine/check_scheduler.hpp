#pragma once
// Fixed-rate timing for many checks, with no clock of its own: the caller
// passes `now`, so tests drive it with made-up times and the engine with
// steady_clock. Tick k of a check is at first + k * interval (no drift); the
// first tick is phase-spread by a hash of the check id so thousands of checks
// do not fire in the same millisecond. Ticks that fall wholly in the past
// (the loop stalled) are skipped and counted, never fired in a burst.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

namespace netmon {

class CheckScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // Stable offset in [0, interval) for `id`.
  static std::chrono::milliseconds phase_of(std::string_view id,
                                            std::chrono::milliseconds interval);

  // Schedules `slot` (a caller-chosen index) with its first tick at
  // now + phase_of(id, interval). Re-adding a slot replaces its schedule.
  void add(std::size_t slot, std::string_view id, std::chrono::milliseconds interval,
           TimePoint now);
  void remove(std::size_t slot);

  std::optional<TimePoint> next_due() const;

  // Calls fire(slot, due) for up to `max` ticks due at or before `now`, oldest
  // first, and schedules each slot's next tick. Returns how many fired.
  template <class Fire>
  std::size_t pop_due(TimePoint now, Fire&& fire, std::size_t max = SIZE_MAX) {
    std::size_t fired = 0;
    while (fired < max && !heap_.empty() && heap_.top().due <= now) {
      const Item item = heap_.top();
      heap_.pop();
      Entry& entry = entries_[item.slot];
      if (!entry.active || entry.generation != item.generation) continue;
      schedule_next(item.slot, item.due, now);
      ++fired;
      fire(item.slot, item.due);
    }
    drop_stale_top();
    return fired;
  }

  // Ticks skipped because they were already past when the loop got to them.
  std::uint64_t missed_ticks() const { return missed_ticks_; }
  std::size_t size() const { return active_; }

 private:
  struct Entry {
    std::chrono::milliseconds interval{0};
    std::uint64_t generation = 0;
    bool active = false;
  };
  struct Item {
    TimePoint due;
    std::size_t slot;
    std::uint64_t generation;
    bool operator>(const Item& other) const { return due > other.due; }
  };

  void schedule_next(std::size_t slot, TimePoint due, TimePoint now);
  void drop_stale_top();

  std::vector<Entry> entries_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap_;
  std::uint64_t missed_ticks_ = 0;
  std::size_t active_ = 0;
};

}  // namespace netmon
