// tail: netmon-ctl subscribes to the broker out endpoint the manager's
// status names, prints results until Ctrl+C, then exits 0 (one-shot) or
// returns to the prompt (shell). On a pty, so Ctrl+C is the terminal's SIGINT.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/protocol/codec.hpp"
#include "tests/console/fake_manager.hpp"
#include "tests/support/await.hpp"
#include "tests/support/pty_session.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::console {
namespace {

using nlohmann::json;
using testing::FakeManager;
using testing::PtySession;
namespace ctl = protocol::ctl;

class ConsoleTailTest : public ::testing::Test {
 protected:
  ConsoleTailTest() {
    publisher_.set(zmq::sockopt::linger, 0);
    publisher_.bind(bus_endpoint_);
  }

  // Publishes a result of each (monitor, check), in order, round after
  // round until `shell` shows `text` after `from` (a SUB that joined late
  // misses what came before it).
  bool publish_until_shown(PtySession& shell,
                           const std::vector<std::pair<std::string, std::string>>& checks,
                           const std::string& text, std::size_t from) {
    CheckResult result;
    result.type = "tcp";
    result.target = "example.com:443";
    result.status = CheckStatus::kUp;
    result.latency = std::chrono::microseconds{1500};
    std::uint64_t seq = 0;
    return testing::await([&] {
      for (const auto& [monitor, check] : checks) {
        result.check_id = check;
        result.timestamp = std::chrono::system_clock::now();
        const protocol::Record record{{monitor, 1, "e1", ++seq}, result};
        publisher_.send(zmq::buffer(protocol::record_topic(record)), zmq::send_flags::sndmore);
        publisher_.send(zmq::buffer(protocol::encode_record(record)), zmq::send_flags::none);
      }
      return shell.wait_for(text, from, std::chrono::milliseconds{20});
    });
  }

  testing::TempDir dir_;
  std::string bus_endpoint_ = "ipc://" + (dir_ / "out.sock").string();
  zmq::context_t context_;
  zmq::socket_t publisher_{context_, zmq::socket_type::pub};
  FakeManager manager_{
      "ipc://" + (dir_ / "ctl.sock").string(), [this](const ctl::Request& r) {
        return std::vector{FakeManager::ok(
            r, "", {{"manager", json::object()}, {"endpoints", {{"broker_out", bus_endpoint_}}}})};
      }};
};

TEST_F(ConsoleTailTest, OneShotPrintsResultsUntilCtrlCThenExits0) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string(), "tail", "edge-1"},
                   {"NO_COLOR=1"});
  ASSERT_TRUE(shell.wait_for("Ctrl+C stops")) << shell.screen();
  ASSERT_TRUE(publish_until_shown(shell, {{"edge-1", "web-1"}}, "web-1", shell.mark()))
      << shell.screen();
  shell.write("\x03");
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
}

TEST_F(ConsoleTailTest, OnlyTheMonitorAskedForIsShown) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string(), "tail", "edge-2/db-1"},
                   {"NO_COLOR=1"});
  ASSERT_TRUE(shell.wait_for("Ctrl+C stops")) << shell.screen();
  const auto mark = shell.mark();
  // edge-1's result goes first in every round: had it got through, it
  // would be on screen before db-1's.
  ASSERT_TRUE(publish_until_shown(shell, {{"edge-1", "web-1"}, {"edge-2", "db-1"}}, "db-1", mark))
      << shell.screen();
  EXPECT_EQ(shell.screen().find("web-1", mark), std::string::npos) << shell.screen();
}

TEST_F(ConsoleTailTest, CtrlCInTheShellReturnsToThePrompt) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()},
                   {"HOME=" + dir_.path().string(), "NO_COLOR=1"});
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  auto mark = shell.mark();
  shell.write("tail\r");
  ASSERT_TRUE(shell.wait_for("Ctrl+C stops", mark)) << shell.screen();
  ASSERT_TRUE(publish_until_shown(shell, {{"edge-1", "web-1"}}, "web-1", shell.mark()))
      << shell.screen();
  mark = shell.mark();
  shell.write("\x03");
  ASSERT_TRUE(shell.wait_for("netmon> ", mark)) << shell.screen();
  shell.write("exit\r");
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
}

}  // namespace
}  // namespace netmon::console
