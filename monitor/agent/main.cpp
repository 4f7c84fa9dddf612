// netmon-monitor: the agent that runs a monitor's checks and reports to the manager.
#include <iostream>

#include "monitor/agent/monitor_command.hpp"

int main(int argc, char** argv) {
  return netmon::agent::monitor_main(argc, argv, std::cout, std::cerr);
}
