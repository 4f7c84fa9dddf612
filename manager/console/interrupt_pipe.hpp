#pragma once
// SIGINT as a readable descriptor, so Ctrl+C ends `tail` and clears the
// shell's line instead of killing the process: the handler only writes a
// byte to a pipe (async-signal-safe), and the poll loops read it.

namespace netmon::console {

class InterruptPipe {
 public:
  // The process's one pipe; the first call installs the SIGINT handler and
  // unblocks SIGINT on the calling thread (a manager blocks it in every
  // thread for its signal waiter; the shell's thread takes it back).
  static InterruptPipe& instance();

  int fd() const { return read_fd_; }
  // Empties the pipe; true if an interrupt had come.
  bool take();

 private:
  InterruptPipe();
  int read_fd_ = -1;
};

}  // namespace netmon::console
