#include "monitor/agent/reconnect_backoff.hpp"

#include <gtest/gtest.h>

namespace netmon::agent {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectBackoff, DoublesFromMinToMaxWithinTwentyPercentJitterAndResets) {
  ReconnectBackoff backoff(milliseconds(1000), milliseconds(32'000), 7);
  const std::int64_t bases[] = {1000, 2000, 4000, 8000, 16'000, 32'000, 32'000, 32'000};
  for (const std::int64_t base : bases) {
    const auto delay = backoff.next().count();
    EXPECT_GE(delay, base * 8 / 10) << "base " << base;
    EXPECT_LE(delay, base * 12 / 10) << "base " << base;
  }
  backoff.reset();
  EXPECT_LE(backoff.next().count(), 1200);
}

TEST(ReconnectBackoff, JittersSoTwoMonitorsDoNotRetryInLockstep) {
  ReconnectBackoff one(milliseconds(1000), milliseconds(32'000), 1);
  ReconnectBackoff two(milliseconds(1000), milliseconds(32'000), 2);
  int different = 0;
  for (int i = 0; i < 5; ++i)
    different += one.next() != two.next() ? 1 : 0;
  EXPECT_GT(different, 0);
}

}  // namespace
}  // namespace netmon::agent
