#include "monitor/probe/probe_command.hpp"

#include <algorithm>

#include "common/duration.hpp"
#include "common/logging.hpp"
#include "monitor/probe/probe_session.hpp"

namespace netmon::probe {
namespace {

std::string banner(const ProbeOptions& options) {
  std::size_t groups = 0;
  std::vector<std::string> seen;
  for (const ProbeCheck& check : options.checks) {
    if (std::find(seen.begin(), seen.end(), check.group) == seen.end()) {
      seen.push_back(check.group);
      ++groups;
    }
  }
  std::string text = "netmon-probe: " + std::to_string(options.checks.size()) +
                     (options.checks.size() == 1 ? " check" : " checks") + " on " +
                     std::to_string(groups) + (groups == 1 ? " target" : " targets") + " every " +
                     format_duration(options.interval) + " (timeout " +
                     format_duration(options.timeout) + "), ";
  text += options.count == 0
              ? "until Ctrl+C"
              : std::to_string(options.count) + (options.count == 1 ? " round" : " rounds");
  return text + "\n";
}

}  // namespace

int probe_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<ProbeOptions> parsed = parse_probe_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  setup_logging("warn");

  ProbeSession session(std::move(*parsed.options), out);
  session.stop_on_signals();
  out << banner(session.options()) << std::flush;
  session.run();

  out << format_statistics(session.statistics(), session.summary_title()) << std::flush;
  if (auto written = session.write_output(); !written) {
    err << "netmon-probe: " << written.error().message << "\n";
    return kExitFailure;
  }
  if (!session.options().output_path.empty()) {
    out << "results written to " << session.options().output_path << "\n" << std::flush;
  }
  return session.exit_code();
}

}  // namespace netmon::probe
