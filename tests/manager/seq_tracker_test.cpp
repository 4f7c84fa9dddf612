#include "manager/seq_tracker.hpp"

#include <gtest/gtest.h>

namespace netmon::manager {
namespace {

TEST(SeqTracker, AdvancesTheContiguousRunAndJoinsRangesThatCatchUp) {
  SeqTracker seqs;
  seqs.add(1);
  seqs.add(2);
  EXPECT_EQ(seqs.contiguous(), 2u);
  EXPECT_FALSE(seqs.first_gap());
  seqs.add(5);
  seqs.add(7);
  seqs.add(6);
  EXPECT_EQ(seqs.contiguous(), 2u);
  EXPECT_EQ(seqs.first_gap(), (SeqRange{3, 4}));
  EXPECT_TRUE(seqs.contains(6));
  EXPECT_FALSE(seqs.contains(4));
  seqs.add(4);
  EXPECT_EQ(seqs.first_gap(), (SeqRange{3, 3}));
  seqs.add(3);
  EXPECT_EQ(seqs.contiguous(), 7u) << "the stored ranges beyond the gap were not joined";
  EXPECT_FALSE(seqs.first_gap());
}

TEST(SeqTracker, StartsFromWhatTheStoreHolds) {
  SeqTracker seqs(EpochProgress{10, {12, 13, 20}});
  EXPECT_EQ(seqs.contiguous(), 10u);
  EXPECT_EQ(seqs.first_gap(), (SeqRange{11, 11}));
  seqs.add(11);
  EXPECT_EQ(seqs.contiguous(), 13u);
  EXPECT_EQ(seqs.first_gap(), (SeqRange{14, 19}));
}

TEST(SeqTracker, IgnoresSeqsAlreadyStored) {
  SeqTracker seqs(EpochProgress{3, {}});
  seqs.add(2);
  seqs.add(3);
  EXPECT_EQ(seqs.contiguous(), 3u);
  EXPECT_FALSE(seqs.first_gap());
}

}  // namespace
}  // namespace netmon::manager
