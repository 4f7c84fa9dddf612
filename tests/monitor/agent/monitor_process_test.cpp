// netmon-monitor as a real process over loopback TCP, against a fake manager.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <zmq.hpp>

#include "common/protocol/codec.hpp"
#include "common/sqlite_db.hpp"
#include "monitor/agent/result_outbox.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Receives one control message on `router` within `timeout`; remembers the peer.
std::optional<protocol::ControlMessage> receive(zmq::socket_t& router, std::string& peer,
                                                std::chrono::milliseconds timeout = 10s) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 20ms);
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t id;
    zmq::message_t body;
    if (!router.recv(id) || !router.recv(body)) continue;
    auto decoded = protocol::decode_control(body.to_string_view());
    if (!decoded) continue;
    peer = id.to_string();
    return std::move(decoded).value();
  }
  return std::nullopt;
}

void send(zmq::socket_t& router, const std::string& peer, const protocol::ControlMessage& m) {
  const std::string body = protocol::encode(m);
  router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  router.send(zmq::buffer(body), zmq::send_flags::none);
}

TEST(NetmonMonitorProcess, ConnectsAppliesItsConfigAndSaysByeOnSigterm) {
  testing::TempDir dir("netmon-monitor-process-");
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:0");
  const std::string manager = router.get(zmq::sockopt::last_endpoint);
  const std::string broker = testing::loopback_endpoint(testing::free_tcp_port());

  testing::ChildProcess monitor(NETMON_MONITOR_BINARY,
                                {"--name", "edge-1", "--data-dir", (dir / "data").string(),
                                 "--manager", manager, "--broker", broker, "--sync", "normal"},
                                dir / "monitor.log");
  ASSERT_TRUE(monitor.wait_for_line("ready", 10s)) << monitor.log();
  std::string peer;
  // Skip anything but the HELLO (there is nothing else before WELCOME).
  auto hello = receive(router, peer);
  ASSERT_TRUE(hello && std::holds_alternative<protocol::Hello>(*hello)) << monitor.log();
  send(router, peer, protocol::Welcome{7, 0, 1000, 3});
  ASSERT_TRUE(monitor.wait_for_line("connected", 10s)) << monitor.log();

  CheckSpec web;
  web.id = "web";
  web.type = "tcp";
  web.interval = 1h;
  web.params = {{"host", std::string("127.0.0.1")},
                {"port", std::to_string(testing::free_tcp_port())}};
  send(router, peer, protocol::Config{3, {web}});
  ASSERT_TRUE(monitor.wait_for_line("config version 3 applied (1 checks: web)", 10s))
      << monitor.log();

  monitor.signal(SIGTERM);
  bool bye = false;
  while (auto message = receive(router, peer, 5s)) {
    if (std::holds_alternative<protocol::Bye>(*message)) {
      bye = true;
      break;
    }
  }
  EXPECT_TRUE(bye) << monitor.log();
  EXPECT_EQ(monitor.wait_exit(10s), 0) << monitor.log();
}

// A fake manager's ROUTER on a loopback port.
struct FakeManagerSocket {
  zmq::context_t context;
  zmq::socket_t router{context, zmq::socket_type::router};
  std::string endpoint;
  std::string peer;
  FakeManagerSocket() {
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:0");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }
  std::optional<protocol::Hello> await_hello() {
    auto message = receive(router, peer);
    if (!message || !std::holds_alternative<protocol::Hello>(*message)) return std::nullopt;
    return std::get<protocol::Hello>(*message);
  }
};

std::string prefill_outbox(const std::filesystem::path& data_dir, int count) {
  std::filesystem::create_directories(data_dir);
  ResultOutbox outbox(data_dir, "edge-1", {.synchronous = sqlite::Synchronous::kNormal});
  std::vector<CheckResult> results(static_cast<std::size_t>(count));
  for (auto& result : results) {
    result.check_id = "web";
    result.type = "tcp";
    result.status = CheckStatus::kUp;
  }
  (void)outbox.append(results, 0);
  return outbox.epoch();
}

TEST(NetmonMonitorProcess, StartsOnANewEpochWhenItsOutboxHeaderIsDamagedInsteadOfExitingEveryTime) {
  testing::TempDir dir("netmon-monitor-process-");
  FakeManagerSocket manager;
  const std::string old_epoch = prefill_outbox(dir / "data", 100);
  {
    std::fstream file(dir / "data" / "outbox.db", std::ios::in | std::ios::out | std::ios::binary);
    file.write("garbage, not a header", 21);
  }
  testing::ChildProcess monitor(
      NETMON_MONITOR_BINARY,
      {"--name", "edge-1", "--data-dir", (dir / "data").string(), "--manager", manager.endpoint,
       "--broker", testing::loopback_endpoint(testing::free_tcp_port()), "--sync", "normal"},
      dir / "monitor.log");
  ASSERT_TRUE(monitor.wait_for_line("ready", 10s)) << monitor.log();
  EXPECT_TRUE(monitor.wait_for_line("outbox was corrupt", 1s)) << monitor.log();
  const auto hello = manager.await_hello();
  ASSERT_TRUE(hello) << monitor.log();
  EXPECT_NE(hello->epoch, old_epoch);
  EXPECT_EQ(hello->last_seq, 0u);
  EXPECT_EQ(monitor.stop(), 0) << monitor.log();
}

TEST(NetmonMonitorProcess, ExitsNonZeroWhenItsAgentThreadDiesInsteadOfLingering) {
  testing::TempDir dir("netmon-monitor-process-");
  FakeManagerSocket manager;
  prefill_outbox(dir / "data", 10);
  testing::ChildProcess monitor(
      NETMON_MONITOR_BINARY,
      {"--name", "edge-1", "--data-dir", (dir / "data").string(), "--manager", manager.endpoint,
       "--broker", testing::loopback_endpoint(testing::free_tcp_port()), "--sync", "normal"},
      dir / "monitor.log");
  ASSERT_TRUE(manager.await_hello()) << monitor.log();
  {
    // Damage the outbox under the running monitor, then make it read.
    sqlite::Database other(dir / "data" / "outbox.db", {});
    other.exec("DROP TABLE records");
  }
  send(manager.router, manager.peer, protocol::Welcome{7, 0, 1000, 3});
  EXPECT_EQ(monitor.wait_exit(10s), 1) << monitor.log();
}

TEST(NetmonMonitorProcess, ExitsOneNamingTheFlagWhenTheDataDirIsUnusable) {
  testing::TempDir dir("netmon-monitor-process-");
  testing::ChildProcess monitor(NETMON_MONITOR_BINARY,
                                {"--name", "edge-1", "--data-dir", "/proc/netmon-not-here"},
                                dir / "monitor.log");
  EXPECT_EQ(monitor.wait_exit(10s), 1);
  EXPECT_NE(monitor.log().find("--data-dir /proc/netmon-not-here"), std::string::npos)
      << monitor.log();
}

TEST(NetmonMonitorProcess, ExitsTwoOnAUsageError) {
  testing::TempDir dir("netmon-monitor-process-");
  testing::ChildProcess monitor(NETMON_MONITOR_BINARY,
                                {"--name", "edge-1", "--data-dir", "d", "--sync", "sometimes"},
                                dir / "monitor.log");
  EXPECT_EQ(monitor.wait_exit(10s), 2);
  EXPECT_NE(monitor.log().find("--sync"), std::string::npos) << monitor.log();
}

}  // namespace
}  // namespace netmon::agent
