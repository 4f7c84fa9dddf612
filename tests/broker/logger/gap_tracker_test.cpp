#include "broker/logger/gap_tracker.hpp"

#include <gtest/gtest.h>

namespace netmon::logger {
namespace {

TEST(GapTracker, ReportsNothingForConsecutiveSeqs) {
  GapTracker tracker;
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    EXPECT_FALSE(tracker.observe("edge-1", "aa", seq).has_value()) << seq;
  }
}

TEST(GapTracker, ReportsTheMissingRangeOfASeqJump) {
  GapTracker tracker;
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 1).has_value());
  const auto gap = tracker.observe("edge-1", "aa", 5);
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(*gap, (Gap{"edge-1", "aa", 2, 4}));
  EXPECT_EQ(gap->count(), 3u);
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 6).has_value());
}

TEST(GapTracker, TreatsTheFirstRecordSeenAndANewEpochAsNoGap) {
  GapTracker tracker;
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 500).has_value());  // joined mid-stream
  EXPECT_FALSE(tracker.observe("edge-1", "bb", 1).has_value());    // re-created outbox
  EXPECT_FALSE(tracker.observe("edge-1", "bb", 2).has_value());
  EXPECT_TRUE(tracker.observe("edge-1", "aa", 502).has_value());  // the old epoch is still tracked
}

TEST(GapTracker, KeepsMonitorsApart) {
  GapTracker tracker;
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 1).has_value());
  EXPECT_FALSE(tracker.observe("edge-2", "aa", 7).has_value());
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 2).has_value());
  EXPECT_FALSE(tracker.observe("edge-2", "aa", 8).has_value());
}

TEST(GapTracker, IgnoresRepeatedAndOlderSeqs) {
  GapTracker tracker;
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 10).has_value());
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 10).has_value());
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 3).has_value());
  EXPECT_FALSE(tracker.observe("edge-1", "aa", 11).has_value());  // 3 did not move it back
}

TEST(GapTracker, ForgetsTheLeastRecentEpochBeyondTheBound) {
  GapTracker tracker;
  for (std::size_t epoch = 0; epoch <= GapTracker::kEpochsPerMonitor; ++epoch) {
    EXPECT_FALSE(tracker.observe("edge-1", std::to_string(epoch), 1).has_value());
  }
  // Epoch "0" was evicted: seeing it again starts over instead of reporting 2..9.
  EXPECT_FALSE(tracker.observe("edge-1", "0", 10).has_value());
  // The most recent one is still tracked.
  EXPECT_TRUE(
      tracker.observe("edge-1", std::to_string(GapTracker::kEpochsPerMonitor), 3).has_value());
}

}  // namespace
}  // namespace netmon::logger
