#pragma once
// netmon-logger's command line: flags -> LoggerCommand, then print the live
// feed until SIGINT/SIGTERM or the output fails. In the library so tests
// exercise what ships.

#include <cstdint>
#include <ostream>
#include <string>

#include "broker/logger/log_subscriber.hpp"
#include "broker/logger/rotating_file_writer.hpp"
#include "common/command_line.hpp"

namespace netmon::logger {

// --color: auto colours human lines on a terminal unless NO_COLOR is set
// (https://no-color.org: present and not empty); always and never are for
// pipes into a pager (less -R) and for scripts.
enum class ColorMode { kAuto, kAlways, kNever };

// Whether lines get colours: `terminal` is whether they go to one,
// `no_color` the value of NO_COLOR (nullptr when unset).
bool use_color(ColorMode mode, bool terminal, const char* no_color);

struct LoggerCommand {
  LoggerOptions options;
  std::string output;  // --output FILE; empty: stdout
  std::uint64_t max_bytes = RotatingFileWriter::kDefaultMaxBytes;
  unsigned keep = RotatingFileWriter::kDefaultKeep;
  std::string log_level = "info";
  ColorMode color = ColorMode::kAuto;
};

ParsedCommand<LoggerCommand> parse_logger_args(int argc, const char* const* argv);

// Exit status: 0 after a clean stop, 1 when the output or --broker is
// unusable or the output failed, 2 for usage errors. The lines go to `out`
// (or --output), as does --help; `err` gets the errors.
int logger_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::logger
