// kill -9 of netmon-manager while two monitors publish about 1,000 results/s
// in total, then a restart on the same store: every (monitor, epoch, seq) a
// monitor produced is in `netmon-manager export` exactly once, and nothing
// else is. Real processes over TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/cluster/cluster_fixture.hpp"

namespace netmon::cluster {
namespace {

using namespace std::chrono_literals;

constexpr double kRatePerMonitor = 500;
// Generous: a busy 2-core machine runs these beside ASan builds.
constexpr auto kTimeout = 60s;

TEST(ManagerProcess, KilledWithSigkillMidStreamAndRestartedStoresEveryProducedResultExactlyOnce) {
  const auto binaries = built_binaries();
  if (!binaries)
    GTEST_SKIP() << "netmon-manager, netmon-monitor, netmon-broker or netmon-logger is not built";
  ProcessCluster cluster(*binaries, {"edge-1", "edge-2"});
  cluster.start_manager();
  for (std::size_t i = 0; i < cluster.size(); ++i)
    cluster.start_monitor(i, kRatePerMonitor);
  for (std::size_t i = 0; i < cluster.size(); ++i)
    ASSERT_TRUE(cluster.monitor(i).wait_for_line("connected", kTimeout)) << cluster.logs();
  ASSERT_TRUE(cluster.await_stored_progress(2000, kTimeout))
      << cluster.progress() << cluster.logs();

  std::vector<std::size_t> marks;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    marks.push_back(cluster.monitor(i).log_mark());
  ProcessCluster::kill(cluster.manager());
  const std::uint64_t produced_at_kill = cluster.produced_total();
  // The monitors notice the silence and keep producing into their outboxes.
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    ASSERT_TRUE(cluster.monitor(i).wait_for_line("manager lost", kTimeout, marks[i]))
        << cluster.logs();
    marks[i] = cluster.monitor(i).log_mark();
  }
  ASSERT_TRUE(
      wait_until([&] { return cluster.produced_total() >= produced_at_kill + 1000; }, kTimeout));

  cluster.start_manager();
  for (std::size_t i = 0; i < cluster.size(); ++i)
    ASSERT_TRUE(cluster.monitor(i).wait_for_line("connected", kTimeout, marks[i]))
        << cluster.logs();
  // What was buffered while the manager was dead arrives, and live results too.
  ASSERT_TRUE(cluster.await_stored_progress(1000, kTimeout))
      << cluster.progress() << cluster.logs();

  EXPECT_EQ(cluster.stop_and_drain_monitors(kTimeout), "") << cluster.logs();
  EXPECT_EQ(cluster.stop_services(), "") << cluster.logs();
  const auto comparisons = cluster.compare_with_export();
  std::cout << summary(comparisons) << "\n";
  EXPECT_EQ(exactly_once_problems(comparisons, 1500), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
