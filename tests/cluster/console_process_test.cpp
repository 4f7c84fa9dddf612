// The operator console against real processes: netmon-manager, netmon-monitor
// and netmon-echo over TCP on 127.0.0.1, driven by the built netmon-ctl – on
// a pseudo-terminal as a person types, one-shot with --json as a script
// does, and across a kill -9 of the manager. What a change does is checked
// where it lands: results of the new check in the store, none after a del.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "manager/result_export.hpp"
#include "tests/cluster/built_binaries.hpp"
#include "tests/support/process_cluster.hpp"
#include "tests/support/program_run.hpp"
#include "tests/support/pty_session.hpp"

#ifndef NETMON_CTL_BINARY
#error "tests/CMakeLists.txt must define NETMON_CTL_BINARY for the console process tests"
#endif
#ifndef NETMON_ECHO_BINARY
#error "tests/CMakeLists.txt must define NETMON_ECHO_BINARY for the console process tests"
#endif

namespace netmon::cluster {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;
using testing::ProgramRun;
using testing::PtySession;
using testing::run_program;

constexpr milliseconds kWait{30'000};
// The checks the tests add run every half second.
constexpr milliseconds kInterval{500};

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words)
    text += (text.empty() ? "" : " ") + word;
  return text;
}

system_clock::time_point parse_time(const json& text) {
  auto time = manager::parse_export_time("timestamp", text.get<std::string>(), system_clock::now());
  if (!time) throw std::runtime_error("unparsable timestamp " + text.dump());
  return *time;
}

class ConsoleProcessTest : public ::testing::Test {
 protected:
  ConsoleProcessTest() : cluster_(built_binaries(), {"edge-1"}) {}

  void SetUp() override {
    cluster_.start_manager();
    cluster_.start_monitor(0, 0);
    ASSERT_EQ(cluster_.await_monitor_line("connected", kProcessTestTimeout), "") << cluster_.logs();
  }

  // Every process this test started exits 0 on SIGTERM.
  void TearDown() override {
    EXPECT_EQ(cluster_.stop_monitors() + cluster_.stop_services(), "") << cluster_.logs();
    if (echo_) {
      EXPECT_EQ(echo_->stop(), 0) << echo_->log();
    }
  }

  std::string data_dir() const { return cluster_.manager_dir().string(); }

  ProgramRun ctl(const std::vector<std::string>& words, const std::string& dir = "") {
    std::vector<std::string> args{"--data-dir", dir.empty() ? data_dir() : dir, "--json"};
    args.insert(args.end(), words.begin(), words.end());
    return run_program(NETMON_CTL_BINARY, args);
  }

  // The one JSON document a command printed on success (null, and a test
  // failure, otherwise). --json prints nothing on stderr.
  json ok(const std::vector<std::string>& words) {
    const ProgramRun run = ctl(words);
    EXPECT_EQ(run.exit_code, 0) << join(words) << ": " << run.describe();
    EXPECT_EQ(run.err, "") << join(words);
    const json doc = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << join(words) << ": " << run.out;
    if (run.exit_code != 0 || doc.is_discarded()) return json();
    return doc;
  }

  // {"code", "message"} of a command that failed with `exit_code` and `code`.
  json fails(const std::vector<std::string>& words, int exit_code, const std::string& code,
             const std::string& dir = "") {
    const ProgramRun run = ctl(words, dir);
    EXPECT_EQ(run.exit_code, exit_code) << join(words) << ": " << run.describe();
    const json doc = json::parse(run.out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("error")) {
      ADD_FAILURE() << join(words) << ": no error document: " << run.describe();
      return json{{"code", ""}, {"message", ""}};
    }
    EXPECT_EQ(doc["error"]["code"], code) << join(words) << ": " << run.out;
    return doc["error"];
  }

  // A netmon-echo on 127.0.0.1 at a port it picks itself: the port.
  std::string start_echo() {
    echo_ = std::make_unique<ChildProcess>(
        NETMON_ECHO_BINARY, std::vector<std::string>{"--tcp", "127.0.0.1:0", "--udp", "off"},
        cluster_.dir() / "echo.log");
    const auto line = echo_->wait_for_line("listening", kWait);
    if (!line) throw std::runtime_error("netmon-echo did not listen:\n" + echo_->log());
    const std::string key = "tcp=127.0.0.1:";
    const auto at = line->find(key);
    if (at == std::string::npos) throw std::runtime_error("no tcp port in: " + *line);
    return std::to_string(std::stoi(line->substr(at + key.size())));
  }

  // Every stored result of edge-1's check `id`, in store order
  // (`netmon-manager export --check`, which runs beside the manager).
  std::vector<json> results(const std::string& id) {
    const ProgramRun run = run_program(
        NETMON_MANAGER_BINARY,
        {"export", "--data-dir", data_dir(), "--check", id, "--format", "jsonl"}, kWait);
    if (run.exit_code != 0) throw std::runtime_error("export failed: " + run.describe());
    std::vector<json> rows;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.front() != '{') continue;
      json row = json::parse(line, nullptr, false);
      if (!row.is_discarded() && row.value("check", "") == id &&
          row.value("monitor", "") == "edge-1")
        rows.push_back(std::move(row));
    }
    return rows;
  }

  // Awaits `count` stored results of `id` with status `status` (any when "").
  bool await_results(const std::string& id, std::size_t count, const std::string& status = "",
                     system_clock::time_point after = {}) {
    return await(
        [&] {
          std::size_t n = 0;
          for (const json& row : results(id))
            n +=
                (status.empty() || row["status"] == status) && parse_time(row["timestamp"]) > after;
          return n >= count;
        },
        kWait);
  }

  // edge-1's check `id` as `checks` shows it; null when it is not there.
  json check_row(const std::string& id) {
    const json doc = ok({"checks", "edge-1"});
    if (!doc.contains("checks")) return json();
    for (const json& row : doc["checks"])
      if (row["id"] == id) return row;
    return json();
  }

  std::string monitor_state(const std::string& name) {
    const json doc = ok({"monitors"});
    if (!doc.contains("monitors")) return "";
    for (const json& row : doc["monitors"])
      if (row["name"] == name) return row["state"];
    return "";
  }

  std::string config_text() {
    std::ifstream in(cluster_.config_file());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  ProcessCluster cluster_;
  std::unique_ptr<ChildProcess> echo_;
};

// §6: the shell on a real terminal, against the real manager.
TEST_F(ConsoleProcessTest, ShellOnATerminalCompletesAddsAndDeletesACheckThatReallyRuns) {
  const std::string port = start_echo();
  // A check that stays: its results show that time passed after the del.
  ASSERT_EQ(ok({"add", "edge-1", "tcp_echo", "host=127.0.0.1", "port=" + port, "interval=500ms",
                "id=control"})["delivery"],
            "acknowledged");

  testing::TempDir home("netmon-home-");
  PtySession shell(NETMON_CTL_BINARY, {"--data-dir", data_dir()},
                   {"HOME=" + home.path().string(), "NO_COLOR=1"});
  ASSERT_TRUE(shell.wait_for("netmon> ", 0, kWait)) << shell.screen();

  auto mark = shell.mark();
  shell.write("help\r");
  ASSERT_TRUE(shell.wait_for("add MONITOR TYPE key=value", mark, kWait)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", mark, kWait)) << shell.screen();

  // A command name, then a monitor name.
  mark = shell.mark();
  shell.write("chec\t");
  ASSERT_TRUE(shell.wait_for("checks ", mark, kWait)) << shell.screen();
  shell.write("ed\t");
  ASSERT_TRUE(shell.wait_for("checks edge-1", mark, kWait)) << shell.screen();
  shell.write("\r");
  ASSERT_TRUE(shell.wait_for("control", mark, kWait)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("netmon> ", shell.screen().find("control", mark), kWait))
      << shell.screen();

  // A check type and a parameter name of that type.
  mark = shell.mark();
  shell.write("add edge-1 tcp_e\t");
  ASSERT_TRUE(shell.wait_for("add edge-1 tcp_echo ", mark, kWait)) << shell.screen();
  shell.write("ho\t");
  ASSERT_TRUE(shell.wait_for("add edge-1 tcp_echo host=", mark, kWait)) << shell.screen();
  shell.write("127.0.0.1 po\t");
  ASSERT_TRUE(shell.wait_for("host=127.0.0.1 port=", mark, kWait)) << shell.screen();
  shell.write(port + " interval=500ms id=echo-1\r");
  ASSERT_TRUE(shell.wait_for("added edge-1/echo-1", mark, kWait)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("edge-1 acknowledged in", mark, kWait)) << shell.screen();

  // The monitor runs it: UP results of echo-1 reach the store.
  ASSERT_TRUE(await_results("echo-1", 2, "up")) << cluster_.logs();

  mark = shell.mark();
  shell.write("del edge-1/echo-1\r");
  ASSERT_TRUE(shell.wait_for("removed edge-1/echo-1", mark, kWait)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("edge-1 acknowledged in", mark, kWait)) << shell.screen();
  const auto deleted = system_clock::now();
  // The control check keeps producing for three more intervals past the
  // del's interval; echo-1 produced nothing in that time.
  ASSERT_TRUE(await_results("control", 3, "up", deleted + kInterval)) << cluster_.logs();
  for (const json& row : results("echo-1"))
    EXPECT_LE(parse_time(row["timestamp"]), deleted + kInterval) << row.dump();
  EXPECT_TRUE(check_row("echo-1").is_null());
  EXPECT_EQ(config_text().find("echo-1"), std::string::npos) << config_text();

  // Live results through the real broker until Ctrl+C, then the prompt again.
  mark = shell.mark();
  shell.write("tail edge-1/control\r");
  ASSERT_TRUE(shell.wait_for("tcp_echo", mark, kWait)) << shell.screen();
  const auto shown = shell.screen().find("tcp_echo", mark);
  shell.write("\x03");
  ASSERT_TRUE(shell.wait_for("netmon> ", shown, kWait)) << shell.screen();
  EXPECT_EQ(shell.screen().find("[logger]", mark), std::string::npos) << shell.screen();

  mark = shell.mark();
  shell.write("exit\r");
  EXPECT_EQ(shell.wait_exit(kWait), 0) << shell.screen();
}

// Every read command with --json, each document as PROTOCOL.md §12 describes it.
TEST_F(ConsoleProcessTest, ReadCommandsPrintTheirDocuments) {
  const std::string port = start_echo();
  ASSERT_EQ(ok({"add", "edge-1", "tcp_echo", "host=127.0.0.1", "port=" + port, "interval=500ms",
                "id=echo-1"})["delivery"],
            "acknowledged");
  ASSERT_TRUE(await_results("echo-1", 3, "up")) << cluster_.logs();
  ASSERT_TRUE(await([&] { return check_row("echo-1").value("state", "") == "UP"; }, kWait));

  const json status = ok({"status"});
  EXPECT_EQ(status["manager"]["data_dir"], data_dir()) << status.dump(2);
  EXPECT_EQ(status["endpoints"]["ctl"], "ipc://" + data_dir() + "/ctl.sock") << status.dump(2);
  EXPECT_EQ(status["endpoints"]["control"], cluster_.ports().control) << status.dump(2);
  EXPECT_EQ(status["monitors"]["CONNECTED"], 1) << status.dump(2);
  EXPECT_EQ(status["checks"]["UP"], 1) << status.dump(2);

  const json monitors = ok({"monitors"});
  ASSERT_EQ(monitors["monitors"].size(), 1u) << monitors.dump(2);
  EXPECT_EQ(monitors["monitors"][0]["name"], "edge-1");
  EXPECT_EQ(monitors["monitors"][0]["state"], "CONNECTED");
  EXPECT_EQ(monitors["monitors"][0]["checks"], 1);
  EXPECT_EQ(monitors["monitors"][0]["config_version"],
            monitors["monitors"][0]["acked_config_version"]);
  // The alias of the old consoles.
  EXPECT_EQ(ok({"list_all_queues"})["monitors"][0]["name"], "edge-1");

  const json monitor = ok({"monitor", "edge-1"});
  EXPECT_EQ(monitor["monitor"]["state"], "CONNECTED") << monitor.dump(2);
  ASSERT_EQ(monitor["checks"].size(), 1u) << monitor.dump(2);
  EXPECT_EQ(monitor["checks"][0]["id"], "echo-1");

  const json check = check_row("echo-1");
  EXPECT_EQ(check["type"], "tcp_echo") << check.dump(2);
  EXPECT_EQ(check["interval_ms"], 500);
  EXPECT_EQ(check["params"]["port"], port);
  EXPECT_EQ(check["last_status"], "up");
  EXPECT_TRUE(check["last_result"].is_string());
  EXPECT_EQ(ok({"viewconf"})["checks"].size(), 1u);

  const json events = ok({"events", "edge-1/echo-1"});
  ASSERT_FALSE(events["events"].empty()) << events.dump(2);
  EXPECT_EQ(events["events"].back()["to"], "UP") << events.dump(2);

  const json stats = ok({"stats", "edge-1/echo-1"});
  ASSERT_EQ(stats["stats"].size(), 1u) << stats.dump(2);
  EXPECT_GE(stats["stats"][0]["results"], 3);
  EXPECT_EQ(stats["stats"][0]["successes"], stats["stats"][0]["results"]);
  EXPECT_TRUE(stats["stats"][0]["median_ms"].is_number()) << stats.dump(2);

  const auto file = cluster_.dir() / "export.jsonl";
  const json exported = ok({"export", file.string(), "--check", "echo-1"});
  EXPECT_EQ(exported["file"], file.string()) << exported.dump(2);
  EXPECT_GE(exported["records"], 3);
  EXPECT_EQ(count_file_lines(file), exported["records"].get<std::uint64_t>());
  // A relative FILE is netmon-ctl's working directory's.
  const ProgramRun relative = run_program(NETMON_CTL_BINARY,
                                          {"--data-dir", data_dir(), "--json", "export",
                                           "relative.csv", "--format", "csv", "--check", "echo-1"},
                                          kWait, cluster_.dir());
  EXPECT_EQ(relative.exit_code, 0) << relative.describe();
  EXPECT_GE(count_file_lines(cluster_.dir() / "relative.csv"), 4u) << relative.describe();

  const json help = ok({"help"});
  std::set<std::string> names;
  for (const json& command : help["commands"])
    names.insert(command["name"]);
  for (const char* name : {"help", "status", "monitors", "monitor", "checks", "add", "addconf",
                           "set", "del", "delconf", "monitor-add", "monitor-del", "events", "tail",
                           "stats", "export", "reload", "exit"})
    EXPECT_TRUE(names.contains(name)) << name << " missing from " << help.dump(2);

  const json help_add = ok({"help", "add"});
  EXPECT_EQ(help_add["command"]["name"], "add");
  bool tcp_echo_has_host = false;
  for (const json& type : help_add["types"])
    if (type["type"] == "tcp_echo")
      for (const json& param : type["params"])
        tcp_echo_has_host |= param["name"] == "host" && param["required"] == true;
  EXPECT_TRUE(tcp_echo_has_host) << help_add.dump(2);
}

// Every change command: acknowledged by the monitor, in the config file,
// and (for add) running.
TEST_F(ConsoleProcessTest, ChangeCommandsReachTheMonitorAndTheConfigFile) {
  const std::string port = start_echo();

  const json nothing = ok({"reload"});
  EXPECT_TRUE(nothing["changed"].empty()) << nothing.dump(2);

  const json added = ok({"add", "edge-1", "tcp_echo", "host=127.0.0.1", "port=" + port,
                         "interval=500ms", "id=echo-1"});
  EXPECT_EQ(added["monitor"], "edge-1") << added.dump(2);
  EXPECT_EQ(added["check"], "echo-1");
  EXPECT_EQ(added["delivery"], "acknowledged");
  EXPECT_TRUE(added["ack_ms"].is_number());
  EXPECT_NE(config_text().find("echo-1"), std::string::npos) << config_text();
  ASSERT_TRUE(await_results("echo-1", 2, "up")) << cluster_.logs();

  const json set = ok({"set", "edge-1/echo-1", "interval=2s"});
  EXPECT_EQ(set["delivery"], "acknowledged") << set.dump(2);
  EXPECT_GT(set["config_version"], added["config_version"]);
  EXPECT_EQ(check_row("echo-1")["interval_ms"], 2000);

  const json positional = ok({"addconf", "edge-1", "tcp", "127.0.0.1", port, "1"});
  EXPECT_EQ(positional["delivery"], "acknowledged") << positional.dump(2);
  const std::string tcp_id = positional["check"];
  const json tcp = check_row(tcp_id);
  EXPECT_EQ(tcp["type"], "tcp") << tcp.dump(2);
  EXPECT_EQ(tcp["interval_ms"], 1000);
  EXPECT_EQ(tcp["params"]["port"], port);
  ASSERT_TRUE(await_results(tcp_id, 1, "up")) << cluster_.logs();

  EXPECT_EQ(ok({"delconf", "edge-1", tcp_id})["delivery"], "acknowledged");
  EXPECT_TRUE(check_row(tcp_id).is_null());
  EXPECT_EQ(ok({"del", "edge-1/echo-1"})["delivery"], "acknowledged");
  EXPECT_TRUE(check_row("echo-1").is_null());
  EXPECT_EQ(config_text().find("echo-1"), std::string::npos) << config_text();

  EXPECT_EQ(ok({"monitor-add", "edge-2"})["monitor"], "edge-2");
  EXPECT_EQ(monitor_state("edge-2"), "NEVER_SEEN");
  EXPECT_NE(config_text().find("edge-2"), std::string::npos) << config_text();
  EXPECT_EQ(ok({"monitor-del", "edge-2"})["monitor"], "edge-2");
  EXPECT_EQ(monitor_state("edge-2"), "");

  // An edit by hand: a change refuses until `reload`, which says what changed.
  {
    std::ofstream out(cluster_.config_file());
    out << "monitors:\n  edge-1:\n    checks:\n"
        << "      - {id: hand-1, type: tcp_echo, host: 127.0.0.1, port: " << port
        << ", interval: 500ms}\n";
  }
  const json refused = fails({"add", "edge-1", "tcp", "host=127.0.0.1", "port=" + port}, 1,
                             "config_changed_on_disk");
  EXPECT_NE(refused["message"].get<std::string>().find("reload"), std::string::npos)
      << refused.dump();
  const json reloaded = ok({"reload"});
  ASSERT_EQ(reloaded["changed"].size(), 1u) << reloaded.dump(2);
  EXPECT_EQ(reloaded["changed"][0]["monitor"], "edge-1");
  EXPECT_EQ(reloaded["changed"][0]["added"], json::array({"hand-1"}));
  ASSERT_TRUE(await_results("hand-1", 1, "up")) << cluster_.logs();
}

// Every error path and its exit code.
TEST_F(ConsoleProcessTest, ErrorsExitWithTheirCodesAndSayWhatIsWrong) {
  fails({"add", "edge-9", "tcp", "host=127.0.0.1", "port=7"}, 1, "unknown_monitor");
  fails({"monitor", "edge-9"}, 1, "unknown_monitor");
  fails({"checks", "edge-9"}, 1, "unknown_monitor");
  fails({"monitor-del", "edge-9"}, 1, "unknown_monitor");
  fails({"del", "edge-1/nope"}, 1, "unknown_check");
  fails({"set", "edge-1/nope", "interval=2s"}, 1, "unknown_check");
  fails({"delconf", "edge-1", "nope"}, 1, "unknown_check");

  // The text the config file gets for the same check, after its "FILE:LINE: ".
  const json invalid =
      fails({"add", "edge-1", "tcp", "host=127.0.0.1", "port=70000", "id=bad"}, 1, "invalid_param");
  EXPECT_EQ(invalid["message"], "check 'bad': port 70000 out of range 1..65535");
  const auto bad_file = cluster_.dir() / "bad.yaml";
  {
    std::ofstream out(bad_file);
    out << "monitors:\n  edge-1:\n    checks:\n"
        << "      - {id: bad, type: tcp, host: 127.0.0.1, port: 70000}\n";
  }
  const ProgramRun checked =
      run_program(NETMON_MANAGER_BINARY, {"--check-config", "--config", bad_file.string()});
  EXPECT_EQ(checked.exit_code, 2) << checked.describe();
  EXPECT_NE((checked.out + checked.err).find(": " + invalid["message"].get<std::string>()),
            std::string::npos)
      << checked.describe();

  fails({"add"}, 2, "usage");
  fails({"monitor"}, 2, "usage");
  fails({"del", "edge-1"}, 2, "usage");
  fails({"events", "--since", "yesterday-ish"}, 2, "usage");
  fails({"export", "/tmp/x.jsonl", "--format", "xml"}, 2, "usage");
  fails({"frobnicate"}, 2, "unknown_command");
  const ProgramRun unnamed = run_program(NETMON_CTL_BINARY, {"status"});
  EXPECT_EQ(unnamed.exit_code, 2) << unnamed.describe();
  EXPECT_NE(unnamed.err.find("--data-dir"), std::string::npos) << unnamed.describe();

  // Nothing changed on the way.
  EXPECT_TRUE(ok({"checks"})["checks"].empty());

  // No manager: at a dir none ever ran in, and where this one ran, killed.
  testing::TempDir empty("netmon-nomanager-");
  const json absent = fails({"status"}, 3, "no_manager", empty.path().string());
  EXPECT_NE(
      absent["message"].get<std::string>().find("ipc://" + empty.path().string() + "/ctl.sock"),
      std::string::npos)
      << absent.dump();
  ProcessCluster::kill(cluster_.manager());
  const json killed = fails({"status"}, 3, "no_manager");
  EXPECT_NE(killed["message"].get<std::string>().find("ipc://" + data_dir() + "/ctl.sock"),
            std::string::npos)
      << killed.dump();
}

// §4: a check added through ctl survives kill -9 of the manager: in the
// config, run by the monitor, with the state it had.
TEST_F(ConsoleProcessTest, ACheckAddedSurvivesAKilledManagerWithItsState) {
  const std::string closed = std::to_string(free_tcp_port());  // nothing listens
  const json added = ok({"add", "edge-1", "tcp", "host=127.0.0.1", "port=" + closed,
                         "interval=500ms", "retries=1", "id=closed"});
  ASSERT_EQ(added["delivery"], "acknowledged") << added.dump(2);
  ASSERT_TRUE(await([&] { return check_row("closed").value("state", "") == "DOWN"; }, kWait))
      << check_row("closed").dump(2) << cluster_.logs();

  const auto marks = cluster_.monitor_log_marks();
  ProcessCluster::kill(cluster_.manager());
  fails({"status"}, 3, "no_manager");

  EXPECT_NE(config_text().find("closed"), std::string::npos) << config_text();
  cluster_.start_manager();
  const auto ready = steady_clock::now();
  const auto restarted = system_clock::now();
  EXPECT_NE(check_row("closed"), json()) << "the check is gone after the restart";
  // Until the monitor is back and results of the new manager's time are
  // stored, every look shows the check DOWN, or STALE with DOWN before.
  std::optional<milliseconds> back;
  std::vector<std::string> seen;
  const bool ran = await(
      [&] {
        const json row = check_row("closed");
        const std::string state = row.value("state", "");
        if (seen.empty() || seen.back() != state + "/" + row.value("last_state", ""))
          seen.push_back(state + "/" + row.value("last_state", ""));
        EXPECT_TRUE(state == "DOWN" || (state == "STALE" && row["last_state"] == "DOWN"))
            << row.dump(2);
        if (!back && monitor_state("edge-1") == "CONNECTED")
          back = std::chrono::duration_cast<milliseconds>(steady_clock::now() - ready);
        if (!back || state != "DOWN") return false;
        for (const json& result : results("closed"))
          if (parse_time(result["timestamp"]) > restarted && result["status"] == "down")
            return true;
        return false;
      },
      kWait);
  std::string states;
  for (const auto& s : seen)
    states += s + " ";
  std::cout << "states seen after the restart: " << states << "; monitor back after "
            << (back ? std::to_string(back->count()) + " ms" : "never") << "\n";
  ASSERT_TRUE(ran) << states << cluster_.logs();
  ASSERT_TRUE(back);
  EXPECT_LE(*back, milliseconds(3000)) << "the monitor took long to come back";
  EXPECT_EQ(cluster_.monitor(0).wait_for_line("connected", milliseconds(0), marks[0]).has_value(),
            true);
}

// Both killed: the restarted manager knows the monitor from the store
// (RECONNECTING, its checks STALE with the state they had, UP or DOWN), and
// the restarted monitor runs both checks again.
TEST_F(ConsoleProcessTest, ChecksAddedSurviveAKilledManagerAndMonitorWithTheirStates) {
  const std::string port = start_echo();
  const std::string closed = std::to_string(free_tcp_port());
  ASSERT_EQ(ok({"add", "edge-1", "tcp", "host=127.0.0.1", "port=" + closed, "interval=500ms",
                "retries=1", "id=closed"})["delivery"],
            "acknowledged");
  ASSERT_EQ(ok({"add", "edge-1", "tcp_echo", "host=127.0.0.1", "port=" + port, "interval=500ms",
                "id=echo-1"})["delivery"],
            "acknowledged");
  ASSERT_TRUE(await(
      [&] {
        return check_row("closed").value("state", "") == "DOWN" &&
               check_row("echo-1").value("state", "") == "UP";
      },
      kWait))
      << cluster_.logs();

  ProcessCluster::kill(cluster_.monitor(0));
  ProcessCluster::kill(cluster_.manager());
  cluster_.start_manager();
  const auto restarted = system_clock::now();
  EXPECT_EQ(monitor_state("edge-1"), "RECONNECTING");
  for (const auto& [id, before] : {std::pair{"closed", "DOWN"}, std::pair{"echo-1", "UP"}}) {
    const json row = check_row(id);
    EXPECT_EQ(row["state"], "STALE") << row.dump(2);
    EXPECT_EQ(row["last_state"], before) << row.dump(2);
  }

  cluster_.start_monitor(0, 0);
  ASSERT_EQ(cluster_.await_monitor_line("connected", kWait), "") << cluster_.logs();
  EXPECT_TRUE(await_results("closed", 1, "down", restarted)) << cluster_.logs();
  EXPECT_TRUE(await_results("echo-1", 1, "up", restarted)) << cluster_.logs();
  EXPECT_TRUE(await(
      [&] {
        return check_row("closed").value("state", "") == "DOWN" &&
               check_row("echo-1").value("state", "") == "UP";
      },
      kWait))
      << check_row("closed").dump(2) << check_row("echo-1").dump(2);
}

// A change while the monitor is away: answered at once as not_connected,
// delivered when it comes back, and then run.
TEST_F(ConsoleProcessTest, AChangeForAStoppedMonitorReachesItWhenItReturns) {
  const std::string port = start_echo();
  ASSERT_EQ(cluster_.stop_monitors(), "") << cluster_.logs();
  ASSERT_TRUE(await([&] { return monitor_state("edge-1") == "STOPPED"; }, kWait));

  const json added = ok({"add", "edge-1", "tcp_echo", "host=127.0.0.1", "port=" + port,
                         "interval=500ms", "id=echo-1"});
  EXPECT_EQ(added["delivery"], "not_connected") << added.dump(2);
  EXPECT_TRUE(added["ack_ms"].is_null()) << added.dump(2);
  // Never run: not UP (UNKNOWN today; PROTOCOL.md §12 would say STALE, as
  // the monitor is not CONNECTED).
  const json waiting = check_row("echo-1");
  EXPECT_TRUE(waiting["state"] == "UNKNOWN" || waiting["state"] == "STALE") << waiting.dump(2);
  EXPECT_TRUE(waiting["last_result"].is_null()) << waiting.dump(2);

  cluster_.start_monitor(0, 0);
  ASSERT_EQ(cluster_.await_monitor_line("connected", kWait), "") << cluster_.logs();
  ASSERT_TRUE(await_results("echo-1", 2, "up")) << cluster_.logs();
  ASSERT_TRUE(await(
      [&] {
        const json monitors = ok({"monitors"});
        return !monitors["monitors"].empty() &&
               monitors["monitors"][0]["acked_config_version"] == added["config_version"];
      },
      kWait))
      << ok({"monitors"}).dump(2);
}

// netmon-manager --shell: the same shell in the manager's foreground, its
// log lines above the prompt; `exit` stops the manager cleanly.
TEST(ManagerShellProcess, RunsTheShellOnItsTerminalAndStopsOnExit) {
  ProcessCluster cluster(built_binaries(), {"edge-1"});
  auto args = manager_args({.config = cluster.config_file(),
                            .data_dir = cluster.manager_dir(),
                            .ports = &cluster.ports(),
                            .sync = kProcessTestSync});
  args.emplace_back("--shell");
  testing::TempDir home("netmon-home-");
  PtySession shell(NETMON_MANAGER_BINARY, args, {"HOME=" + home.path().string(), "NO_COLOR=1"});
  ASSERT_TRUE(shell.wait_for("netmon> ", 0, kWait)) << shell.screen();

  cluster.start_monitor(0, 0);
  // The manager's own log line, printed above the prompt.
  ASSERT_TRUE(shell.wait_for("monitor connected monitor=edge-1", 0, kWait)) << shell.screen();
  auto mark = shell.mark();
  shell.write("add edge-1 tcp host=127.0.0.1 port=" + std::to_string(free_tcp_port()) +
              " interval=500ms id=closed\r");
  ASSERT_TRUE(shell.wait_for("added edge-1/closed", mark, kWait)) << shell.screen();
  ASSERT_TRUE(shell.wait_for("edge-1 acknowledged in", mark, kWait)) << shell.screen();
  // netmon-ctl reaches the same manager meanwhile.
  const ProgramRun checks =
      run_program(NETMON_CTL_BINARY, {"--data-dir", cluster.manager_dir().string(), "checks"});
  EXPECT_EQ(checks.exit_code, 0) << checks.describe();
  EXPECT_NE(checks.out.find("edge-1/closed"), std::string::npos) << checks.describe();

  mark = shell.mark();
  shell.write("exit\r");
  EXPECT_EQ(shell.wait_exit(kWait), 0) << shell.screen();
  EXPECT_EQ(cluster.stop_monitors(), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
