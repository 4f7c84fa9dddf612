#pragma once
// netmon-broker's command line: flags -> BrokerCommand, then run the results
// bus until SIGINT/SIGTERM. In the library so tests exercise what ships.

#include <ostream>
#include <string>

#include "broker/result_broker.hpp"
#include "common/command_line.hpp"

namespace netmon {

struct BrokerCommand {
  BrokerEndpoints endpoints;
  std::string log_level = "info";
};

ParsedCommand<BrokerCommand> parse_broker_args(int argc, const char* const* argv);

// Exit status: 0 after a clean stop, 1 when an endpoint cannot be bound,
// 2 for usage errors.
int broker_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon
