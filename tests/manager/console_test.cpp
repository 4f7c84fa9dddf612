// The manager's console over its real ctl socket (ipc:// in a temp dir): every
// command's reply document, every error path, changes that are delivered,
// acknowledged and written to the config file, and status that tells the
// truth (RECONNECTING, STALE) across a restart.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/protocol/ctl_codec.hpp"
#include "manager/manager_config.hpp"
#include "tests/manager/ctl_test_client.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager::testing {
namespace {

namespace ctl = protocol::ctl;
using json = nlohmann::json;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json data_of(const ctl::Reply& reply) {
  EXPECT_TRUE(reply.ok) << reply.code << ": " << reply.message;
  if (reply.data.empty()) return json();
  return json::parse(reply.data);
}

class ConsoleTest : public ::testing::Test {
 protected:
  // A restart in the same context binds endpoints of its own: an inproc name
  // is free again only once the closed socket is reaped, asynchronously.
  std::unique_ptr<Manager> restart() {
    setup_.control = unique_endpoint("control-again");
    setup_.broker_in = unique_endpoint("broker-in-again");
    setup_.broker_out = unique_endpoint("broker-out-again");
    return start();
  }

  std::unique_ptr<Manager> start() {
    // A 1 s heartbeat: the fake monitors send none, and a monitor silent for
    // 3 heartbeats is LOST (its checks STALE) – not within a busy test run.
    ManagerOptions options = setup_.options(1s);
    options.ctl = ctl_endpoint();
    auto manager = std::make_unique<Manager>(context_, options);
    manager->start();
    return manager;
  }
  std::string ctl_endpoint() const { return ctl::default_ctl_endpoint(setup_.data_dir()); }

  // Connects `monitor`, answers its CONFIG with a matching CONFIG_ACK.
  void connect_and_ack(FakeMonitor& monitor) {
    ASSERT_TRUE(monitor.connect());
    ack_next_config(monitor);
  }
  std::uint64_t ack_next_config(FakeMonitor& monitor) {
    const auto config = monitor.await_message<protocol::Config>();
    EXPECT_TRUE(config) << "no CONFIG";
    if (!config) return 0;
    std::map<std::string, std::string> digests;
    for (const auto& check : config->checks)
      digests[check.id] = protocol::check_digest(check);
    monitor.send(protocol::ConfigAck{config->version, digests, ""});
    return config->version;
  }

  ManagerSetup setup_;
  zmq::context_t context_;
};

TEST_F(ConsoleTest, TheSocketIsInTheDataDirForTheManagersUserAndGroupOnly) {
  auto manager = start();
  EXPECT_EQ(manager->ctl_endpoint(), ctl_endpoint());
  const auto socket = setup_.data_dir() / "ctl.sock";
  const auto permissions = std::filesystem::status(socket).permissions();
  EXPECT_EQ(permissions & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::group_write);
}

TEST_F(ConsoleTest, StatusMonitorsAndChecksDescribeWhatRuns) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  connect_and_ack(monitor);
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1, "port-9")));
  CtlClient client(context_, manager->ctl_endpoint());

  const json status = data_of(client.call("status"));
  EXPECT_EQ(status["monitors"]["CONNECTED"], 1);
  EXPECT_EQ(status["monitors"]["NEVER_SEEN"], 1);  // edge-2
  EXPECT_EQ(status["checks"]["UP"], 1);
  EXPECT_EQ(status["checks"]["UNKNOWN"], 2);
  EXPECT_EQ(status["endpoints"]["ctl"], ctl_endpoint());
  EXPECT_GE(status["manager"]["stored"].get<int>(), 1);
  EXPECT_GT(status["manager"]["store_bytes"].get<std::uint64_t>(), 0U);

  const json monitors = data_of(client.call("monitors"));
  ASSERT_EQ(monitors["monitors"].size(), 2U);
  const json& edge1 = monitors["monitors"][0];
  EXPECT_EQ(edge1["name"], "edge-1");
  EXPECT_EQ(edge1["state"], "CONNECTED");
  EXPECT_EQ(edge1["acked_config_version"], 1);
  EXPECT_EQ(edge1["checks"], 2);
  EXPECT_GE(edge1["results_stored"].get<int>(), 1);
  EXPECT_TRUE(edge1["since"].is_string());
  EXPECT_TRUE(edge1["last_heard"].is_string());
  EXPECT_EQ(monitors["monitors"][1]["state"], "NEVER_SEEN");
  // The seed's name for it.
  EXPECT_EQ(data_of(client.call("list_all_queues")), monitors);

  const json checks = data_of(client.call("checks", {"edge-1"}));
  ASSERT_EQ(checks["checks"].size(), 2U);
  const json& port9 = checks["checks"][0];
  EXPECT_EQ(port9["id"], "port-9");
  EXPECT_EQ(port9["type"], "tcp");
  EXPECT_EQ(port9["interval_ms"], 10'000);
  EXPECT_EQ(port9["timeout_ms"], 1'000);
  EXPECT_EQ(port9["params"]["host"], "127.0.0.1");
  EXPECT_EQ(port9["state"], "UP");
  EXPECT_EQ(port9["last_status"], "up");
  EXPECT_TRUE(port9["last_result"].is_string());
  EXPECT_EQ(checks["checks"][1]["state"], "UNKNOWN");
  EXPECT_EQ(data_of(client.call("viewconf", {"edge-1"})), checks);

  const json one = data_of(client.call("monitor", {"edge-1"}));
  EXPECT_EQ(one["monitor"]["name"], "edge-1");
  EXPECT_EQ(one["checks"].size(), 2U);
}

TEST_F(ConsoleTest, EveryErrorNamesWhatIsWrongAndTheFix) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  auto expect_error = [&](const std::string& command, std::vector<std::string> args,
                          const std::string& code, const std::string& text) {
    const ctl::Reply reply = client.call(command, args);
    EXPECT_FALSE(reply.ok) << command;
    EXPECT_EQ(reply.code, code) << command << ": " << reply.message;
    EXPECT_NE(reply.message.find(text), std::string::npos) << command << ": " << reply.message;
  };
  expect_error("frobnicate", {}, "unknown_command", "type `help`");
  expect_error("monitor", {"edge-9"}, "unknown_monitor", "edge-9");
  expect_error("checks", {"edge-9"}, "unknown_monitor", "edge-9");
  expect_error("del", {"edge-1/nope"}, "unknown_check", "nope");
  expect_error("add", {"edge-9", "tcp", "host=127.0.0.1", "port=7"}, "unknown_monitor",
               "monitor-add");
  // The config file's own words for the same mistake.
  expect_error("add", {"edge-1", "tcp", "host=127.0.0.1", "port=99999"}, "invalid_param", "port");
  expect_error("add", {"edge-1"}, "usage", "usage: add MONITOR TYPE");
  expect_error("events", {"--since", "yesterday"}, "usage", "--since");
  expect_error("tail", {}, "usage", "netmon-ctl itself");
  expect_error("export", {"relative.jsonl"}, "usage", "absolute");
  expect_error("export", {"/tmp/x.jsonl", "--format", "xml"}, "usage", "--format");
  expect_error("help", {"frobnicate"}, "unknown_command", "frobnicate");
  EXPECT_TRUE(manager->running());
}

TEST_F(ConsoleTest, MalformedRequestsAreAnsweredAndCountedAndTheLoopGoesOn) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  client.send_raw("\xc1 not msgpack");
  const ctl::Reply garbage = client.await_reply(0);
  EXPECT_EQ(garbage.code, "bad_request");
  client.send_raw(std::string(ctl::kMaxRequestBytes + 1, 'x'));
  EXPECT_EQ(client.await_reply(0).code, "bad_request");
  EXPECT_EQ(manager->stats().ctl_bad_requests, 2U);
  EXPECT_TRUE(client.call("status").ok);
}

TEST_F(ConsoleTest, AnAddIsWrittenToTheFileDeliveredAndAcknowledged) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  connect_and_ack(monitor);
  CtlClient client(context_, manager->ctl_endpoint());
  const auto before = read_file(setup_.config_file());

  const std::uint64_t id = 77;
  client.send_raw(ctl::encode_request(
      ctl::Request{id, "add", {"edge-1", "tcp_echo", "host=127.0.0.1", "port=7"}}));
  EXPECT_EQ(ack_next_config(monitor), 2U);
  const ctl::Reply reply = client.await_reply(id);
  ASSERT_TRUE(reply.ok) << reply.message;
  EXPECT_NE(reply.message.find("added edge-1/tcp_echo-1 (config v2; edge-1 acknowledged in"),
            std::string::npos)
      << reply.message;
  const json data = json::parse(reply.data);
  EXPECT_EQ(data["delivery"], "acknowledged");
  EXPECT_EQ(data["config_version"], 2);

  // The file is the source of truth a restart reads.
  EXPECT_EQ(read_file(setup_.config_file().string() + ".bak"), before);
  auto reread = load_manager_config(setup_.config_file());
  ASSERT_TRUE(reread) << reread.error().message;
  ASSERT_EQ(reread->monitors.at("edge-1").size(), 3U);
  EXPECT_EQ(reread->monitors.at("edge-1")[2].id, "tcp_echo-1");

  const ctl::Reply removed = client.call("delconf", {"edge-1", "tcp_echo-1"});
  // edge-1 neither acknowledges nor heartbeats now: the reply waits until it
  // is LOST, then says when it gets the change.
  ASSERT_TRUE(removed.ok) << removed.message;
  EXPECT_NE(removed.message.find("(config v3; edge-1 is LOST: it gets v3 when it reconnects)"),
            std::string::npos)
      << removed.message;
  EXPECT_EQ(load_manager_config(setup_.config_file())->monitors.at("edge-1").size(), 2U);
}

TEST_F(ConsoleTest, AChangeForAMonitorThatIsNotConnectedSaysWhenItGetsIt) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  const ctl::Reply reply = client.call("addconf", {"edge-2", "tcp", "127.0.0.1", "7", "5"});
  ASSERT_TRUE(reply.ok) << reply.message;
  EXPECT_NE(reply.message.find("(config v2; edge-2 is NEVER_SEEN: it gets v2 when it reconnects)"),
            std::string::npos)
      << reply.message;
  const json checks = data_of(client.call("checks", {"edge-2"}));
  ASSERT_EQ(checks["checks"].size(), 2U);
  EXPECT_EQ(checks["checks"][1]["interval_ms"], 5'000);
  EXPECT_EQ(checks["checks"][1]["params"]["port"], "7");
}

TEST_F(ConsoleTest, AFileEditedOnDiskIsNotOverwrittenAndReloadSaysWhatChanged) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  std::string text = kConfigText;
  text += "      - {id: port-11, type: tcp, host: 127.0.0.1, port: 11}\n";
  write_file(setup_.config_file(), text);

  const ctl::Reply refused = client.call("del", {"edge-1/port-9"});
  EXPECT_EQ(refused.code, "config_changed_on_disk") << refused.message;
  EXPECT_NE(refused.message.find("reload"), std::string::npos);
  EXPECT_EQ(read_file(setup_.config_file()), text);

  const ctl::Reply reloaded = client.call("reload");
  ASSERT_TRUE(reloaded.ok) << reloaded.message;
  EXPECT_NE(reloaded.message.find("edge-2: +port-11"), std::string::npos) << reloaded.message;
  EXPECT_TRUE(client.call("del", {"edge-1/port-9"}).ok);
}

TEST_F(ConsoleTest, ChecksOfAMonitorThatWentAwayAreStaleNotUp) {
  auto manager = start();
  {
    FakeMonitor monitor(context_, *manager, "edge-1");
    connect_and_ack(monitor);
    ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1, "port-9")));
    monitor.send(protocol::Bye{});
    ASSERT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "STOPPED"; }));
  }
  CtlClient client(context_, manager->ctl_endpoint());
  const json checks = data_of(client.call("checks", {"edge-1"}));
  EXPECT_EQ(checks["checks"][0]["state"], "STALE");
  EXPECT_EQ(checks["checks"][0]["last_state"], "UP");
  EXPECT_EQ(checks["checks"][0]["stale"], true);
}

TEST_F(ConsoleTest, ARestartedManagerKnowsItsMonitorsAndTheirChecksStates) {
  {
    auto manager = start();
    FakeMonitor monitor(context_, *manager, "edge-1");
    connect_and_ack(monitor);
    ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1, "port-9")));
    ASSERT_TRUE(monitor.publish_until_acked(
        monitor.result(2, "port-10", netmon::CheckStatus::kDown)));  // retries 1: DOWN
    ASSERT_EQ(check_state(*manager, "edge-1", "port-10"), "DOWN");
  }
  auto manager = restart();
  CtlClient client(context_, manager->ctl_endpoint());
  const json monitors = data_of(client.call("monitors"));
  EXPECT_EQ(monitors["monitors"][0]["state"], "RECONNECTING");
  EXPECT_EQ(monitors["monitors"][1]["state"], "NEVER_SEEN");
  const json checks = data_of(client.call("checks", {"edge-1"}));
  EXPECT_EQ(checks["checks"][0]["last_state"], "UP");
  EXPECT_EQ(checks["checks"][1]["last_state"], "DOWN");
  EXPECT_EQ(checks["checks"][1]["state"], "STALE");  // nobody confirmed it since the restart
}

TEST_F(ConsoleTest, ASecondManagerOnTheSameDataDirIsRefusedNamingTheFirst) {
  auto manager = start();
  ManagerOptions options = setup_.options();
  options.control = unique_endpoint("control-2");
  try {
    Manager second(context_, options);
    FAIL() << "two managers on one data dir";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another netmon-manager (PID " +
                                         std::to_string(::getpid()) + ")"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ConsoleTest, CompletionOffersCommandsMonitorsChecksTypesAndParameters) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  auto candidates = [&](const std::string& line) {
    return data_of(client.call("complete", {line}))["candidates"].get<std::vector<std::string>>();
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(candidates("sta"), (V{"stats", "status"}));
  EXPECT_EQ(candidates("monitor e"), (V{"edge-1", "edge-2"}));
  EXPECT_EQ(candidates("del edge-1"), (V{"edge-1/"}));
  EXPECT_EQ(candidates("del edge-1/p"), (V{"edge-1/port-10", "edge-1/port-9"}));
  EXPECT_EQ(candidates("delconf edge-2 "), (V{"port-9"}));
  EXPECT_EQ(candidates("add edge-1 tcp_e"), (V{"tcp_echo"}));
  EXPECT_EQ(candidates("add edge-1 http u"), (V{"url="}));
  EXPECT_EQ(candidates("set edge-1/port-9 ho"), (V{"host="}));
  EXPECT_EQ(candidates("add edge-1 tcp host=127.0.0.1 ho"), V{});  // given already
  EXPECT_EQ(candidates("stats --s"), (V{"--since"}));
  EXPECT_EQ(candidates("export /tmp/x --format j"), (V{"json", "jsonl"}));
  EXPECT_EQ(data_of(client.call("complete", {"add edge-1 http u"}))["word"], "u");
}

TEST_F(ConsoleTest, EventsStatsAndExportAreReadFromTheStore) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  connect_and_ack(monitor);
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1, "port-9")));
  ASSERT_TRUE(
      monitor.publish_until_acked(monitor.result(2, "port-10", netmon::CheckStatus::kDown)));
  CtlClient client(context_, manager->ctl_endpoint());

  const json events = data_of(client.call("events", {"edge-1/port-10"}));
  ASSERT_FALSE(events["events"].empty());
  EXPECT_EQ(events["events"].back()["to"], "DOWN");

  const json stats = data_of(client.call("stats", {"edge-1", "--since", "1h"}));
  ASSERT_EQ(stats["stats"].size(), 2U);
  EXPECT_EQ(stats["stats"][0]["check"], "port-10");
  EXPECT_EQ(stats["stats"][0]["results"], 1);
  EXPECT_EQ(stats["stats"][0]["successes"], 0);
  EXPECT_EQ(stats["stats"][0]["down_episodes"], 1);
  EXPECT_EQ(stats["stats"][1]["success_pct"], 100.0);

  const auto file = setup_.dir / "export.jsonl";
  const ctl::Reply exported =
      client.call("export", {file.string(), "--monitor", "edge-1", "--check", "port-9"});
  ASSERT_TRUE(exported.ok) << exported.message;
  EXPECT_EQ(json::parse(exported.data)["records"], 1);
  std::ifstream lines(file);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(json::parse(line)["monitor"], "edge-1");
    ++count;
  }
  EXPECT_EQ(count, 1);
}

TEST_F(ConsoleTest, HelpListsEveryCommandAndEachTypesParameters) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  const json help = data_of(client.call("help"));
  std::vector<std::string> names;
  for (const auto& command : help["commands"])
    names.push_back(command["name"]);
  for (const char* name : {"help", "status", "monitors", "monitor", "checks", "add", "addconf",
                           "set", "del", "delconf", "monitor-add", "monitor-del", "events", "tail",
                           "stats", "export", "reload", "exit"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_EQ(std::find(names.begin(), names.end(), "complete"), names.end());
  const json add = data_of(client.call("help", {"add"}));
  bool http_has_url = false;
  for (const auto& type : add["types"]) {
    if (type["type"] != "http") continue;
    for (const auto& param : type["params"])
      http_has_url |= param["name"] == "url" && param["required"] == true;
  }
  EXPECT_TRUE(http_has_url) << add.dump();
}

}  // namespace
}  // namespace netmon::manager::testing
