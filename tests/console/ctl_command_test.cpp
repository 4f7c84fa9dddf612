#include "manager/console/ctl_command.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "manager/console/console_shell.hpp"
#include "tests/console/fake_manager.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::console {
namespace {

using nlohmann::json;
using testing::FakeManager;
namespace ctl = protocol::ctl;

class CtlCommandTest : public ::testing::Test {
 protected:
  std::string socket_endpoint() const { return "ipc://" + (dir_ / "ctl.sock").string(); }

  testing::CommandRun ctl(const std::vector<std::string>& args) {
    return testing::run_command(ctl_main, "netmon-ctl", args);
  }
  testing::CommandRun ctl_at(const FakeManager& manager, std::vector<std::string> args) {
    args.insert(args.begin(), {"--ctl", manager.endpoint(), "--timeout", "5s"});
    return ctl(args);
  }

  testing::TempDir dir_;
};

json status_data() {
  return {{"manager",
           {{"config_file", "/etc/netmon.yaml"},
            {"data_dir", "/var/lib/netmon"},
            {"uptime_ms", 7'500'000},
            {"ingest_per_s", 12.5},
            {"stored", 1234},
            {"store_bytes", 2'097'152}}},
          {"endpoints",
           {{"control", "tcp://127.0.0.1:5555"},
            {"broker_in", "tcp://127.0.0.1:5556"},
            {"broker_out", "tcp://127.0.0.1:5557"},
            {"ctl", "ipc:///var/lib/netmon/ctl.sock"}}},
          {"monitors",
           {{"CONNECTED", 1}, {"RECONNECTING", 0}, {"LOST", 1}, {"STOPPED", 0}, {"NEVER_SEEN", 0}}},
          {"checks", {{"UP", 3}, {"DOWN", 1}, {"UNKNOWN", 0}, {"STALE", 0}}},
          {"down",
           {{{"monitor", "edge-1"},
             {"check", "web-2"},
             {"reason", "connect_refused"},
             {"since", "2026-12-04T21:00:00.123Z"}}}}};
}

TEST_F(CtlCommandTest, SendsTheFirstWordAsCommandAndTheRestAsArgsAsGiven) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{FakeManager::ok(r, "", {{"events", json::array()}})};
  });
  const auto run = ctl_at(manager, {"events", "--since", "1h", "edge-1/web 2"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(manager.requests().size(), 1u);
  EXPECT_EQ(manager.requests()[0].command, "events");
  EXPECT_EQ(manager.requests()[0].args,
            (std::vector<std::string>{"--since", "1h", "edge-1/web 2"}));
  EXPECT_EQ(run.out, "no events\n");
}

TEST_F(CtlCommandTest, RendersStatusAsATable) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{FakeManager::ok(r, "", status_data())};
  });
  const auto run = ctl_at(manager, {"status"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("CONNECTED 1  RECONNECTING 0  LOST 1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("edge-1/web-2  connect_refused"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos) << "no colour off a terminal";
}

TEST_F(CtlCommandTest, JsonPrintsTheReplyDataAsOneDocument) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{FakeManager::ok(r, "", status_data())};
  });
  const auto run = ctl_at(manager, {"--json", "status"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(json::parse(run.out), status_data());
}

TEST_F(CtlCommandTest, ChangeCommandsPrintTheMessage) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{
        FakeManager::ok(r, "added edge-1/web-2 (config v8; edge-1 acknowledged in 14 ms)",
                        {{"monitor", "edge-1"},
                         {"check", "web-2"},
                         {"config_version", 8},
                         {"delivery", "acknowledged"},
                         {"ack_ms", 14}})};
  });
  const auto run = ctl_at(manager, {"add", "edge-1", "http", "url=http://x/"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "added edge-1/web-2 (config v8; edge-1 acknowledged in 14 ms)\n");
}

TEST_F(CtlCommandTest, AnErrorReplyExits1WithItsMessage) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{
        FakeManager::error(r, "unknown_monitor", "unknown monitor 'edge-9' (monitors: edge-1)")};
  });
  const auto run = ctl_at(manager, {"monitor", "edge-9"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "netmon-ctl: unknown monitor 'edge-9' (monitors: edge-1)\n");
  EXPECT_EQ(run.out, "");

  const auto json_run = ctl_at(manager, {"--json", "monitor", "edge-9"});
  EXPECT_EQ(json_run.exit_code, 1);
  EXPECT_EQ(json::parse(json_run.out),
            (json{{"error",
                   {{"code", "unknown_monitor"},
                    {"message", "unknown monitor 'edge-9' (monitors: edge-1)"}}}}));
}

TEST_F(CtlCommandTest, UsageAndUnknownCommandRepliesExit2) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{r.command == "frob"
                           ? FakeManager::error(r, "unknown_command", "unknown command 'frob'")
                           : FakeManager::error(r, "usage", "usage: del MONITOR/CHECK")};
  });
  EXPECT_EQ(ctl_at(manager, {"frob"}).exit_code, 2);
  EXPECT_EQ(ctl_at(manager, {"del"}).exit_code, 2);
}

TEST_F(CtlCommandTest, NoSocketFileExits3NamingTheEndpointAndTheFlag) {
  const auto run = ctl({"--data-dir", dir_.path().string(), "status"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("netmon-ctl: no manager answers at " + socket_endpoint()),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("--data-dir " + dir_.path().string()), std::string::npos) << run.err;

  const auto json_run = ctl({"--json", "--data-dir", dir_.path().string(), "status"});
  EXPECT_EQ(json_run.exit_code, 3);
  EXPECT_EQ(json::parse(json_run.out)["error"]["code"], "no_manager") << json_run.out;
}

TEST_F(CtlCommandTest, AStaleSocketFileExits3AtOnce) {
  // A manager killed with SIGKILL leaves its socket file: bound, never listening again.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = (dir_ / "ctl.sock").string();
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  const auto run = ctl({"--data-dir", dir_.path().string(), "--timeout", "20s", "status"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("nothing listens on " + path), std::string::npos) << run.err;
}

TEST_F(CtlCommandTest, ASilentManagerExits3AfterTheTimeout) {
  FakeManager manager(socket_endpoint(),
                      [](const ctl::Request&) { return std::vector<std::string>{}; });
  const auto run = ctl({"--ctl", manager.endpoint(), "--timeout", "200ms", "status"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(
      run.err.find("no manager answers at " + manager.endpoint() + " (no reply within 200 ms"),
      std::string::npos)
      << run.err;
}

TEST_F(CtlCommandTest, AMalformedReplyExits1) {
  FakeManager manager(socket_endpoint(),
                      [](const ctl::Request&) { return std::vector<std::string>{"\x93garbage"}; });
  const auto run = ctl_at(manager, {"status"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("sent a malformed reply"), std::string::npos) << run.err;
}

TEST_F(CtlCommandTest, ReplyDataThatIsNotJsonExits1) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{ctl::encode_reply(ctl::Reply{r.id, true, "", "", "{not json"})};
  });
  const auto run = ctl_at(manager, {"status"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("data is not JSON"), std::string::npos) << run.err;
}

TEST_F(CtlCommandTest, AnOversizedReplyIsRefused) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{
        ctl::encode_reply(ctl::Reply{r.id, true, "", "", std::string(ctl::kMaxReplyBytes, ' ')})};
  });
  const auto run = ctl_at(manager, {"status"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("over the limit of " + std::to_string(ctl::kMaxReplyBytes)),
            std::string::npos)
      << run.err;
}

TEST_F(CtlCommandTest, SkipsARepliesToOtherRequests) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    ctl::Request stale = r;
    stale.id = r.id + 100;
    return std::vector{FakeManager::ok(stale, "stale"), FakeManager::ok(r, "fresh")};
  });
  const auto run = ctl_at(manager, {"reload"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "fresh\n");
}

TEST_F(CtlCommandTest, UnknownDataShapesPrintMessageAndPrettyJson) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    return std::vector{FakeManager::ok(r, "something new", {{"novel", 1}})};
  });
  const auto run = ctl_at(manager, {"novel"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "something new\n{\n  \"novel\": 1\n}\n");
}

TEST_F(CtlCommandTest, OwnUsageErrorsExit2NamingTheFlag) {
  const auto none = ctl({"status"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("--data-dir DIR"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("Run 'netmon-ctl --help' for usage."), std::string::npos);

  const auto both = ctl({"--data-dir", "/x", "--ctl", "ipc:///x", "status"});
  EXPECT_EQ(both.exit_code, 2);

  const auto timeout = ctl({"--ctl", socket_endpoint(), "--timeout", "soon", "status"});
  EXPECT_EQ(timeout.exit_code, 2);
  EXPECT_NE(timeout.err.find("--timeout soon"), std::string::npos) << timeout.err;

  EXPECT_EQ(ctl({"--help"}).exit_code, 0);
}

TEST_F(CtlCommandTest, ABadTailLineIsAUsageError) {
  const auto run = ctl({"--ctl", socket_endpoint(), "tail", "--status", "sideways"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--status takes up, down, timeout or error"), std::string::npos)
      << run.err;
}

TEST_F(CtlCommandTest, AScriptRunsEachLineUntilExit) {
  FakeManager manager(socket_endpoint(), [](const ctl::Request& r) {
    if (r.command == "del")
      return std::vector{FakeManager::error(r, "unknown_check", "no check e/x")};
    return std::vector{FakeManager::ok(r, "did " + r.command)};
  });
  ShellOptions options;
  options.endpoint = manager.endpoint();
  std::istringstream in("reload\n\ndel e/x\nset 'e/w' \"a=b c\"\nexit\nreload\n");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_script(options, in, out, err), 1);
  EXPECT_EQ(out.str(), "did reload\ndid set\n");
  EXPECT_EQ(err.str(), "netmon-ctl: no check e/x\n");
  const auto requests = manager.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].args, (std::vector<std::string>{"e/w", "a=b c"}));
}

}  // namespace
}  // namespace netmon::console
