#pragma once
// netmon-echo's command line: flags -> EchoCommand, then serve on one loop
// until SIGINT/SIGTERM and print a summary line. In the library so tests
// exercise what ships.

#include <ostream>
#include <string>

#include "common/command_line.hpp"
#include "echo/echo_server.hpp"

namespace netmon::echo {

struct EchoCommand {
  EchoServerOptions options;
  std::string log_level = "info";
};

ParsedCommand<EchoCommand> parse_echo_args(int argc, const char* const* argv);

// Exit status: 0 after a clean stop, 1 when an address cannot be listened on,
// 2 for usage errors.
int echo_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::echo
