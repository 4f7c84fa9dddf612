#include "monitor/agent/reconnect_backoff.hpp"

#include <gtest/gtest.h>

namespace netmon::agent {
namespace {

using std::chrono::milliseconds;
using TimePoint = ReconnectBackoff::TimePoint;

const TimePoint kStart{std::chrono::hours(1)};

void expect_within_jitter(milliseconds delay, std::int64_t base_ms) {
  EXPECT_GE(delay.count(), base_ms * 8 / 10) << "base " << base_ms;
  EXPECT_LE(delay.count(), base_ms * 12 / 10) << "base " << base_ms;
}

TEST(ReconnectBackoff, RetriesQuicklyForTheFirstTenSecondsOfAnAbsence) {
  ReconnectBackoff backoff(BackoffTiming{}, 7);
  for (const milliseconds at : {milliseconds(0), milliseconds(3200), milliseconds(9999)}) {
    expect_within_jitter(backoff.after_loss(kStart + at), 200);
  }
}

TEST(ReconnectBackoff, ThenDoublesFromMinToAFewSecondsAtMost) {
  ReconnectBackoff backoff(BackoffTiming{}, 7);
  (void)backoff.after_loss(kStart);  // the absence starts
  const std::int64_t bases[] = {1000, 2000, 4000, 5000, 5000};
  TimePoint now = kStart + milliseconds(10'000);
  for (const std::int64_t base : bases) {
    expect_within_jitter(backoff.after_loss(now), base);
    now += milliseconds(base + 3000);
  }
}

TEST(ReconnectBackoff, AConnectionStartsTheNextAbsenceQuickAgain) {
  ReconnectBackoff backoff(BackoffTiming{}, 7);
  (void)backoff.after_loss(kStart);
  expect_within_jitter(backoff.after_loss(kStart + milliseconds(60'000)), 1000);
  expect_within_jitter(backoff.after_loss(kStart + milliseconds(65'000)), 2000);
  backoff.reset();
  const TimePoint later = kStart + milliseconds(120'000);
  expect_within_jitter(backoff.after_loss(later), 200);
  expect_within_jitter(backoff.after_loss(later + milliseconds(10'000)), 1000);
}

TEST(ReconnectBackoff, ARefusalIsNeverRetriedQuickly) {
  ReconnectBackoff backoff(BackoffTiming{}, 7);
  expect_within_jitter(backoff.after_refusal(kStart), 1000);
  expect_within_jitter(backoff.after_refusal(kStart + milliseconds(1000)), 2000);
}

TEST(ReconnectBackoff, TakesItsTimingFromTheOptions) {
  ReconnectBackoff backoff(
      BackoffTiming{milliseconds(50), milliseconds(1000), milliseconds(100), milliseconds(300)}, 7);
  expect_within_jitter(backoff.after_loss(kStart), 50);
  expect_within_jitter(backoff.after_loss(kStart + milliseconds(1000)), 100);
  expect_within_jitter(backoff.after_loss(kStart + milliseconds(2000)), 200);
  expect_within_jitter(backoff.after_loss(kStart + milliseconds(3000)), 300);
}

TEST(ReconnectBackoff, JittersSoTwoMonitorsDoNotRetryInLockstep) {
  ReconnectBackoff one(BackoffTiming{}, 1);
  ReconnectBackoff two(BackoffTiming{}, 2);
  int different = 0;
  for (int i = 0; i < 5; ++i) {
    const TimePoint now = kStart + milliseconds(1000 * i);
    different += one.after_loss(now) != two.after_loss(now) ? 1 : 0;
  }
  EXPECT_GT(different, 0);
}

}  // namespace
}  // namespace netmon::agent
