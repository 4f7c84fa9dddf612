#include "monitor/engine/check_scheduler.hpp"

namespace netmon {

std::chrono::milliseconds CheckScheduler::phase_of(std::string_view id,
                                                   std::chrono::milliseconds interval) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a: stable across runs and builds
  for (const char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  const auto span = static_cast<std::uint64_t>(interval.count());
  return std::chrono::milliseconds(span == 0 ? 0 : static_cast<std::int64_t>(hash % span));
}

void CheckScheduler::add(std::size_t slot, std::string_view id, std::chrono::milliseconds interval,
                         TimePoint now) {
  if (slot >= entries_.size()) entries_.resize(slot + 1);
  Entry& entry = entries_[slot];
  if (!entry.active) ++active_;
  entry.active = true;
  entry.interval = interval;
  ++entry.generation;
  heap_.push(Item{now + phase_of(id, interval), slot, entry.generation});
}

void CheckScheduler::remove(std::size_t slot) {
  if (slot >= entries_.size() || !entries_[slot].active) return;
  entries_[slot].active = false;
  ++entries_[slot].generation;
  --active_;
  drop_stale_top();
}

std::optional<CheckScheduler::TimePoint> CheckScheduler::next_due() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.top().due;
}

void CheckScheduler::schedule_next(std::size_t slot, TimePoint due, TimePoint now) {
  const Entry& entry = entries_[slot];
  TimePoint next = due + entry.interval;
  if (next <= now) {
    const auto behind = (now - due) / entry.interval;  // whole intervals already past
    missed_ticks_ += static_cast<std::uint64_t>(behind);
    next = due + entry.interval * (behind + 1);
  }
  heap_.push(Item{next, slot, entry.generation});
}

void CheckScheduler::drop_stale_top() {
  // Removed slots leave items behind; keep the top live so next_due() is exact.
  while (!heap_.empty()) {
    const Item& top = heap_.top();
    const Entry& entry = entries_[top.slot];
    if (entry.active && entry.generation == top.generation) return;
    heap_.pop();
  }
}

}  // namespace netmon
