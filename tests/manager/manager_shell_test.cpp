// netmon-manager on a real terminal: the console shell runs in the
// foreground by default, log lines appear above the prompt without eating
// the line being typed, `exit` stops the manager cleanly, SIGTERM too.

#include <gtest/gtest.h>
#include <signal.h>

#include "tests/manager/manager_test_support.hpp"
#include "tests/support/pty_session.hpp"

namespace netmon::manager::testing {
namespace {

using netmon::testing::PtySession;

class ManagerShell : public ::testing::Test {
 protected:
  std::vector<std::string> args() const {
    return {"--config",
            setup_.config_file().string(),
            "--data-dir",
            setup_.data_dir().string(),
            "--control",
            "tcp://127.0.0.1:0",
            "--broker-in",
            "tcp://127.0.0.1:0",
            "--broker-out",
            "tcp://127.0.0.1:0",
            "--sync",
            "normal",
            "--status-interval",
            "0"};
  }
  std::vector<std::string> env() const { return {"HOME=" + setup_.dir.path().string()}; }

  ManagerSetup setup_;
};

TEST_F(ManagerShell, OnATerminalTheShellRunsAndExitStopsTheManager) {
  PtySession manager(NETMON_MANAGER_BINARY, args(), env());
  ASSERT_TRUE(manager.wait_for("netmon> ")) << manager.screen();
  auto mark = manager.mark();
  manager.write("monitors\r");
  ASSERT_TRUE(manager.wait_for("NEVER_SEEN", mark)) << manager.screen();
  ASSERT_TRUE(manager.wait_for("netmon> ", mark)) << manager.screen();

  // A log line while a command is half typed: it is printed above the
  // prompt, and the half-typed line is still there to finish.
  mark = manager.mark();
  manager.write("sta");
  ASSERT_TRUE(manager.wait_for("sta", mark)) << manager.screen();
  ::kill(manager.pid(), SIGHUP);  // reload: logs a line
  ASSERT_TRUE(manager.wait_for("config reloaded", mark)) << manager.screen();
  mark = manager.mark();
  manager.write("tus\r");
  ASSERT_TRUE(manager.wait_for("NEVER_SEEN 2", mark)) << manager.screen();

  mark = manager.mark();
  manager.write("exit\r");
  ASSERT_TRUE(manager.wait_for("stopping the manager", mark)) << manager.screen();
  ASSERT_TRUE(manager.wait_for("[manager] stopped", mark)) << manager.screen();
  EXPECT_EQ(manager.wait_exit(), 0);
  EXPECT_TRUE(std::filesystem::exists(setup_.dir / ".netmon_history"));
}

TEST_F(ManagerShell, SigtermStopsTheShellAndTheManager) {
  PtySession manager(NETMON_MANAGER_BINARY, args(), env());
  ASSERT_TRUE(manager.wait_for("netmon> ")) << manager.screen();
  const auto mark = manager.mark();
  ::kill(manager.pid(), SIGTERM);
  ASSERT_TRUE(manager.wait_for("[manager] stopped", mark)) << manager.screen();
  EXPECT_EQ(manager.wait_exit(), 0);
}

TEST_F(ManagerShell, NoShellKeepsTheTerminalForLogsOnly) {
  auto no_shell = args();
  no_shell.push_back("--no-shell");
  PtySession manager(NETMON_MANAGER_BINARY, no_shell, env());
  ASSERT_TRUE(manager.wait_for("[manager] ready")) << manager.screen();
  ::kill(manager.pid(), SIGINT);
  ASSERT_TRUE(manager.wait_for("[manager] stopped")) << manager.screen();
  EXPECT_EQ(manager.screen().find("netmon> "), std::string::npos);
  EXPECT_EQ(manager.wait_exit(), 0);
}

}  // namespace
}  // namespace netmon::manager::testing
