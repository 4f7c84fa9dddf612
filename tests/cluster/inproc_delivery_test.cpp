// A whole cluster in one process over inproc:// (PROTOCOL.md §2): the manager
// with its embedded broker and monitors in synthetic mode. Config delivery,
// storage exactly once, restarts of either side, and gap repair.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "broker/result_broker.hpp"
#include "common/protocol/codec.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/inproc_cluster.hpp"

namespace netmon::testing {
namespace {

class InprocDelivery : public ::testing::Test {
 protected:
  // Stops `agent`, drains its outbox into the store and expects every record
  // it produced stored exactly once; the drained monitor's stats.
  agent::MonitorStats drain_and_expect_exactly_once(std::unique_ptr<agent::MonitorAgent>& agent,
                                                    const agent::MonitorOptions& options) {
    agent.reset();
    const auto final_stats = drain(cluster_, options);
    expect_stored_exactly_once(cluster_.manager_dir(), final_stats);
    return final_stats;
  }

  InprocCluster cluster_;
};

TEST_F(InprocDelivery, ConfigIsAcknowledgedAndAReloadedConfigArrivesAsTheNextVersion) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto agent = cluster_.start_agent(cluster_.monitor_options("edge-1", 20));

  std::uint64_t version = 0;
  ASSERT_TRUE(await([&] {
    const auto status = monitor_status(*manager, "edge-1");
    if (!status || status->state != "CONNECTED" || status->config_version == 0 ||
        status->acked_config_version != status->config_version) {
      return false;
    }
    version = status->config_version;
    return true;
  })) << "edge-1 never acknowledged its config";
  ASSERT_TRUE(await([&] { return agent->stats().config_version == version; }))
      << "agent runs version " << agent->stats().config_version << ", manager acked " << version;

  cluster_.write_config(
      {{"edge-1",
        {InprocCluster::kPortCheck, "{id: port-10, type: tcp, host: 127.0.0.1, port: 10}"}},
       {"edge-2", {InprocCluster::kPortCheck}}});
  const auto reloaded = manager->reload_config();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;

  EXPECT_TRUE(await([&] {
    const auto status = monitor_status(*manager, "edge-1");
    return status && status->config_version == version + 1 &&
           status->acked_config_version == version + 1;
  })) << "the reloaded config was not acknowledged as version "
      << version + 1;
  EXPECT_TRUE(await([&] { return agent->stats().config_version == version + 1; }))
      << "agent runs version " << agent->stats().config_version;
  // edge-2's checks did not change, so neither did its version.
  const auto edge2 = monitor_status(*manager, "edge-2");
  ASSERT_TRUE(edge2);
  EXPECT_LE(edge2->config_version, 1u);
}

// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the
// handshake, which is all a tcp check needs to report up.
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    if (fd_ < 0 || ::bind(fd_, generic, length) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, generic, &length) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

std::optional<std::string> check_state(const manager::Manager& manager, const std::string& check) {
  for (const auto& status : manager.checks()) {
    if (status.monitor == "edge-1" && status.check == check) {
      return status.state;
    }
  }
  return std::nullopt;
}

TEST_F(InprocDelivery, ChecksTheMonitorRunsFromItsConfigReachTheStoreAndTheCheckStates) {
  Listener open_port;
  const auto closed_port = free_tcp_port();
  cluster_.write_config(
      {{"edge-1",
        {"{id: open, type: tcp, host: 127.0.0.1, port: " + std::to_string(open_port.port()) +
             ", interval: 200ms}",
         "{id: closed, type: tcp, host: 127.0.0.1, port: " + std::to_string(closed_port) +
             ", interval: 200ms}"}}});
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto agent = cluster_.start_agent(cluster_.monitor_options("edge-1", 0));

  EXPECT_TRUE(await([&] { return check_state(*manager, "open") == "UP"; }))
      << "check 'open' is " << check_state(*manager, "open").value_or("not listed");
  EXPECT_TRUE(await([&] { return check_state(*manager, "closed") == "DOWN"; }))
      << "check 'closed' is " << check_state(*manager, "closed").value_or("not listed");
  ASSERT_TRUE(await([&] { return agent->stats().acked_seq >= 4; }));
  std::set<std::string> stored_checks;
  for (const auto& row : read_store(cluster_.manager_dir())) {
    stored_checks.insert(row.check);
  }
  EXPECT_EQ(stored_checks, (std::set<std::string>{"closed", "open"}));
}

TEST_F(InprocDelivery, ConfigAckWithAWrongDigestMakesTheManagerSendTheConfigAgain) {
  ManualClock clock;  // the resend waits a heartbeat interval: advance it instead of waiting
  auto options = cluster_.manager_options();
  options.clock = &clock;
  options.heartbeat = std::chrono::milliseconds(1000);
  auto manager = cluster_.start_manager(options);
  ASSERT_TRUE(manager);

  FakeMonitor monitor(cluster_.context, cluster_.control);
  monitor.send(monitor.hello("edge-1"));
  ASSERT_TRUE(monitor.await_message<protocol::Welcome>()) << "no WELCOME";
  const auto config = monitor.await_message<protocol::Config>();
  ASSERT_TRUE(config) << "no CONFIG after WELCOME";
  ASSERT_EQ(config->checks.size(), 1u);
  EXPECT_EQ(config->checks[0].id, "port-9");

  protocol::ConfigAck wrong{config->version, {{"port-9", "0000000000000000"}}, ""};
  monitor.send(wrong);
  clock.advance(std::chrono::milliseconds(1100));
  const auto again = monitor.await_message<protocol::Config>();
  ASSERT_TRUE(again) << "a digest mismatch did not make the manager resend the config";
  EXPECT_EQ(again->version, config->version);
  EXPECT_GE(manager->stats().config_resends, 1u);
  const auto status = monitor_status(*manager, "edge-1");
  ASSERT_TRUE(status);
  EXPECT_NE(status->acked_config_version, config->version);

  protocol::ConfigAck right{
      config->version, {{"port-9", protocol::check_digest(config->checks[0])}}, ""};
  monitor.send(right);
  EXPECT_TRUE(await([&] {
    const auto acked = monitor_status(*manager, "edge-1");
    return acked && acked->acked_config_version == config->version;
  })) << "matching digests were not accepted";
}

TEST_F(InprocDelivery, ResultsOfTwoMonitorsAreAllStoredExactlyOnce) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  const auto options1 = cluster_.monitor_options("edge-1", 300);
  const auto options2 = cluster_.monitor_options("edge-2", 300);
  auto agent1 = cluster_.start_agent(options1);
  auto agent2 = cluster_.start_agent(options2);

  ASSERT_TRUE(await([&] {
    return agent1->stats().acked_seq >= 300 && agent2->stats().acked_seq >= 300;
  })) << "acked "
      << agent1->stats().acked_seq << " and " << agent2->stats().acked_seq;
  agent1.reset();  // stops cleanly (BYE) and releases the data dir
  agent2.reset();
  EXPECT_TRUE(await([&] {
    return monitor_state(*manager, "edge-1") == "STOPPED" &&
           monitor_state(*manager, "edge-2") == "STOPPED";
  })) << "a clean stop (BYE) did not show as STOPPED";
  const auto final1 = drain(cluster_, options1);
  const auto final2 = drain(cluster_, options2);
  EXPECT_NE(final1.monitor_id, final2.monitor_id);

  expect_stored_exactly_once(cluster_.manager_dir(), final1);
  expect_stored_exactly_once(cluster_.manager_dir(), final2);
  EXPECT_EQ(manager->stats().stored, final1.last_seq + final2.last_seq);
}

TEST_F(InprocDelivery, ManagerRecreatedOnItsStoreMidStreamLosesAndDuplicatesNothing) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  const auto options1 = cluster_.monitor_options("edge-1", 300);
  const auto options2 = cluster_.monitor_options("edge-2", 300);
  auto agent1 = cluster_.start_agent(options1);
  auto agent2 = cluster_.start_agent(options2);
  ASSERT_TRUE(await([&] { return manager->stats().stored >= 200; }));
  const auto id1 = agent1->stats().monitor_id;
  const auto id2 = agent2->stats().monitor_id;

  manager.reset();  // mid-stream: both monitors keep producing and buffering
  const auto produced1 = agent1->stats().produced;
  const auto produced2 = agent2->stats().produced;
  ASSERT_TRUE(await([&] {
    return agent1->stats().produced >= produced1 + 150 &&
           agent2->stats().produced >= produced2 + 150;
  }));

  manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  // Both come back, their buffered results are stored, and new ones keep
  // arriving (acked beyond what was produced while the manager was away).
  const auto away1 = agent1->stats().last_seq;
  const auto away2 = agent2->stats().last_seq;
  EXPECT_TRUE(await([&] {
    return agent1->stats().acked_seq >= away1 + 100 && agent2->stats().acked_seq >= away2 + 100;
  })) << "after the restart: acked "
      << agent1->stats().acked_seq << "/" << away1 << " and " << agent2->stats().acked_seq << "/"
      << away2;
  agent1.reset();  // stops cleanly (BYE) and releases the data dir
  agent2.reset();
  const auto final1 = drain(cluster_, options1);
  const auto final2 = drain(cluster_, options2);
  EXPECT_EQ(final1.monitor_id, id1) << "the recreated manager assigned a new id";
  EXPECT_EQ(final2.monitor_id, id2);

  expect_stored_exactly_once(cluster_.manager_dir(), final1);
  expect_stored_exactly_once(cluster_.manager_dir(), final2);
}

// The instance id the manager registered for `name` (its store's monitors table).
std::string registered_instance(const std::filesystem::path& manager_dir, const std::string& name) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(manager_dir / "netmon.db", options);
  auto statement = db.prepare("SELECT instance FROM monitors WHERE name = ?");
  statement.bind(1, name);
  return statement.step() ? std::string(statement.column_text(0)) : std::string();
}

TEST_F(InprocDelivery, MonitorRecreatedOnItsDataDirKeepsIdentityEpochAndConfigAndDrainsItsOutbox) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  const auto options = cluster_.monitor_options("edge-1", 300);
  auto agent = cluster_.start_agent(options);
  ASSERT_TRUE(await([&] {
    const auto stats = agent->stats();
    return stats.config_version > 0 && stats.acked_seq >= 100;
  }));
  const auto instance = registered_instance(cluster_.manager_dir(), "edge-1");
  EXPECT_EQ(instance.size(), 32u);

  // The manager goes away first and the monitor notices. (Stopping it first
  // and restarting it at once would race libzmq's reaper: an inproc connect
  // to a name whose socket is still closing attaches to the dying socket and
  // never recovers, and nothing tells a PUB so.)
  manager.reset();
  ASSERT_TRUE(await([&] { return !agent->stats().connected; }));
  agent->stop();
  const auto first = agent->stats();
  agent.reset();

  // The manager is away: the monitor resumes with its stored identity and
  // config and buffers what it produces.
  agent = cluster_.start_agent(options);
  ASSERT_TRUE(await([&] { return agent->stats().last_seq >= first.last_seq + 100; }));
  const auto resumed = agent->stats();
  EXPECT_FALSE(resumed.connected);
  EXPECT_EQ(resumed.monitor_id, first.monitor_id);
  EXPECT_EQ(resumed.epoch, first.epoch);
  EXPECT_EQ(resumed.config_version, first.config_version);
  EXPECT_GE(resumed.outbox_records, resumed.last_seq - first.last_seq);

  manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  EXPECT_TRUE(await([&] { return agent->stats().acked_seq > resumed.last_seq; }))
      << "the buffered results were not acknowledged after the manager came back";
  const auto final_stats = drain_and_expect_exactly_once(agent, options);
  EXPECT_EQ(final_stats.outbox_records, 0u);
  EXPECT_EQ(final_stats.epoch, first.epoch);
  EXPECT_EQ(registered_instance(cluster_.manager_dir(), "edge-1"), instance)
      << "the monitor came back with another instance id";
}

TEST_F(InprocDelivery, PublicationsTheMonitorDropsAreRecoveredThroughReplayRequests) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto options = cluster_.monitor_options("edge-1", 300);
  options.drop_every_nth_publish = 10;
  auto agent = cluster_.start_agent(options);

  // Seq 10 never reaches the bus: acked past it without a reconnect means
  // the manager asked for it.
  ASSERT_TRUE(await([&] { return agent->stats().acked_seq >= 100; }))
      << "acked " << agent->stats().acked_seq << " of " << agent->stats().last_seq;
  EXPECT_GT(manager->stats().replay_requests, 0u);
  EXPECT_GT(agent->stats().replayed, 0u);
  drain_and_expect_exactly_once(agent, options);
}

// Repair keeps pace with steady loss: the stored prefix must not fall ever
// further behind while every 10th publication is lost (else the outbox grows
// without bound on a healthy connection). 300 results/s lose 30 gaps/s; the
// acknowledged seq has to stay within one second of production.
TEST_F(InprocDelivery, GapRepairKeepsPaceWithSteadyPublicationLoss) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto options = cluster_.monitor_options("edge-1", 300);
  options.drop_every_nth_publish = 10;
  auto agent = cluster_.start_agent(options);

  ASSERT_TRUE(await([&] { return agent->stats().last_seq >= 900; }));
  const auto lag = [&] {
    const auto stats = agent->stats();
    return stats.last_seq - std::min(stats.acked_seq, stats.last_seq);
  };
  EXPECT_TRUE(await([&] { return lag() <= 300; }, std::chrono::seconds(5)))
      << "acked " << agent->stats().acked_seq << " of " << agent->stats().last_seq
      << " produced: gap repair falls behind by " << lag() << " records";
}

TEST_F(InprocDelivery, ResultsTheManagerMissesOnTheBusAreRecoveredThroughReplayRequests) {
  auto manager_options = cluster_.manager_options();
  manager_options.drop_every_nth_result = 10;
  auto manager = cluster_.start_manager(manager_options);
  ASSERT_TRUE(manager);
  const auto options = cluster_.monitor_options("edge-1", 300);
  auto agent = cluster_.start_agent(options);

  ASSERT_TRUE(await([&] { return agent->stats().acked_seq >= 100; }))
      << "acked " << agent->stats().acked_seq << " of " << agent->stats().last_seq;
  EXPECT_GT(manager->stats().replay_requests, 0u);
  drain_and_expect_exactly_once(agent, options);
}

// External-broker mode with a standalone broker that restarts: the monitor
// and the manager carry on and nothing is lost or duplicated, whether the
// results published meanwhile arrive from libzmq's reconnect queues or
// through REPLAY_REQ. Control stays on inproc; the bus is loopback TCP,
// because libzmq re-connects tcp:// peers to a restarted listener but never
// inproc:// ones.
TEST_F(InprocDelivery, ResultsKeepBeingStoredExactlyOnceAcrossARestartOfAStandaloneBroker) {
  auto broker = std::make_unique<ResultBroker>(
      cluster_.context, BrokerEndpoints{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  const BrokerEndpoints bound{broker->in_endpoint(), broker->out_endpoint()};
  auto manager_options = cluster_.manager_options();
  manager_options.embedded_broker = false;
  manager_options.broker_in = bound.in;
  manager_options.broker_out = bound.out;
  auto manager = cluster_.start_manager(manager_options);
  ASSERT_TRUE(manager);
  auto options = cluster_.monitor_options("edge-1", 300);
  options.broker = bound.in;
  auto agent = cluster_.start_agent(options);
  ASSERT_TRUE(await([&] { return agent->stats().acked_seq >= 100; }));

  broker.reset();
  const auto last_before = agent->stats().last_seq;
  ASSERT_TRUE(await([&] { return agent->stats().last_seq >= last_before + 100; }));
  // libzmq closes the old listeners on its I/O thread: bind again until the
  // ports are free (bounded).
  const auto bind_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!broker) {
    try {
      broker = std::make_unique<ResultBroker>(cluster_.context, bound);
    } catch (const zmq::error_t& e) {
      ASSERT_EQ(e.num(), EADDRINUSE) << e.what();
      ASSERT_LT(std::chrono::steady_clock::now(), bind_deadline) << "ports still taken after 5 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // backoff between binds
    }
  }

  const auto last_away = agent->stats().last_seq;
  EXPECT_TRUE(await([&] { return agent->stats().acked_seq >= last_away + 100; }))
      << "acked " << agent->stats().acked_seq << ", produced " << agent->stats().last_seq << "; "
      << last_away << " when the broker came back";
  drain_and_expect_exactly_once(agent, options);
}

}  // namespace
}  // namespace netmon::testing
