#pragma once
// netmon-manager's command line: flags -> ManagerCommand, then run the manager
// until SIGINT/SIGTERM (SIGHUP reloads), check the config, or export the
// store. In the library so tests exercise what ships.

#include <ostream>
#include <string>

#include "common/command_line.hpp"
#include "manager/manager.hpp"
#include "manager/result_export.hpp"

namespace netmon::manager {

struct ManagerCommand {
  enum class Mode { kRun, kCheckConfig, kExport };
  Mode mode = Mode::kRun;
  ManagerOptions options;        // kRun; kCheckConfig uses config_file only
  ExportOptions export_options;  // kExport
  std::string log_level = "info";
  // Run the console shell in the foreground (--shell; by default when stdin
  // and stdout are the terminal's and the process is in its foreground).
  bool shell = false;
};

ParsedCommand<ManagerCommand> parse_manager_args(int argc, const char* const* argv);

// Exit status: 0 ok, 1 runtime failure (the store, endpoints, a failed loop),
// 2 usage or config error. Export output and --check-config's verdict go to
// `out`, errors to `err`.
int manager_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::manager
