#pragma once
// Runs a built program to completion as a real process and keeps what it
// wrote: stdout and stderr apart, and its exit code. For one-shot command
// lines (netmon-ctl COMMAND, netmon-manager export); command_run.hpp runs a
// <program>_main in-process instead, and child_process.hpp keeps a
// long-running one with its output in a log file.
//
// Gtest-free. No blind sleeps: the output is read with poll until both pipes
// close, bounded by the caller's deadline (then the child gets SIGKILL, by
// PID, and is reaped).

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace netmon::testing {

struct ProgramRun {
  // The exit code, 128 + the signal that ended it, or -1 when it had to be
  // killed at the deadline (`timed_out`) or could not start.
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;

  // "exit 1, stdout: ..., stderr: ..." for failure messages.
  std::string describe() const;
};

// `args` without the program name. stdin is /dev/null (so netmon-ctl never
// takes it for a script). `cwd`: the directory it starts in ("" for ours).
ProgramRun run_program(const std::filesystem::path& binary, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60),
                       const std::filesystem::path& cwd = {});

}  // namespace netmon::testing
