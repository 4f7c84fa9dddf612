#pragma once
// Real processes for process tests and the bus benchmark: start a binary with
// its output in a log file, await lines in that log with a deadline, signal
// it, reap it. Plus a free TCP port on 127.0.0.1, which every such test needs
// (its temporary directory is tests/support/temp_dir.hpp).
//
// No call here sleeps blindly: waits poll a condition every few milliseconds
// up to a caller-given deadline.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netmon::testing {

// A TCP port nothing listens on at 127.0.0.1 right now. Picked at random below
// the kernel's ephemeral range (so it cannot collide with port-0 binds of
// tests running beside us) and never handed out twice by this process; the
// port is probed with a bind and released, so a small race remains.
std::uint16_t free_tcp_port();
// The same for UDP: a port to find closed ("port unreachable"), or to bind.
std::uint16_t free_udp_port();

// "tcp://127.0.0.1:<port>".
std::string loopback_endpoint(std::uint16_t port);

// A running child: stdout and stderr appended to one log file. The destructor
// kills it (SIGKILL, by PID) and reaps it unless it was already reaped. The
// child also gets SIGKILL if the thread that started it dies, so a crashed
// test leaves no orphans behind.
class ChildProcess {
 public:
  // Starts `binary` with `args`, the log file truncated first; throws
  // std::system_error if it cannot.
  ChildProcess(std::filesystem::path binary, std::vector<std::string> args,
               std::filesystem::path log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // The first complete log line at or after byte `from` that contains
  // `needle`; nullopt if none came before `timeout` or the process exited
  // without writing one.
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds timeout, std::size_t from = 0);
  // The start of the log line being written now: a mark to pass as `from` to
  // await only lines that were not complete yet.
  std::size_t log_mark();
  // Complete log lines containing `needle`, at or after byte `from`.
  std::size_t count_lines(std::string_view needle, std::size_t from = 0);
  // Everything the process has written so far (for failure messages).
  std::string log();

  // Sends `signal_number` (SIGKILL, SIGSTOP, SIGCONT, SIGTERM, ...) by PID.
  // Does nothing once the process was reaped.
  void signal(int signal_number);
  // True while the process has not exited.
  bool running();
  // Waits up to `timeout` for the process to exit and reaps it. Returns its
  // exit code, or 128 + signal when a signal ended it; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if it has not exited within `grace`. Returns what
  // wait_exit returned for the SIGTERM (nullopt if it had to be killed).
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // User + system CPU time the process has used so far (from /proc/PID/stat).
  std::chrono::microseconds cpu_time() const;

 private:
  void read_more();
  bool reap(int options);

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::filesystem::path log_path_;
  int log_fd_ = -1;  // our read end of the log file
  std::string text_;
};

}  // namespace netmon::testing
