// kill -9 of netmon-manager while two monitors publish about 1,000 results/s
// in total, then a restart on the same store: every (monitor, epoch, seq) a
// monitor produced is in `netmon-manager export` exactly once, and nothing
// else is. Real processes over TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include "tests/cluster/built_binaries.hpp"
#include "tests/support/process_cluster.hpp"

namespace netmon::cluster {
namespace {

TEST(ManagerProcess, KilledWithSigkillMidStreamAndRestartedStoresEveryProducedResultExactlyOnce) {
  ProcessCluster cluster(built_binaries(), {"edge-1", "edge-2"});
  cluster.start_manager();
  ASSERT_EQ(cluster.start_streaming(kProcessTestRate, kProcessTestTimeout), "") << cluster.logs();

  auto marks = cluster.monitor_log_marks();
  ProcessCluster::kill(cluster.manager());
  const std::uint64_t produced_at_kill = cluster.produced_total();
  // The monitors notice the silence and keep producing into their outboxes.
  ASSERT_EQ(cluster.await_monitor_line("manager lost", kProcessTestTimeout, marks), "")
      << cluster.logs();
  marks = cluster.monitor_log_marks();
  ASSERT_TRUE(await([&] { return cluster.produced_total() >= produced_at_kill + 1000; },
                    kProcessTestTimeout));

  cluster.start_manager();
  // What was buffered while the manager was dead arrives, and live results too.
  ASSERT_EQ(cluster.await_reconnected(marks, kProcessTestTimeout), "") << cluster.logs();

  EXPECT_EQ(cluster.drain_stop_and_compare(kProcessTestTimeout, 1500), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
