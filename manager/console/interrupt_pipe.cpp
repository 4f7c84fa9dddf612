#include "manager/console/interrupt_pipe.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>

namespace netmon::console {
namespace {

int g_write_fd = -1;

void on_interrupt(int) {
  const int saved = errno;
  const char byte = 'i';
  [[maybe_unused]] const auto written = ::write(g_write_fd, &byte, 1);
  errno = saved;
}

}  // namespace

InterruptPipe::InterruptPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe for SIGINT");
  read_fd_ = fds[0];
  g_write_fd = fds[1];
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

InterruptPipe& InterruptPipe::instance() {
  static InterruptPipe pipe;
  return pipe;
}

bool InterruptPipe::take() {
  bool any = false;
  char buffer[64];
  while (::read(read_fd_, buffer, sizeof buffer) > 0)
    any = true;
  return any;
}

}  // namespace netmon::console
