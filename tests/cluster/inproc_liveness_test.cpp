// Liveness (PROTOCOL.md §8) measured on a ManualClock: a peer silent for
// fewer than `liveness` heartbeat intervals is still alive, one silent for
// more is lost. The silent peer is a raw socket the test controls, so silence
// is exact.

#include <gtest/gtest.h>

#include "tests/support/inproc_cluster.hpp"

namespace netmon::testing {
namespace {

constexpr std::chrono::milliseconds kHeartbeat{1000};
constexpr std::uint32_t kLiveness = 3;

class InprocLiveness : public ::testing::Test {
 protected:
  // A manager on the test's clock, with kHeartbeat and kLiveness.
  std::unique_ptr<manager::Manager> start_manager() {
    auto options = cluster_.manager_options();
    options.clock = &clock_;
    options.heartbeat = kHeartbeat;
    options.liveness = kLiveness;
    return cluster_.start_manager(options);
  }

  InprocCluster cluster_;
  ManualClock clock_;
};

TEST_F(InprocLiveness, ManagerDeclaresASilentMonitorLostAfterThreeIntervalsAndNotBefore) {
  auto manager = start_manager();
  ASSERT_TRUE(manager);

  zmq::socket_t events(cluster_.context, zmq::socket_type::sub);
  events.set(zmq::sockopt::linger, 0);
  events.set(zmq::sockopt::subscribe, "evt/monitor/edge-1");
  events.connect(cluster_.broker_out);

  FakeMonitor monitor(cluster_.context, cluster_.control);
  monitor.send(monitor.hello("edge-1"));
  const auto welcome = monitor.await_message<protocol::Welcome>();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->heartbeat_ms, kHeartbeat.count());
  EXPECT_EQ(welcome->liveness, kLiveness);
  ASSERT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "CONNECTED"; }));

  // 2.9 intervals of silence: the manager has heartbeated us (so its loop saw
  // the advanced clock) and still counts us alive.
  clock_.advance(std::chrono::milliseconds(2900));
  ASSERT_TRUE(monitor.await_message<protocol::Heartbeat>())
      << "the manager sent no HEARTBEAT after 2.9 silent intervals";
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");

  // 3.1 intervals: lost.
  clock_.advance(std::chrono::milliseconds(200));
  EXPECT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "LOST"; }))
      << "state " << monitor_state(*manager, "edge-1") << " after 3.1 silent intervals";
  // The change is published on the bus as an event.
  std::optional<protocol::Event> lost;
  EXPECT_TRUE(await([&] {
    const auto frames = receive(events, std::chrono::milliseconds(10));
    if (frames && frames->size() == 2) {
      auto event = protocol::decode_event((*frames)[1]);
      if (event && event->to == "LOST") {
        lost = event.value();
      }
    }
    return lost.has_value();
  })) << "no evt/monitor/edge-1 event with to=LOST on the bus";
  if (lost) {
    EXPECT_EQ(lost->monitor, "edge-1");
    EXPECT_EQ(lost->from, "CONNECTED");
  }
}

TEST_F(InprocLiveness, AnyMessageFromTheMonitorCountsAsAHeartbeat) {
  auto manager = start_manager();
  ASSERT_TRUE(manager);

  FakeMonitor monitor(cluster_.context, cluster_.control);
  monitor.send(monitor.hello("edge-1"));
  const auto config = monitor.await_message<protocol::Config>();
  ASSERT_TRUE(config);
  ASSERT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "CONNECTED"; }));

  // 2 intervals, then a CONFIG_ACK (not a HEARTBEAT), then 2 more: 4 in all,
  // but never 3 in a row silent.
  clock_.advance(std::chrono::milliseconds(2000));
  monitor.send(protocol::ConfigAck{
      config->version, {{"port-9", protocol::check_digest(config->checks.at(0))}}, ""});
  ASSERT_TRUE(await([&] {
    const auto status = monitor_status(*manager, "edge-1");
    return status && status->acked_config_version == config->version;
  }));
  clock_.advance(std::chrono::milliseconds(2000));
  ASSERT_TRUE(monitor.await_message<protocol::Heartbeat>());
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
}

TEST_F(InprocLiveness, MonitorDeclaresASilentManagerLostAfterThreeIntervalsAndReconnects) {
  FakeManager fake(cluster_.context, cluster_.control);
  auto options = cluster_.monitor_options("edge-1", InprocCluster::kQuietRate);
  options.clock = &clock_;
  options.reconnect_min = std::chrono::milliseconds(1000);
  options.reconnect_max = std::chrono::milliseconds(32000);
  auto agent = cluster_.start_agent(options);

  const auto hello = fake.await_message<protocol::Hello>();
  ASSERT_TRUE(hello) << "no HELLO";
  EXPECT_EQ(hello->second.name, "edge-1");
  fake.send(hello->first,
            protocol::Welcome{7, 0, static_cast<std::uint32_t>(kHeartbeat.count()), kLiveness});
  ASSERT_TRUE(await([&] { return agent->stats().connected; }));
  EXPECT_EQ(agent->stats().monitor_id, 7u);
  const auto reconnects = agent->stats().reconnects;

  clock_.advance(std::chrono::milliseconds(2900));
  ASSERT_TRUE(fake.await_message<protocol::Heartbeat>())
      << "the monitor sent no HEARTBEAT after 2.9 silent intervals";
  EXPECT_TRUE(agent->stats().connected) << "lost the manager before 3 intervals";

  clock_.advance(std::chrono::milliseconds(200));
  EXPECT_TRUE(await([&] { return !agent->stats().connected; }))
      << "still connected after 3.1 silent intervals";

  // Backoff starts at 200 ms ± 20 %: 1.3 s later it has said HELLO again.
  clock_.advance(std::chrono::milliseconds(1300));
  const auto again = fake.await_message<protocol::Hello>();
  ASSERT_TRUE(again) << "no HELLO after the reconnect backoff";
  EXPECT_EQ(again->second.monitor_id, 7u);
  EXPECT_EQ(again->second.instance, hello->second.instance);
  EXPECT_GT(agent->stats().reconnects, reconnects);
}

}  // namespace
}  // namespace netmon::testing
