#pragma once
// Signals taken by a thread that waits for them instead of by handlers: they
// are blocked before any thread starts, every thread inherits the mask, and
// only the waiting thread sees them (no async-signal-safety to worry about).
// The destructor puts the mask back, so a program run in-process (a test
// calling <program>_main) leaves its caller's threads as it found them.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <initializer_list>
#include <optional>

namespace netmon {

class SignalWaiter {
 public:
  // Blocks `signals` in the calling thread, and so in every thread it starts
  // afterwards: construct before starting any.
  SignalWaiter(std::initializer_list<int> signals) {
    sigemptyset(&signals_);
    for (const int signal : signals)
      sigaddset(&signals_, signal);
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  }
  // Takes the signals that came after the last wait (a second Ctrl+C while
  // stopping) so that unblocking them cannot kill the process, then restores
  // the mask the constructor found. Destroy after the threads it started.
  ~SignalWaiter() {
    const timespec now{0, 0};
    while (sigtimedwait(&signals_, nullptr, &now) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Waits for one of the signals and returns it.
  int wait() const {
    int received = 0;
    sigwait(&signals_, &received);
    return received;
  }

  // One of the signals, or nullopt when none came within `timeout` (or the
  // wait was interrupted).
  std::optional<int> wait_for(std::chrono::milliseconds timeout) const {
    const timespec wake{timeout.count() / 1000, (timeout.count() % 1000) * 1'000'000};
    const int received = sigtimedwait(&signals_, nullptr, &wake);
    if (received < 0) return std::nullopt;
    return received;
  }

 private:
  sigset_t signals_;
  sigset_t previous_;
};

}  // namespace netmon
