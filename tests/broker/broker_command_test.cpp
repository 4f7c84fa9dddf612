#include "broker/broker_command.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <csignal>

#include "tests/support/command_run.hpp"

namespace netmon {
namespace {

using netmon::testing::run_command;

netmon::testing::CommandRun run_broker(const std::vector<std::string>& args) {
  return run_command(broker_main, "netmon-broker", args);
}

TEST(BrokerCommand, HelpExitsZeroAndListsTheEndpointsWithTheirDefaults) {
  const auto run = run_broker({"--help"});
  EXPECT_EQ(run.exit_code, kExitOk);
  EXPECT_NE(run.out.find("--in"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tcp://127.0.0.1:5557"), std::string::npos) << run.out;
  EXPECT_EQ(run.err, "");
}

TEST(BrokerCommand, UsageErrorsExitTwoNamingTheOption) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--bogus"}, {"--log-level", "loud"}}) {
    const auto run = run_broker(args);
    EXPECT_EQ(run.exit_code, kExitUsage) << args[0];
    EXPECT_EQ(run.err.rfind("netmon-broker: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(args[0]), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("Run 'netmon-broker --help' for usage."), std::string::npos) << run.err;
    EXPECT_EQ(run.out, "");
  }
}

TEST(BrokerCommand, AnEndpointThatCannotBeBoundExitsOneNamingIt) {
  const auto run = run_broker({"--in", "nonsense", "--out", "tcp://127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, kExitFailure);
  EXPECT_NE(run.err.find("cannot bind"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("in=nonsense"), std::string::npos) << run.err;
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM)) << "broker_main left SIGTERM blocked";
}

}  // namespace
}  // namespace netmon
