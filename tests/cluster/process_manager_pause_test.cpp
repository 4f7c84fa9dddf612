// SIGSTOP of netmon-manager for 10 s, then SIGCONT: the monitors declare it
// lost, buffer, reconnect when it answers again, and every (monitor, epoch,
// seq) produced is in `netmon-manager export` exactly once. Real processes
// over TCP on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/cluster/built_binaries.hpp"
#include "tests/support/process_cluster.hpp"

namespace netmon::cluster {
namespace {

using namespace std::chrono_literals;

constexpr auto kPause = 10s;

TEST(ManagerProcess, StoppedForTenSecondsThenContinuedLosesAndDuplicatesNothing) {
  ProcessCluster cluster(built_binaries(), {"edge-1", "edge-2"});
  cluster.start_manager();
  ASSERT_EQ(cluster.start_streaming(kProcessTestRate, kProcessTestTimeout), "") << cluster.logs();

  auto marks = cluster.monitor_log_marks();
  const auto paused = std::chrono::steady_clock::now();
  cluster.manager().signal(SIGSTOP);
  // The kernel keeps a stopped process's TCP connections up (it even takes
  // data until the buffers fill): only heartbeats tell the manager is gone.
  ASSERT_EQ(cluster.await_monitor_line("manager lost", kPause, marks), "") << cluster.logs();
  marks = cluster.monitor_log_marks();
  // The scenario is a 10 s pause: this sleep is its length, not a wait for an event.
  std::this_thread::sleep_until(paused + kPause);
  const std::size_t manager_mark = cluster.manager().log_mark();
  cluster.manager().signal(SIGCONT);

  ASSERT_EQ(cluster.await_reconnected(marks, kProcessTestTimeout), "") << cluster.logs();
  // Issue 7, defect 12: liveness was judged before the queued heartbeats were
  // read, so every monitor flapped CONNECTED -> LOST -> CONNECTED at SIGCONT.
  EXPECT_EQ(cluster.manager().count_lines("-> LOST", manager_mark), 0u) << cluster.manager().log();

  EXPECT_EQ(cluster.drain_stop_and_compare(kProcessTestTimeout, 3000), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
