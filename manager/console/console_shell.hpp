#pragma once
// The interactive console: netmon-ctl without a command on a terminal, and
// netmon-manager --shell. A libedit prompt with line editing, persistent
// history and tab completion asked of the manager (the hidden `complete`
// command), running each line as netmon-ctl would.
//
// For the manager:
//   auto sink = netmon::console::shell_log_sink();   // add to every logger, before run_shell
//   ShellOptions options{.endpoint = ctl_endpoint, .history_file = home / ".netmon_history",
//                        .exit_stops_manager = true};
//   int code = run_shell(options, std::cout, std::cerr);   // returns on exit/quit/EOF
//   ... stop the manager ...
//
// Signals: run_shell takes SIGINT for its own thread (handler + unblock):
// Ctrl+C clears the line being typed, and ends a running `tail`. A caller
// that waits for signals on another thread must not wait for SIGINT while
// the shell runs (SIGTERM is fine: stop the shell with ShellStop).

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <zmq.hpp>

namespace netmon::console {

// Ends a run_shell from another thread (a SIGTERM waiter): request() is
// thread-safe and async-signal-safe; the shell restores the terminal and returns 0.
class ShellStop {
 public:
  ShellStop();
  ~ShellStop();
  ShellStop(const ShellStop&) = delete;
  ShellStop& operator=(const ShellStop&) = delete;

  void request() const;
  int fd() const { return read_fd_; }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

struct ShellOptions {
  std::string endpoint;                // the manager's ctl endpoint (ipc://DIR/ctl.sock)
  std::filesystem::path history_file;  // read at start, rewritten after each line; empty: none
  std::string prompt = "netmon> ";
  // The manager's own shell: `exit`/`quit` (and Ctrl+D) say the manager
  // stops. Either way they return from run_shell; stopping is the caller's.
  bool exit_stops_manager = false;
  bool json = false;                          // print replies as JSON documents
  std::chrono::milliseconds timeout{10'000};  // per request
  // For an inproc:// endpoint: the manager's context. Null: the shell's own.
  zmq::context_t* context = nullptr;
  const ShellStop* stop = nullptr;  // optional: ends the shell from another thread
  std::string no_manager_hint;      // appended to "no manager answers at ..." messages
};

// Runs the shell on the process's terminal (stdin/stdout must be a TTY;
// libedit draws there). Command output goes to `out`, error messages to
// `err`. Returns 0 after exit/quit/EOF/ShellStop, 3 if the last command
// found no manager and the input ended. One shell per process at a time.
int run_shell(const ShellOptions& options, std::ostream& out, std::ostream& err);

// Reads commands line by line from `in` (no prompt, no editing: scripts and
// pipes), as run_shell runs them; exit/quit end it. Returns the last non-zero
// exit code of a command (0 when all succeeded); stops at once on exit 3.
int run_script(const ShellOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

// A spdlog sink that prints log lines above the shell's prompt while
// run_shell waits for input (the line being typed is saved, cleared and
// redrawn under them), and straight to stderr at any other time (before the
// shell starts, while a command runs, after it ends). The same sink every
// call; thread-safe like any spdlog sink. To route a process's logs through
// it, make it the only sink of every logger (spdlog::apply_all, and for
// loggers created later), and give it the process's pattern
// (sink->set_pattern): a sink added to a logger keeps its own formatter.
std::shared_ptr<spdlog::sinks::sink> shell_log_sink();

}  // namespace netmon::console
