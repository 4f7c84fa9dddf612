// netmon-manager as a real process: --check-config, ready/SIGHUP/SIGTERM,
// export while the manager runs and after, and the exit codes (0 ok,
// 1 runtime failure, 2 usage or config error); and manager_main in-process:
// --help, usage errors, --check-config and export.

#include "manager/manager_command.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/command_run.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using netmon::testing::ChildProcess;

constexpr auto kExitDeadline = 20s;

class ManagerCommand : public ::testing::Test {
 protected:
  ChildProcess run(std::vector<std::string> args, const std::string& log_name = "out.log") {
    return ChildProcess(NETMON_MANAGER_BINARY, std::move(args), setup_.dir / log_name);
  }
  std::vector<std::string> run_args() const {
    return {"--config",     setup_.config_file().string(),
            "--data-dir",   setup_.data_dir().string(),
            "--control",    "tcp://127.0.0.1:0",
            "--broker-in",  "tcp://127.0.0.1:0",
            "--broker-out", "tcp://127.0.0.1:0"};
  }
  // The JSON objects among a process's output lines.
  static std::vector<nlohmann::json> json_lines(const std::string& log) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.front() == '{') lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
  }
  void store_two_results() {
    ResultStore store(setup_.data_dir(), sqlite::Synchronous::kNormal);
    const auto id = store.register_monitor("edge-1", "instance");
    auto transaction = store.transaction();
    store.insert(id, testing::result_record("edge-1", "e", 1, "port-9"), 1);
    store.insert(id, testing::result_record("edge-1", "e", 2, "port-9"), 1);
    transaction.commit();
  }

  static netmon::testing::CommandRun run_main(const std::vector<std::string>& args) {
    return netmon::testing::run_command(manager_main, "netmon-manager", args);
  }

  testing::ManagerSetup setup_;
};

TEST_F(ManagerCommand, CheckConfigExitsZeroForAValidFileAndTwoWithFileAndLineForABadOne) {
  auto good = run({"--config", setup_.config_file().string(), "--check-config"});
  EXPECT_EQ(good.wait_exit(kExitDeadline), 0) << good.log();
  EXPECT_NE(good.log().find("valid, 2 monitors"), std::string::npos) << good.log();

  testing::write_file(setup_.config_file(),
                      "monitors:\n  edge-1:\n    checks:\n      - {id: a, type: tcp, port: 1}\n");
  auto bad = run({"--config", setup_.config_file().string(), "--check-config"}, "bad.log");
  EXPECT_EQ(bad.wait_exit(kExitDeadline), 2);
  EXPECT_NE(bad.log().find("netmon.yaml:4: check 'a': "), std::string::npos) << bad.log();
}

TEST_F(ManagerCommand, PrintsReadyReloadsOnSighupAndExitsZeroOnSigterm) {
  auto manager = run(run_args());
  ASSERT_TRUE(manager.wait_for_line("ready", kExitDeadline)) << manager.log();
  auto mark = manager.log_mark();
  manager.signal(SIGHUP);
  EXPECT_TRUE(manager.wait_for_line("config reloaded", kExitDeadline, mark)) << manager.log();

  testing::write_file(setup_.config_file(), "monitors: [\n");
  mark = manager.log_mark();
  manager.signal(SIGHUP);
  const auto refused = manager.wait_for_line("config not reloaded", kExitDeadline, mark);
  ASSERT_TRUE(refused) << manager.log();
  EXPECT_NE(refused->find("netmon.yaml:"), std::string::npos) << *refused;
  EXPECT_TRUE(manager.running()) << "a bad reload stopped the manager";

  manager.signal(SIGTERM);
  EXPECT_EQ(manager.wait_exit(kExitDeadline), 0) << manager.log();
}

TEST_F(ManagerCommand, ExportPrintsTheStoreWhileTheManagerRunsAndAfterItStopped) {
  store_two_results();
  auto manager = run(run_args());
  ASSERT_TRUE(manager.wait_for_line("ready", kExitDeadline)) << manager.log();

  auto during = run({"export", "--data-dir", setup_.data_dir().string()}, "during.log");
  ASSERT_EQ(during.wait_exit(kExitDeadline), 0) << during.log();
  const auto lines = json_lines(during.log());
  ASSERT_EQ(lines.size(), 2u) << during.log();
  EXPECT_EQ(lines[0]["monitor"], "edge-1");
  EXPECT_EQ(lines[1]["seq"], 2);

  manager.signal(SIGTERM);
  ASSERT_EQ(manager.wait_exit(kExitDeadline), 0);
  auto after =
      run({"export", "--data-dir", setup_.data_dir().string(), "--format", "json", "--since", "1h"},
          "after.log");
  ASSERT_EQ(after.wait_exit(kExitDeadline), 0) << after.log();
  const auto array = nlohmann::json::parse(after.log());
  EXPECT_EQ(array.size(), 2u);
}

TEST_F(ManagerCommand, UsageErrorsExitTwoAndRuntimeFailuresExitOne) {
  auto missing = run({"--config", setup_.config_file().string()}, "missing.log");
  EXPECT_EQ(missing.wait_exit(kExitDeadline), 2);
  EXPECT_NE(missing.log().find("--data-dir"), std::string::npos) << missing.log();

  store_two_results();
  auto since =
      run({"export", "--data-dir", setup_.data_dir().string(), "--since", "later"}, "since.log");
  EXPECT_EQ(since.wait_exit(kExitDeadline), 2);
  EXPECT_NE(since.log().find("RFC 3339"), std::string::npos) << since.log();

  auto nowhere = run({"export", "--data-dir", (setup_.dir / "nothing").string()}, "nowhere.log");
  EXPECT_EQ(nowhere.wait_exit(kExitDeadline), 1);

  // The control endpoint is taken: the manager cannot bind it.
  zmq::context_t context;
  zmq::socket_t holder(context, zmq::socket_type::router);
  holder.set(zmq::sockopt::linger, 0);
  holder.bind("tcp://127.0.0.1:0");
  auto args = run_args();
  args[5] = holder.get(zmq::sockopt::last_endpoint);
  auto taken = run(args, "taken.log");
  EXPECT_EQ(taken.wait_exit(kExitDeadline), 1);
  EXPECT_NE(taken.log().find("--control"), std::string::npos) << taken.log();
}

TEST_F(ManagerCommand, HelpOfTheProgramAndOfExportExitsZeroOnOut) {
  const auto help = run_main({"--help"});
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_NE(help.out.find("--check-config"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--sync full|normal=full"), std::string::npos) << help.out;
  EXPECT_EQ(help.err, "");

  const auto export_help = run_main({"export", "--help"});
  EXPECT_EQ(export_help.exit_code, kExitOk);
  EXPECT_NE(export_help.out.find("--since"), std::string::npos) << export_help.out;
}

TEST_F(ManagerCommand, UsageErrorsExitTwoNamingTheOptionInProcess) {
  const std::string config = setup_.config_file().string();
  const std::string data_dir = setup_.data_dir().string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "--bogus"},
      {{"--config", config}, "--data-dir"},
      {{"--config", config, "--data-dir", data_dir, "--sync", "sometimes"}, "--sync"},
      {{"--config", config, "--data-dir", data_dir, "--heartbeat", "soon"}, "--heartbeat"},
      {{"--config", config, "--data-dir", data_dir, "--status-interval", "x"}, "--status-interval"},
      {{"--config", config, "--log-level", "loud", "--check-config"}, "--log-level"},
  };
  for (const auto& [args, option] : cases) {
    const auto run = run_main(args);
    EXPECT_EQ(run.exit_code, kExitUsage) << option;
    EXPECT_EQ(run.err.rfind("netmon-manager: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(option), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("Run 'netmon-manager --help' for usage."), std::string::npos) << run.err;
  }
  const auto format = run_main({"export", "--data-dir", data_dir, "--format", "xml"});
  EXPECT_EQ(format.exit_code, kExitUsage);
  EXPECT_EQ(format.err,
            "netmon-manager export: --format 'xml' is unknown (allowed: jsonl, json, csv)\n"
            "Run 'netmon-manager export --help' for usage.\n");
  const auto until = run_main({"export", "--data-dir", data_dir, "--until", "later"});
  EXPECT_EQ(until.exit_code, kExitUsage);
  EXPECT_EQ(until.err.rfind("netmon-manager export: --until 'later' is neither", 0), 0u)
      << until.err;
}

TEST_F(ManagerCommand, ChecksTheConfigAndExportsInProcess) {
  const auto valid = run_main({"--config", setup_.config_file().string(), "--check-config"});
  EXPECT_EQ(valid.exit_code, kExitOk) << valid.err;
  EXPECT_EQ(valid.out, setup_.config_file().string() + ": valid, 2 monitors\n");

  store_two_results();
  const auto exported = run_main({"export", "--data-dir", setup_.data_dir().string()});
  EXPECT_EQ(exported.exit_code, kExitOk) << exported.err;
  EXPECT_EQ(json_lines(exported.out).size(), 2u) << exported.out;

  // The filters and --format csv reach export_records.
  const auto other =
      run_main({"export", "--data-dir", setup_.data_dir().string(), "--monitor", "edge-2"});
  EXPECT_EQ(other.exit_code, kExitOk) << other.err;
  EXPECT_EQ(other.out, "");
  const auto csv = run_main({"export", "--data-dir", setup_.data_dir().string(), "--check",
                             "port-9", "--until", "1d", "--format", "csv"});
  EXPECT_EQ(csv.exit_code, kExitOk) << csv.err;
  EXPECT_EQ(csv.out.rfind("monitor,epoch,seq,check,type,target,timestamp,", 0), 0u) << csv.out;
  EXPECT_EQ(csv.out.find("edge-1"), std::string::npos) << "both results are newer than 1d ago";
}

}  // namespace
}  // namespace netmon::manager
