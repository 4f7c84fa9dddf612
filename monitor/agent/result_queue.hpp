#pragma once
// Hands results from the engine thread to the agent thread: a mutex-protected
// vector plus an eventfd the agent's zmq::poll watches as a raw descriptor,
// so the agent wakes as soon as the first result of a batch arrives and takes
// everything queued in one go (one outbox transaction per drain).

#include <mutex>
#include <vector>

#include "common/check_result.hpp"

namespace netmon::agent {

class ResultQueue {
 public:
  ResultQueue();  // throws std::system_error when no eventfd can be made
  ResultQueue(const ResultQueue&) = delete;
  ResultQueue& operator=(const ResultQueue&) = delete;
  ~ResultQueue();

  // Any thread.
  void push(CheckResult result);
  void push(std::vector<CheckResult>& results);  // moves them all, one lock, one wakeup
  // Makes fd() readable without queueing anything (to stop the consumer's poll).
  void wake();

  // Consumer thread: clears the wakeup, then moves everything queued into `out` (cleared first).
  void drain(std::vector<CheckResult>& out);
  // Results queued now (any thread).
  std::size_t size();
  // Readable while results may be waiting.
  int fd() const { return fd_; }

 private:
  void signal();

  int fd_ = -1;
  std::mutex mutex_;
  std::vector<CheckResult> items_;
};

}  // namespace netmon::agent
