#include "monitor/agent/result_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace netmon::agent {

ResultQueue::ResultQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

ResultQueue::~ResultQueue() {
  ::close(fd_);
}

void ResultQueue::signal() {
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow, which a reader prevents.
  [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
}

void ResultQueue::push(CheckResult result) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    was_empty = items_.empty();
    items_.push_back(std::move(result));
  }
  // Only the first result of a batch needs to wake the consumer.
  if (was_empty) signal();
}

void ResultQueue::push(std::vector<CheckResult>& results) {
  if (results.empty()) return;
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    was_empty = items_.empty();
    for (auto& result : results)
      items_.push_back(std::move(result));
  }
  results.clear();
  if (was_empty) signal();
}

void ResultQueue::wake() {
  signal();
}

std::size_t ResultQueue::size() {
  std::lock_guard lock(mutex_);
  return items_.size();
}

void ResultQueue::drain(std::vector<CheckResult>& out) {
  out.clear();
  // Clear the wakeup before taking the items: a push after this point either
  // lands in this drain or signals again, so no wakeup is lost.
  std::uint64_t count = 0;
  [[maybe_unused]] const auto got = ::read(fd_, &count, sizeof count);
  std::lock_guard lock(mutex_);
  out.swap(items_);
}

}  // namespace netmon::agent
