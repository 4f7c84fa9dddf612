// SIGSTOP of netmon-manager for 10 s, then SIGCONT: the monitors declare it
// lost, buffer, reconnect when it answers again, and every (monitor, epoch,
// seq) produced is in `netmon-manager export` exactly once. Real processes
// over TCP on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "tests/cluster/cluster_fixture.hpp"

namespace netmon::cluster {
namespace {

using namespace std::chrono_literals;

constexpr double kRatePerMonitor = 500;
constexpr auto kTimeout = 60s;
constexpr auto kPause = 10s;

TEST(ManagerProcess, StoppedForTenSecondsThenContinuedLosesAndDuplicatesNothing) {
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
  const auto paused = std::chrono::steady_clock::now();
  cluster.manager().signal(SIGSTOP);
  // The kernel keeps a stopped process's TCP connections up (it even takes
  // data until the buffers fill): only heartbeats tell the manager is gone.
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    ASSERT_TRUE(cluster.monitor(i).wait_for_line("manager lost", kPause, marks[i]))
        << cluster.logs();
    marks[i] = cluster.monitor(i).log_mark();
  }
  // The scenario is a 10 s pause: this sleep is its length, not a wait for an event.
  std::this_thread::sleep_until(paused + kPause);
  cluster.manager().signal(SIGCONT);

  for (std::size_t i = 0; i < cluster.size(); ++i)
    ASSERT_TRUE(cluster.monitor(i).wait_for_line("connected", kTimeout, marks[i]))
        << cluster.logs();
  ASSERT_TRUE(cluster.await_stored_progress(1000, kTimeout))
      << cluster.progress() << cluster.logs();

  EXPECT_EQ(cluster.stop_and_drain_monitors(kTimeout), "") << cluster.logs();
  EXPECT_EQ(cluster.stop_services(), "") << cluster.logs();
  const auto comparisons = cluster.compare_with_export();
  std::cout << summary(comparisons) << "\n";
  EXPECT_EQ(exactly_once_problems(comparisons, 3000), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
