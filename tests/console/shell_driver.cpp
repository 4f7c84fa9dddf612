// A stand-in for netmon-manager --shell in the shell's pty tests: run_shell
// on the ctl endpoint given as argv[1], with shell_log_sink as the logger's
// sink, and a thread that logs one line for every SIGUSR1, so a test can
// make a log line arrive while a line is being typed.

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "manager/console/console_shell.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);  // the logging thread takes it with sigwait
  auto logger = std::make_shared<spdlog::logger>("driver", netmon::console::shell_log_sink());
  std::thread([&] {
    while (true) {
      int signal = 0;
      if (sigwait(&usr1, &signal) == 0) logger->info("a log line from another thread");
    }
  }).detach();
  netmon::console::ShellOptions options;
  options.endpoint = argv[1];
  options.exit_stops_manager = true;
  return netmon::console::run_shell(options, std::cout, std::cerr);
}
