// Every program answers its command line alike: --help exits 0, a usage
// error (an unknown option; a bad --log-level, which netmon-probe does not
// have) exits 2 and says on stderr
// "PROGRAM: <what is wrong>" then "Run 'PROGRAM --help' for usage.".

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct Finished {
  int exit_code = -1;
  std::string err;
};

// Runs `command` through the shell, keeping its stderr (stdout is dropped).
Finished run(const std::string& command) {
  Finished finished;
  std::FILE* pipe = popen((command + " 2>&1 >/dev/null").c_str(), "r");
  if (pipe == nullptr) return finished;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    finished.err.append(buffer, n);
  const int status = pclose(pipe);
  finished.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return finished;
}

std::vector<std::string> programs() {
  return {NETMON_MANAGER_BINARY, NETMON_MONITOR_BINARY, NETMON_BROKER_BINARY,
          NETMON_LOGGER_BINARY,  NETMON_ECHO_BINARY,    NETMON_PROBE_BINARY};
}

TEST(CommandLine, EveryProgramExitsZeroAfterHelp) {
  for (const std::string& program : programs()) {
    EXPECT_EQ(run(program + " --help").exit_code, 0) << program;
  }
}

TEST(CommandLine, EveryProgramExitsTwoForAUsageErrorAndSaysSoAlike) {
  for (const std::string& program : programs()) {
    const std::string name = std::filesystem::path(program).filename().string();
    const Finished unknown = run(program + " --no-such-option");
    EXPECT_EQ(unknown.exit_code, 2) << program;
    EXPECT_EQ(unknown.err.rfind(name + ": ", 0), 0u) << unknown.err;
    EXPECT_NE(unknown.err.find("\nRun '" + name + " --help' for usage.\n"), std::string::npos)
        << unknown.err;
    // What is wrong is each program's own (the monitor names its required
    // --name first); the *_command tests check it.
    const Finished level = run(program + " --log-level loud");
    EXPECT_EQ(level.exit_code, 2) << program;
    EXPECT_EQ(level.err.rfind(name + ": ", 0), 0u) << level.err;
    EXPECT_NE(level.err.find("\nRun '" + name + " --help' for usage.\n"), std::string::npos)
        << level.err;
  }
}

}  // namespace
