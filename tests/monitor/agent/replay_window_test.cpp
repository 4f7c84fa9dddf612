#include "monitor/agent/replay_window.hpp"

#include <gtest/gtest.h>

namespace netmon::agent {
namespace {

TEST(ReplayWindow, OffersTheLowestWantedRangeWithOverlappingRequestsMerged) {
  ReplayWindow window;
  EXPECT_FALSE(window.next());
  window.request(50, 60);
  window.request(10, 20);
  window.request(21, 30);  // adjacent: merged
  window.request(55, 70);  // overlapping: merged
  window.request(5, 4);    // empty: ignored
  EXPECT_EQ(window.next(), (SeqRange{10, 30}));
  window.skip_next();
  EXPECT_EQ(window.next(), (SeqRange{50, 70}));
}

TEST(ReplayWindow, StopsOfferingOnceFourBatchesAreUnacknowledged) {
  ReplayWindow window;
  window.request(1, 10'000);
  for (std::uint64_t batch = 0; batch < 4; ++batch) {
    ASSERT_TRUE(window.next());
    EXPECT_EQ(window.next()->from, batch * 1000 + 1);
    window.sent_through((batch + 1) * 1000);
  }
  EXPECT_EQ(window.in_flight(), 4u);
  EXPECT_FALSE(window.next());
  window.acknowledge(1500);  // only the first batch is complete
  EXPECT_EQ(window.in_flight(), 3u);
  EXPECT_EQ(window.next(), (SeqRange{4001, 10'000}));
}

TEST(ReplayWindow, AcknowledgingDropsWantedSeqsTheManagerAlreadyHas) {
  ReplayWindow window;
  window.request(1, 100);
  window.request(200, 300);
  window.acknowledge(250);
  EXPECT_EQ(window.next(), (SeqRange{251, 300}));
  window.acknowledge(300);
  EXPECT_TRUE(window.idle());
}

TEST(ReplayWindow, ResendsWhatIsInFlightAfterTheAckedSeqWhenAcksStall) {
  ReplayWindow window;
  window.request(1, 3000);
  window.sent_through(1000);
  window.sent_through(2000);
  window.sent_through(3000);
  EXPECT_FALSE(window.idle());
  window.resend_in_flight(1000);
  EXPECT_EQ(window.in_flight(), 0u);
  EXPECT_EQ(window.next(), (SeqRange{1001, 3000}));
}

}  // namespace
}  // namespace netmon::agent
