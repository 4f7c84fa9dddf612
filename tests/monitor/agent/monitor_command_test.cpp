#include "monitor/agent/monitor_command.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <csignal>
#include <sstream>

namespace netmon::agent {
namespace {

ParsedCommand<MonitorCommand> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "netmon-monitor");
  return parse_monitor_args(static_cast<int>(args.size()), args.data());
}

TEST(MonitorCommand, MapsEveryFlagOntoTheOptions) {
  auto parsed = parse({"--name",
                       "edge-1",
                       "--data-dir",
                       "/tmp/x",
                       "--manager",
                       "tcp://127.0.0.1:6000",
                       "--broker",
                       "tcp://127.0.0.1:6001",
                       "--outbox-max-records",
                       "5000",
                       "--outbox-max-age",
                       "2d",
                       "--sync",
                       "normal",
                       "--synthetic",
                       "2500",
                       "--produced-log",
                       "/tmp/p.log",
                       "--log-level",
                       "debug"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  const MonitorOptions& options = parsed.options->options;
  EXPECT_EQ(options.name, "edge-1");
  EXPECT_EQ(options.data_dir, "/tmp/x");
  EXPECT_EQ(options.manager, "tcp://127.0.0.1:6000");
  EXPECT_EQ(options.broker, "tcp://127.0.0.1:6001");
  EXPECT_EQ(options.outbox_max_records, 5000u);
  EXPECT_EQ(options.outbox_max_age, std::chrono::hours(48));
  EXPECT_EQ(options.synchronous, sqlite::Synchronous::kNormal);
  EXPECT_EQ(options.synthetic_rate, 2500.0);
  EXPECT_EQ(options.produced_log, "/tmp/p.log");
  EXPECT_EQ(parsed.options->log_level, "debug");
}

TEST(MonitorCommand, DefaultsToLoopbackEndpointsFullSyncAndASevenDayOutbox) {
  auto parsed = parse({"--name", "edge-1", "--data-dir", "d"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(parsed.options->options.manager, "tcp://127.0.0.1:5555");
  EXPECT_EQ(parsed.options->options.broker, "tcp://127.0.0.1:5556");
  EXPECT_EQ(parsed.options->options.synchronous, sqlite::Synchronous::kFull);
  EXPECT_EQ(parsed.options->options.outbox_max_age, std::chrono::hours(24 * 7));
  EXPECT_EQ(parsed.options->options.outbox_max_records, 1'000'000u);
}

TEST(MonitorCommand, UsageErrorsExitTwoAndNameTheFlag) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--data-dir", "d"}, "--name"},
      {{"--name", "e"}, "--data-dir"},
      {{"--name", "e", "--data-dir", "d", "--sync", "sometimes"}, "--sync"},
      {{"--name", "e", "--data-dir", "d", "--outbox-max-age", "soon"}, "--outbox-max-age"},
      {{"--name", "e", "--data-dir", "d", "--outbox-max-records", "0"}, "--outbox-max-records"},
      {{"--name", "e", "--data-dir", "d", "--synthetic", "-5"}, "--synthetic"},
  };
  for (const auto& [args, flag] : cases) {
    auto parsed = parse(args);
    EXPECT_FALSE(parsed.options) << flag;
    EXPECT_EQ(parsed.exit_code, kExitUsage) << flag;
    EXPECT_NE(parsed.message.find(flag), std::string::npos) << parsed.message;
  }
}

TEST(MonitorCommand, ABadNameIsAUsageErrorWithTheConfigFilesText) {
  std::ostringstream out;
  std::ostringstream err;
  const char* argv[] = {"netmon-monitor", "--name", "edge 1", "--data-dir", "/proc/netmon-x"};
  EXPECT_EQ(monitor_main(5, argv, out, err), kExitUsage);
  EXPECT_EQ(err.str(),
            "netmon-monitor: --name: monitor name 'edge 1' may only use A-Z a-z 0-9 - _ . (use "
            "1..64 of A-Z a-z 0-9 - _ .)\nRun 'netmon-monitor --help' for usage.\n");
  EXPECT_TRUE(out.str().empty());
}

TEST(MonitorCommand, HelpExitsZeroAndDescribesTheOutboxAndExitStatus) {
  std::ostringstream out;
  std::ostringstream err;
  const char* argv[] = {"netmon-monitor", "--help"};
  EXPECT_EQ(monitor_main(2, argv, out, err), kExitOk);
  EXPECT_NE(out.str().find("--outbox-max-age"), std::string::npos);
  EXPECT_NE(out.str().find("Exit status"), std::string::npos);
  EXPECT_TRUE(err.str().empty());
}

TEST(MonitorCommand, AnUnusableDataDirExitsOneWithTheFlagInTheMessage) {
  std::ostringstream out;
  std::ostringstream err;
  const char* argv[] = {"netmon-monitor", "--name", "edge-1", "--data-dir", "/proc/netmon-x"};
  EXPECT_EQ(monitor_main(5, argv, out, err), kExitFailure);
  EXPECT_NE(err.str().find("--data-dir"), std::string::npos) << err.str();
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM)) << "monitor_main left SIGTERM blocked";
}

}  // namespace
}  // namespace netmon::agent
