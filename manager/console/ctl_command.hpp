#pragma once
// netmon-ctl's command line:
//   netmon-ctl [--data-dir DIR | --ctl ENDPOINT] [--json] [--timeout DUR] [COMMAND ...]
// With a command: one request, its reply printed, exit 0 ok / 1 error reply
// or refused reply / 2 usage / 3 no manager. Without: the shell on a
// terminal, else commands read line by line from stdin. In the library so
// tests run what ships.

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "common/command_line.hpp"

namespace netmon::console {

struct CtlCommand {
  std::string endpoint;         // ipc://DIR/ctl.sock from --data-dir, or --ctl
  std::string no_manager_hint;  // how the manager is told to serve that endpoint
  bool json = false;
  std::chrono::milliseconds timeout{10'000};
  std::vector<std::string> words;  // the command and its arguments, as given
};

ParsedCommand<CtlCommand> parse_ctl_args(int argc, const char* const* argv);

int ctl_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::console
