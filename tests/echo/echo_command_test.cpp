#include "echo/echo_command.hpp"

#include <gtest/gtest.h>

#include "tests/support/command_run.hpp"

namespace netmon::echo {
namespace {

using netmon::testing::run_command;

netmon::testing::CommandRun run_echo(const std::vector<std::string>& args) {
  return run_command(echo_main, "netmon-echo", args);
}

TEST(EchoCommand, HelpExitsZeroAndPrintsTheUsageOnOut) {
  const auto run = run_echo({"--help"});
  EXPECT_EQ(run.exit_code, kExitOk);
  EXPECT_NE(run.out.find("--idle-timeout"), std::string::npos) << run.out;
  EXPECT_EQ(run.err, "");
}

TEST(EchoCommand, UsageErrorsExitTwoNamingTheOption) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--idle-timeout", "soon"},
                                             {"--tcp", "localhost"},
                                             {"--max-clients", "0"}}) {
    const auto run = run_echo(args);
    EXPECT_EQ(run.exit_code, kExitUsage) << args[0];
    EXPECT_EQ(run.err.rfind("netmon-echo: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(args[0]), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("Run 'netmon-echo --help' for usage."), std::string::npos) << run.err;
    EXPECT_EQ(run.out, "");
  }
}

TEST(EchoCommand, ParsesTheAddressesAndTheIdleTimeout) {
  const char* argv[] = {"netmon-echo", "--tcp",          "off",  "--udp",
                        "127.0.0.1:0", "--idle-timeout", "500ms"};
  const auto parsed = parse_echo_args(7, argv);
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_FALSE(parsed.options->options.tcp);
  ASSERT_TRUE(parsed.options->options.udp);
  EXPECT_EQ(parsed.options->options.udp->port(), 0);
  EXPECT_EQ(parsed.options->options.idle_timeout, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace netmon::echo
