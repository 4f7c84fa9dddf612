#pragma once
// netmon-monitor's command line: flags -> MonitorCommand, then run the agent
// until SIGINT/SIGTERM. In the library so tests exercise what ships.

#include <ostream>
#include <string>

#include "common/command_line.hpp"
#include "monitor/agent/monitor_agent.hpp"

namespace netmon::agent {

struct MonitorCommand {
  MonitorOptions options;
  std::string log_level = "info";
};

ParsedCommand<MonitorCommand> parse_monitor_args(int argc, const char* const* argv);

// Exit status: 0 after a clean stop, 1 when the monitor cannot start (data
// dir, endpoints), 2 for usage errors.
int monitor_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::agent
