#include "manager/seq_tracker.hpp"

#include <gtest/gtest.h>

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using TimePoint = SeqTracker::TimePoint;

const TimePoint t0{std::chrono::hours(1)};

TEST(SeqTracker, AdvancesTheContiguousRunAndJoinsRangesThatCatchUp) {
  SeqTracker seqs;
  seqs.add(1, t0);
  seqs.add(2, t0);
  EXPECT_EQ(seqs.contiguous(), 2u);
  EXPECT_FALSE(seqs.first_gap());
  seqs.add(5, t0);
  seqs.add(7, t0);
  seqs.add(6, t0);
  EXPECT_EQ(seqs.contiguous(), 2u);
  ASSERT_TRUE(seqs.first_gap());
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{3, 4}));
  EXPECT_TRUE(seqs.contains(6));
  EXPECT_FALSE(seqs.contains(4));
  seqs.add(4, t0);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{3, 3}));
  seqs.add(3, t0);
  EXPECT_EQ(seqs.contiguous(), 7u) << "the stored ranges beyond the gap were not joined";
  EXPECT_FALSE(seqs.first_gap());
}

TEST(SeqTracker, EachGapIsDatedFromWhenASeqBeyondItWasFirstStored) {
  SeqTracker seqs;
  seqs.add(1, t0);
  seqs.add(3, t0 + 10ms);  // gap 2 noticed at +10ms
  seqs.add(4, t0 + 20ms);  // extends the range: gap 2 keeps its date
  seqs.add(6, t0 + 30ms);  // gap 5 noticed at +30ms
  seqs.add(9, t0 + 40ms);  // gap 7..8 noticed at +40ms
  seqs.add(8, t0 + 50ms);  // joins 9 from below: gap 7 still dated +40ms
  ASSERT_TRUE(seqs.first_gap());
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{2, 2}));
  EXPECT_EQ(seqs.first_gap()->noticed, t0 + 10ms);
  seqs.add(2, t0 + 60ms);
  // The next gap is as old as it is, not as old as the repair of the previous one.
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{5, 5}));
  EXPECT_EQ(seqs.first_gap()->noticed, t0 + 30ms);
  seqs.add(5, t0 + 70ms);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{7, 7}));
  EXPECT_EQ(seqs.first_gap()->noticed, t0 + 40ms);
  seqs.add(7, t0 + 80ms);
  EXPECT_EQ(seqs.contiguous(), 9u);
}

TEST(SeqTracker, StartsFromWhatTheStoreHolds) {
  SeqTracker seqs(EpochProgress{10, {12, 13, 20}, {}}, t0);
  EXPECT_EQ(seqs.contiguous(), 10u);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{11, 11}));
  EXPECT_EQ(seqs.first_gap()->noticed, t0);
  seqs.add(11, t0 + 1s);
  EXPECT_EQ(seqs.contiguous(), 13u);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{14, 19}));
}

TEST(SeqTracker, IgnoresSeqsAlreadyStored) {
  SeqTracker seqs(EpochProgress{3, {}, {}}, t0);
  seqs.add(2, t0);
  seqs.add(3, t0);
  EXPECT_EQ(seqs.contiguous(), 3u);
  EXPECT_FALSE(seqs.first_gap());
}

TEST(SeqTracker, ALossMovesTheContiguousRunPastTheSeqsItDropped) {
  // Outbox cap: the monitor dropped 3..40 and wrote LOSS 41. Without the
  // loss counting as accounted for, the ACK stays at 2 for the whole epoch.
  SeqTracker seqs;
  seqs.add(1, t0);
  seqs.add(2, t0);
  seqs.add(41, t0);
  seqs.add_loss(41, seqs.missing_in(3, 40), t0);
  seqs.add(42, t0);
  EXPECT_EQ(seqs.contiguous(), 42u);
  EXPECT_FALSE(seqs.first_gap());
  EXPECT_EQ(seqs.loss_covering(3), 41u);
  EXPECT_EQ(seqs.loss_covering(40), 41u);
  EXPECT_FALSE(seqs.loss_covering(2));
  EXPECT_FALSE(seqs.loss_covering(41));
}

TEST(SeqTracker, ALossCoversOnlyWhatIsNotStored) {
  SeqTracker seqs;
  seqs.add(1, t0);
  seqs.add(5, t0);
  seqs.add(6, t0);
  seqs.add(9, t0);
  EXPECT_EQ(seqs.missing_in(1, 10), (std::vector<SeqRange>{{2, 4}, {7, 8}, {10, 10}}));
  EXPECT_EQ(seqs.missing_in(5, 6), std::vector<SeqRange>{});
  seqs.add_loss(11, seqs.missing_in(2, 10), t0);
  seqs.add(11, t0);
  EXPECT_EQ(seqs.contiguous(), 11u);
  EXPECT_FALSE(seqs.loss_covering(5)) << "a stored result was claimed lost";
  EXPECT_EQ(seqs.loss_covering(7), 11u);
}

TEST(SeqTracker, AResultFoundAfterItsLossLeavesTheRestOfTheLoss) {
  SeqTracker seqs;
  seqs.add_loss(10, {{1, 9}}, t0);
  seqs.add(10, t0);
  seqs.found(5);
  EXPECT_EQ(seqs.lost_by(10), (std::vector<SeqRange>{{1, 4}, {6, 9}}));
  EXPECT_FALSE(seqs.loss_covering(5));
  EXPECT_TRUE(seqs.contains(5));
  seqs.found(1);
  EXPECT_EQ(seqs.lost_by(10), (std::vector<SeqRange>{{2, 4}, {6, 9}}));
  seqs.found(9);
  EXPECT_EQ(seqs.lost_by(10), (std::vector<SeqRange>{{2, 4}, {6, 8}}));
  EXPECT_EQ(seqs.contiguous(), 10u);
  for (std::uint64_t seq : {2, 3, 4, 6, 7, 8})
    seqs.found(seq);
  EXPECT_EQ(seqs.lost_by(10), std::vector<SeqRange>{});
}

TEST(SeqTracker, RebuildsLossesFromTheStore) {
  SeqTracker seqs(EpochProgress{2, {20}, {{20, {{3, 19}}}}}, t0);
  EXPECT_EQ(seqs.contiguous(), 20u);
  EXPECT_EQ(seqs.loss_covering(10), 20u);
}

TEST(SeqTracker, JoinsARangeThatBridgesSeveralStoredRanges) {
  SeqTracker seqs;
  seqs.add(1, t0);
  seqs.add(4, t0 + 1s);
  seqs.add(8, t0 + 2s);
  seqs.add(12, t0 + 3s);
  seqs.add_range(3, 9, t0 + 4s);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{2, 2}));
  EXPECT_EQ(seqs.first_gap()->noticed, t0 + 1s) << "the gap below kept its date";
  seqs.add(2, t0 + 5s);
  EXPECT_EQ(seqs.contiguous(), 9u);
  EXPECT_EQ(seqs.first_gap()->range, (SeqRange{10, 11}));
  EXPECT_EQ(seqs.highest(), 12u);
}

}  // namespace
}  // namespace netmon::manager
