#include "common/log_limiter.hpp"

#include <gtest/gtest.h>

namespace netmon {
namespace {

using std::chrono::seconds;

TEST(LogLimiter, AllowsABurstPerWindowAndCountsTheRest) {
  ManualClock clock;
  LogLimiter limiter("bad input", 3, seconds(10));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.allow(clock.now())) << i;
  EXPECT_FALSE(limiter.allow(clock.now()));
  EXPECT_FALSE(limiter.allow(clock.now()));
  EXPECT_EQ(limiter.take_suppressed(clock.now()), 0u) << "the window has not ended";
  clock.advance(seconds(10));
  EXPECT_EQ(limiter.take_suppressed(clock.now()), 2u);
  EXPECT_EQ(limiter.take_suppressed(clock.now()), 0u) << "each suppressed line is reported once";
  EXPECT_TRUE(limiter.allow(clock.now())) << "a new window allows a new burst";
}

TEST(LogLimiter, OpensItsWindowAtTheFirstLineNotAtAFixedGrid) {
  ManualClock clock;
  LogLimiter limiter("warning", 1, seconds(1));
  clock.advance(std::chrono::milliseconds(700));
  EXPECT_TRUE(limiter.allow(clock.now()));
  clock.advance(std::chrono::milliseconds(900));
  EXPECT_FALSE(limiter.allow(clock.now())) << "0.9 s after the line that opened the window";
  clock.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(limiter.allow(clock.now()));
  EXPECT_EQ(limiter.take_suppressed(clock.now()), 1u);
}

TEST(LogLimiter, TakesTheCurrentWindowsSuppressedLinesWhenAskedForAll) {
  ManualClock clock;
  LogLimiter limiter("malformed", 1, seconds(10));
  EXPECT_TRUE(limiter.allow(clock.now()));
  EXPECT_FALSE(limiter.allow(clock.now()));
  clock.advance(seconds(10));
  EXPECT_TRUE(limiter.allow(clock.now()));
  EXPECT_FALSE(limiter.allow(clock.now()));
  EXPECT_FALSE(limiter.allow(clock.now()));
  EXPECT_EQ(limiter.take_all_suppressed(), 3u);
  EXPECT_EQ(limiter.take_all_suppressed(), 0u);
  EXPECT_EQ(limiter.kind(), "malformed");
}

}  // namespace
}  // namespace netmon
