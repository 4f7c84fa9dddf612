#pragma once
// A program on a real pseudo-terminal, for tests of interactive programs
// (the console shell): start it with forkpty on a terminal of a given size,
// type keys, and wait – with a deadline, never a sleep – for text to appear
// on the screen. What the program draws is kept whole; searches look at it
// with escape sequences and carriage returns taken out, so "netmon> help"
// matches however the line editor drew it.
//
//   PtySession shell(NETMON_CTL_BINARY, {"--data-dir", dir}, {"HOME=" + home});
//   ASSERT_TRUE(shell.wait_for("netmon> ")) << shell.screen();
//   const auto mark = shell.mark();
//   shell.write("help\r");
//   ASSERT_TRUE(shell.wait_for("COMMAND", mark)) << shell.screen();

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/await.hpp"

namespace netmon::testing {

class PtySession {
 public:
  // Starts `binary` with `args` on a new terminal of `columns` x `rows`. The
  // environment is the test's, with TERM=xterm and then each "NAME=VALUE" of
  // `env` set (a later one wins). Throws std::system_error if it cannot start.
  PtySession(const std::filesystem::path& binary, std::vector<std::string> args,
             const std::vector<std::string>& env = {}, unsigned short columns = 80,
             unsigned short rows = 24);
  // SIGKILL (by PID) and reap, unless it already exited.
  ~PtySession();
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  pid_t pid() const { return pid_; }

  // Types `keys` ("help\r", "\t" for TAB, "\x03" for Ctrl+C, "\x04" for Ctrl+D).
  void write(std::string_view keys);

  // Waits until screen() from `from` on contains `text`; false if the
  // deadline passed or the program exited without drawing it.
  [[nodiscard]] bool wait_for(std::string_view text, std::size_t from = 0,
                              std::chrono::milliseconds timeout = kAwaitDeadline);
  // Where screen() ends now: pass it to wait_for to look only at what comes after.
  std::size_t mark();
  // Everything drawn so far without escape sequences and '\r' (for
  // searches and failure messages).
  std::string screen();
  // Everything drawn so far, byte for byte.
  const std::string& raw() const { return raw_; }

  // Waits up to `timeout` for the program to exit and reaps it: its exit
  // code, or 128 + the signal that ended it; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kAwaitDeadline);

 private:
  // Reads what is there, waiting at most `wait` for the first byte; false once the terminal closed.
  bool read_some(std::chrono::milliseconds wait);
  bool reap(int options);

  pid_t pid_ = -1;
  int master_ = -1;
  bool closed_ = false;
  std::optional<int> exit_status_;
  std::string raw_;
  std::string screen_;
  std::size_t parsed_ = 0;  // bytes of raw_ already turned into screen_
};

}  // namespace netmon::testing
