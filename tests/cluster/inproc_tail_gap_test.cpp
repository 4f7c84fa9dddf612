// Records lost at the tail of the bus (PROTOCOL.md §7): a quiet monitor
// publishes nothing after them, so only its heartbeat's last_seq tells the
// manager they exist.

#include <gtest/gtest.h>

#include "tests/support/inproc_cluster.hpp"

namespace netmon::testing {
namespace {

TEST(InprocTailGap, EveryRecordOfAQuietMonitorIsStoredAlthoughNoneReachesTheBus) {
  InprocCluster cluster;
  auto manager = cluster.start_manager();
  ASSERT_TRUE(manager);
  // One result a second (4 heartbeat intervals apart) and every publication
  // lost: each record is the newest one when it vanishes, with no later
  // record to reveal the gap.
  auto options = cluster.monitor_options("edge-1", 1);
  options.drop_every_nth_publish = 1;
  auto agent = cluster.start_agent(options);

  std::uint64_t caught_up = 0;
  const bool stored = await([&] {
    const auto stats = agent->stats();
    if (stats.last_seq > 0 && stats.acked_seq == stats.last_seq) caught_up = stats.last_seq;
    return caught_up >= 3;
  });
  const auto stats = agent->stats();
  EXPECT_TRUE(stored) << "acked " << stats.acked_seq << " of " << stats.last_seq
                      << " produced: the lost tail was never asked for";
  EXPECT_EQ(stats.reconnects, 0u) << "recovered by a reconnect, not by the heartbeat";
  EXPECT_GT(manager->stats().replay_requests, 0u);
  EXPECT_EQ(stats.published, 0u) << "a record reached the bus";
  agent.reset();
  const auto final_stats = drain(cluster, options);
  expect_stored_exactly_once(cluster.manager_dir(), final_stats);
}

}  // namespace
}  // namespace netmon::testing
