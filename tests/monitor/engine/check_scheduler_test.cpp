#include "monitor/engine/check_scheduler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace netmon {
namespace {

using std::chrono::milliseconds;
using TimePoint = CheckScheduler::TimePoint;

const TimePoint kStart{std::chrono::hours(1)};

TEST(CheckScheduler, PhaseIsStableAndInsideTheInterval) {
  const auto phase = CheckScheduler::phase_of("web-1", milliseconds(1000));
  EXPECT_EQ(phase, CheckScheduler::phase_of("web-1", milliseconds(1000)));
  EXPECT_GE(phase, milliseconds(0));
  EXPECT_LT(phase, milliseconds(1000));
}

TEST(CheckScheduler, SpreadsFirstTicksOfManyChecks) {
  std::set<std::int64_t> distinct_ms;
  for (int i = 0; i < 1000; ++i) {
    distinct_ms.insert(
        CheckScheduler::phase_of("check-" + std::to_string(i), milliseconds(1000)).count());
  }
  // 1000 ids hashed into 1000 ms: a uniform spread fills ~632 distinct slots.
  EXPECT_GT(distinct_ms.size(), 550u);
}

TEST(CheckScheduler, FiresAtFixedRateWithoutDrift) {
  CheckScheduler scheduler;
  scheduler.add(0, "a", milliseconds(100), kStart);
  const TimePoint first = kStart + CheckScheduler::phase_of("a", milliseconds(100));
  std::vector<TimePoint> fired;
  // The loop is always 7 ms late; ticks must still stay on the first + k*100 grid.
  TimePoint now = first + milliseconds(7);
  for (int k = 0; k < 50; ++k) {
    scheduler.pop_due(now, [&](std::size_t, TimePoint due) { fired.push_back(due); });
    now = *scheduler.next_due() + milliseconds(7);
  }
  ASSERT_EQ(fired.size(), 50u);
  for (std::size_t k = 0; k < fired.size(); ++k) {
    EXPECT_EQ(fired[k], first + milliseconds(100) * static_cast<int>(k));
  }
  EXPECT_EQ(scheduler.missed_ticks(), 0u);
}

TEST(CheckScheduler, SkipsAndCountsTicksMissedDuringAStall) {
  CheckScheduler scheduler;
  scheduler.add(0, "a", milliseconds(100), kStart);
  const TimePoint first = *scheduler.next_due();
  int fired = 0;
  // The loop stalls 350 ms past the first tick: one late fire, three ticks skipped.
  scheduler.pop_due(first + milliseconds(350), [&](std::size_t, TimePoint) { ++fired; });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(scheduler.missed_ticks(), 3u);
  EXPECT_EQ(*scheduler.next_due(), first + milliseconds(400));
}

TEST(CheckScheduler, RemovedCheckNeverFiresAgain) {
  CheckScheduler scheduler;
  scheduler.add(0, "a", milliseconds(100), kStart);
  scheduler.add(1, "b", milliseconds(100), kStart);
  scheduler.remove(0);
  std::map<std::size_t, int> fired;
  for (int i = 0; i < 10; ++i) {
    scheduler.pop_due(kStart + milliseconds(100) * i,
                      [&](std::size_t slot, TimePoint) { ++fired[slot]; });
  }
  EXPECT_EQ(fired.count(0), 0u);
  EXPECT_GE(fired[1], 9);
  EXPECT_EQ(scheduler.size(), 1u);
}

TEST(CheckScheduler, ReportsNothingDueWhenEmpty) {
  CheckScheduler scheduler;
  EXPECT_FALSE(scheduler.next_due().has_value());
  scheduler.add(3, "x", milliseconds(1000), kStart);
  scheduler.remove(3);
  EXPECT_FALSE(scheduler.next_due().has_value());
}

TEST(CheckScheduler, FiresAtMostTheGivenNumberPerCallAndKeepsTheRestDue) {
  CheckScheduler scheduler;
  for (std::size_t slot = 0; slot < 10; ++slot) {
    scheduler.add(slot, "c" + std::to_string(slot), milliseconds(1000), kStart);
  }
  const TimePoint late = kStart + milliseconds(999);
  std::set<std::size_t> fired;
  EXPECT_EQ(scheduler.pop_due(
                late, [&](std::size_t slot, TimePoint) { fired.insert(slot); }, 4),
            4u);
  EXPECT_LE(*scheduler.next_due(), late);  // the other six are still due
  EXPECT_EQ(scheduler.pop_due(late, [&](std::size_t slot, TimePoint) { fired.insert(slot); }), 6u);
  EXPECT_EQ(fired.size(), 10u);
  EXPECT_GT(*scheduler.next_due(), late);
}

}  // namespace
}  // namespace netmon
