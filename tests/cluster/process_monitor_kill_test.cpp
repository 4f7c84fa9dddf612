// kill -9 of a netmon-monitor while it publishes, then a restart on the same
// data dir: it keeps its epoch and continues its sequence without a gap, and
// every (monitor, epoch, seq) produced is in `netmon-manager export` exactly
// once. Real processes over TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include "tests/cluster/built_binaries.hpp"
#include "tests/support/process_cluster.hpp"

namespace netmon::cluster {
namespace {

TEST(MonitorProcess, KilledWithSigkillAndRestartedKeepsItsEpochContinuesItsSeqsAndLosesNothing) {
  ProcessCluster cluster(built_binaries(), {"edge-1", "edge-2"});
  cluster.start_manager();
  ASSERT_EQ(cluster.start_streaming(kProcessTestRate, kProcessTestTimeout), "") << cluster.logs();

  ProcessCluster::kill(cluster.monitor(0));
  const std::uint64_t produced_at_kill = cluster.produced(0);
  const auto epochs_before = read_produced_log(cluster.produced_log(0));
  ASSERT_FALSE(epochs_before.empty());
  const std::string epoch = epochs_before.begin()->first.epoch;

  cluster.start_monitor(0, kProcessTestRate);
  ASSERT_TRUE(cluster.monitor(0).wait_for_line("connected", kProcessTestTimeout)) << cluster.logs();
  ASSERT_TRUE(cluster.await_stored_progress(1000, kProcessTestTimeout))
      << cluster.progress() << cluster.logs();
  ASSERT_GT(cluster.produced(0), produced_at_kill + 250) << cluster.logs();

  const std::string verdict = cluster.drain_stop_and_compare(kProcessTestTimeout, 1000);
  // One epoch, seqs 1..N with no hole and no repeat across the kill.
  const auto produced = read_produced_log(cluster.produced_log(0));
  std::uint64_t expected_seq = 1;
  for (const auto& [key, count] : produced) {
    EXPECT_EQ(key.epoch, epoch) << "a restarted monitor must keep its outbox epoch";
    EXPECT_EQ(key.seq, expected_seq) << "seqs must continue without a gap across the kill";
    EXPECT_EQ(count, 1u) << "seq " << key.seq << " produced more than once";
    expected_seq = key.seq + 1;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(expected_seq, produced_at_kill + 250);
  EXPECT_EQ(verdict, "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
