// Every program answers its command line alike: --help exits 0, a usage
// error (unknown option, bad --log-level) exits 2 with CLI11's message.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

int exit_code_of(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> programs() {
  return {NETMON_MANAGER_BINARY, NETMON_MONITOR_BINARY, NETMON_BROKER_BINARY, NETMON_LOGGER_BINARY,
          NETMON_ECHO_BINARY};
}

TEST(CommandLine, EveryProgramExitsZeroAfterHelp) {
  for (const std::string& program : programs()) {
    EXPECT_EQ(exit_code_of(program + " --help"), 0) << program;
  }
}

TEST(CommandLine, EveryProgramExitsTwoForAnUnknownOptionOrABadLogLevel) {
  for (const std::string& program : programs()) {
    EXPECT_EQ(exit_code_of(program + " --no-such-option"), 2) << program;
    EXPECT_EQ(exit_code_of(program + " --log-level loud"), 2) << program;
  }
}

}  // namespace
