// A stand-in for netmon-manager --shell in the shell's pty tests: run_shell
// on the ctl endpoint given as argv[1], with shell_log_sink as the logger's
// sink, and a thread that logs one line for every SIGUSR1 (so a test can
// make a log line arrive while a line is being typed) and ends the shell
// with ShellStop on SIGTERM, as the manager's signal waiter would.

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "manager/console/console_shell.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the signal thread takes them with sigwait
  auto logger = std::make_shared<spdlog::logger>("driver", netmon::console::shell_log_sink());
  const netmon::console::ShellStop stop;
  std::thread([&] {
    while (true) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (signal == SIGTERM) stop.request();
      if (signal == SIGUSR1) logger->info("a log line from another thread");
    }
  }).detach();
  netmon::console::ShellOptions options;
  options.stop = &stop;
  options.endpoint = argv[1];
  options.exit_stops_manager = true;
  return netmon::console::run_shell(options, std::cout, std::cerr);
}
