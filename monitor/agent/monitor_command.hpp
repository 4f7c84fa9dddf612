#pragma once
// netmon-monitor's command line: flags -> MonitorOptions, then run the agent
// until SIGINT/SIGTERM. In the library so tests exercise what ships.

#include <optional>
#include <ostream>
#include <string>

#include "monitor/agent/monitor_agent.hpp"

namespace netmon::agent {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct ParsedMonitorCommand {
  std::optional<MonitorOptions> options;  // empty: print message, exit with exit_code
  std::string log_level = "info";
  int exit_code = kExitOk;
  std::string message;
};

ParsedMonitorCommand parse_monitor_args(int argc, const char* const* argv);

// Exit status: 0 after a clean stop, 1 when the monitor cannot start (data
// dir, endpoints), 2 for usage errors.
int monitor_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::agent
