// The shell on a real pseudo-terminal: netmon-ctl (and a driver program
// that runs run_shell with the log sink, as the manager does) against a
// FakeManager, keys typed, the screen awaited.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

json help_data() {
  return {{"commands",
           {{{"name", "status"},
             {"aliases", json::array()},
             {"syntax", "status"},
             {"summary", "the cluster on one screen"}},
            {{"name", "stats"},
             {"aliases", json::array()},
             {"syntax", "stats [MONITOR[/CHECK]]"},
             {"summary", "latency statistics"}}}}};
}

// What the fake completes: the command names, "edge-1/" for a monitor, and
// the http type's parameters – as the manager's `complete` would.
json completion(const std::string& line) {
  const std::string word =
      line.substr(line.rfind(' ') == std::string::npos ? 0 : line.rfind(' ') + 1);
  json candidates = json::array();
  if (line.find(' ') == std::string::npos) {
    for (const char* name : {"help", "status", "stats"})
      if (std::string_view(name).starts_with(word)) candidates.push_back(name);
  } else if (line.starts_with("add edge-1 http ")) {
    for (const char* name : {"url=", "method="})
      if (std::string_view(name).starts_with(word)) candidates.push_back(name);
  } else if (line.starts_with("del ")) {
    // The manager may complete only the part after the '/'.
    const std::string check = word.substr(word.find('/') + 1);
    if (std::string("web-1").starts_with(check)) candidates.push_back("web-1");
    return {{"word", check}, {"candidates", candidates}};
  } else if (line.starts_with("monitor ")) {
    candidates.push_back("edge-1/");
  }
  return {{"word", word}, {"candidates", candidates}};
}

std::vector<std::string> answer(const ctl::Request& r) {
  if (r.command == "help") return {FakeManager::ok(r, "", help_data())};
  if (r.command == "complete") return {FakeManager::ok(r, "", completion(r.args.at(0)))};
  if (r.command == "slow") return {};  // never answers
  if (r.command == "boom")
    return {FakeManager::error(r, "unknown_command", "unknown command 'boom'")};
  return {FakeManager::ok(r, "did " + r.command)};
}

class ConsoleShellTest : public ::testing::Test {
 protected:
  ConsoleShellTest() { std::filesystem::create_directory(home()); }
  std::filesystem::path home() const { return dir_ / "home"; }
  std::vector<std::string> env() const { return {"HOME=" + home().string(), "NO_COLOR="}; }

  // True when the fake got a request with this command and these args.
  bool got(const std::string& command, const std::vector<std::string>& args) {
    return testing::await([&] {
      for (const auto& r : manager_.requests())
        if (r.command == command && r.args == args) return true;
      return false;
    });
  }

  testing::TempDir dir_;
  FakeManager manager_{"ipc://" + (dir_ / "ctl.sock").string(), answer};
};

TEST_F(ConsoleShellTest, PromptsRunsCommandsCompletesAndKeepsHistory) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();

  auto mark = shell.mark();
  shell.write("help\r");
  ASSERT_TRUE(shell.wait_for("the cluster on one screen", mark)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", mark)) << shell.screen();

  // TAB asks the manager and puts in the only candidate, with a space.
  mark = shell.mark();
  shell.write("he\t");
  ASSERT_TRUE(got("complete", {"he"})) << shell.screen();
  // Typed on once the completion is drawn (a key typed while the shell waits
  // for the manager's candidates may come after them: see the closing note).
  ASSERT_TRUE(shell.wait_for("help", mark)) << shell.screen();
  mark = shell.mark();
  shell.write("x\r");  // "help x": the completion ended the word
  ASSERT_TRUE(got("help", {"x"})) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", mark)) << shell.screen();

  shell.write("exit\r");
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();

  std::ifstream history(home() / ".netmon_history");
  std::stringstream text;
  text << history.rdbuf();
  EXPECT_NE(text.str().find("help"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("exit"), std::string::npos) << text.str();
}

TEST_F(ConsoleShellTest, HistoryComesBackInTheNextSession) {
  {
    PtySession first(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
    ASSERT_TRUE(first.wait_for("netmon> ")) << first.screen();
    first.write("checks edge-7\r");
    ASSERT_TRUE(got("checks", {"edge-7"})) << first.screen();
    first.write("exit\r");
    ASSERT_EQ(first.wait_exit(), 0) << first.screen();
  }
  PtySession second(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(second.wait_for("netmon> ")) << second.screen();
  second.write("\x1b[A\x1b[A\r");  // Up, Up (past "exit"), Enter
  ASSERT_TRUE(testing::await([&] {
    std::size_t count = 0;
    for (const auto& r : manager_.requests())
      count += r.command == "checks" ? 1 : 0;
    return count == 2;
  })) << second.screen();
}

TEST_F(ConsoleShellTest, CompletesParameterNamesAndMonitorsWithoutASpace) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  auto mark = shell.mark();
  shell.write("add edge-1 http u\t");
  ASSERT_TRUE(got("complete", {"add edge-1 http u"})) << shell.screen();
  ASSERT_TRUE(shell.wait_for("url=", mark)) << shell.screen();
  shell.write("http://x/\r");
  ASSERT_TRUE(got("add", {"edge-1", "http", "url=http://x/"})) << shell.screen();

  mark = shell.mark();
  shell.write("monitor e\t");
  ASSERT_TRUE(got("complete", {"monitor e"})) << shell.screen();
  ASSERT_TRUE(shell.wait_for("edge-1/", mark)) << shell.screen();
  shell.write("web\r");
  ASSERT_TRUE(got("monitor", {"edge-1/web"})) << shell.screen();
}

TEST_F(ConsoleShellTest, CompletesTheManagersShorterWordAfterASlash) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  const auto mark = shell.mark();
  shell.write("del edge-1/w\t");
  ASSERT_TRUE(got("complete", {"del edge-1/w"})) << shell.screen();
  ASSERT_TRUE(shell.wait_for("web-1", mark)) << shell.screen();
  shell.write("\r");
  ASSERT_TRUE(got("del", {"edge-1/web-1"})) << shell.screen();
}

TEST_F(ConsoleShellTest, ListsTheCandidatesWhenAmbiguous) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  const auto mark = shell.mark();
  shell.write("st\t\t");
  ASSERT_TRUE(shell.wait_for("stats", mark)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("status", mark)) << shell.screen();
}

TEST_F(ConsoleShellTest, CtrlCDropsTheLineAndCtrlDLeaves) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  auto mark = shell.mark();
  shell.write("garbage");
  ASSERT_TRUE(shell.wait_for("garbage", mark)) << shell.screen();
  mark = shell.mark();
  shell.write("\x03");
  ASSERT_TRUE(shell.wait_for("netmon> ", mark)) << shell.screen();
  mark = shell.mark();
  shell.write("reload\r");
  ASSERT_TRUE(got("reload", {})) << shell.screen();
  for (const auto& r : manager_.requests())
    EXPECT_NE(r.command, "garbagereload");
  // Ctrl+D once the prompt is back (typed while a command runs, the
  // terminal's own EOF handling would take it).
  ASSERT_TRUE(shell.wait_for("did reload", mark)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", shell.screen().find("did reload", mark)))
      << shell.screen();
  shell.write("\x04");
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
}

TEST_F(ConsoleShellTest, CtrlCStopsWaitingForAReply) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  const auto mark = shell.mark();
  shell.write("slow\r");
  ASSERT_TRUE(got("slow", {})) << shell.screen();
  shell.write("\x03");
  ASSERT_TRUE(shell.wait_for("interrupted", mark)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", shell.screen().find("interrupted", mark)))
      << shell.screen();
  shell.write("reload\r");
  ASSERT_TRUE(got("reload", {})) << shell.screen();
}

TEST_F(ConsoleShellTest, ErrorRepliesPrintTheirMessageWithoutTheProgramName) {
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir_.path().string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  const auto mark = shell.mark();
  shell.write("boom\r");
  ASSERT_TRUE(shell.wait_for("unknown command 'boom'", mark)) << shell.screen();
  EXPECT_EQ(shell.screen().find("netmon-ctl: unknown"), std::string::npos) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", mark)) << shell.screen();
  shell.write("quit\r");
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
}

TEST_F(ConsoleShellTest, LogLinesPrintAboveThePromptAndKeepTheLineBeingTyped) {
  PtySession shell(NETMON_SHELL_DRIVER_BINARY, {"ipc://" + (dir_ / "ctl.sock").string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  auto mark = shell.mark();
  shell.write("rel");
  ASSERT_TRUE(shell.wait_for("rel", mark)) << shell.screen();
  mark = shell.mark();
  ::kill(shell.pid(), SIGUSR1);  // the driver logs one line
  ASSERT_TRUE(shell.wait_for("a log line from another thread", mark)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> rel", mark)) << shell.screen();
  shell.write("oad\r");
  ASSERT_TRUE(got("reload", {})) << shell.screen();
  mark = shell.mark();
  shell.write("exit\r");
  ASSERT_TRUE(shell.wait_for("stopping the manager", mark)) << shell.screen();
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
}

TEST_F(ConsoleShellTest, ShellStopEndsTheShellFromAnotherThread) {
  PtySession shell(NETMON_SHELL_DRIVER_BINARY, {"ipc://" + (dir_ / "ctl.sock").string()}, env());
  ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
  shell.write("half a line");
  ASSERT_TRUE(shell.wait_for("half a line")) << shell.screen();
  ::kill(shell.pid(), SIGTERM);  // the driver's signal thread calls ShellStop::request
  EXPECT_EQ(shell.wait_exit(), 0) << shell.screen();
  EXPECT_EQ(shell.screen().find("stopping the manager"), std::string::npos) << shell.screen();
}

}  // namespace
}  // namespace netmon::console
