#pragma once
// What every netmon program's command line shares: the exit codes, the options
// more than one program has (--log-level, --local-time, --sync), and how a parse ends that
// does not run the program: --help prints the usage on out and exits 0; a
// usage error prints
//   PROGRAM: <what is wrong>
//   Run 'PROGRAM --help' for usage.
// on err and exits 2. Each program's <program>_main(argc, argv, out, err)
// parses into its options struct with these and returns one of the codes.
// Header-only, so netmon_common itself needs no CLI11: only the command
// files of each program's library include it.

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "common/sqlite_db.hpp"
#include "common/timestamp.hpp"

namespace netmon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // could not start, or stopped on a runtime failure
inline constexpr int kExitUsage = 2;

// A command line that ends before the program runs: the --help text
// (kExitOk, for out) or a usage error (kExitUsage, for err).
struct CommandExit {
  int exit_code = kExitOk;
  std::string message;
};

// Either the program's options or how to exit instead.
template <class Options>
struct ParsedCommand : CommandExit {
  ParsedCommand(Options parsed) : options(std::move(parsed)) {}      // NOLINT
  ParsedCommand(CommandExit stop) : CommandExit(std::move(stop)) {}  // NOLINT

  std::optional<Options> options;  // empty: print message, exit with exit_code
};

inline CommandExit usage_error(std::string_view program, std::string_view problem) {
  const std::string name(program);
  return {kExitUsage,
          name + ": " + std::string(problem) + "\nRun '" + name + " --help' for usage.\n"};
}

// Parses argv into the variables bound to `app` (named after its program):
// nullopt when the program should run, else the exit (--help of the app or of
// the subcommand given, or a usage error in CLI11's words, which name the option).
inline std::optional<CommandExit> parse_command_line(CLI::App& app, int argc,
                                                     const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return CommandExit{kExitOk, app.help()};
  } catch (const CLI::ParseError& e) {
    return usage_error(app.get_name(), e.what());
  }
  return std::nullopt;
}

// Prints an exit where it belongs (help on out, a usage error on err) and
// returns its code.
inline int print_exit(const CommandExit& stop, std::ostream& out, std::ostream& err) {
  (stop.exit_code == kExitOk ? out : err) << stop.message << std::flush;
  return stop.exit_code;
}

inline CLI::Option* add_log_level_option(CLI::App& app, std::string& level) {
  return app.add_option("--log-level", level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

// --local-time: every time the process prints (log lines, result lines,
// exports) in local time with its offset instead of UTC. It sets the
// process's output zone as it is parsed, so no options struct carries it.
inline CLI::Option* add_local_time_option(CLI::App& app) {
  return app.add_flag_callback(
      "--local-time", [] { set_output_time_zone(TimeZone::kLocal); },
      "print times in local time with the UTC offset (2026-12-04T22:00:00.123+01:00) instead "
      "of UTC (2026-12-04T21:00:00.123Z)");
}

// --sync full|normal: the durability of the program's SQLite file.
inline CLI::Option* add_sync_option(CLI::App& app, sqlite::Synchronous& synchronous,
                                    const std::string& description) {
  return app
      .add_option_function<std::string>(
          "--sync",
          [&synchronous](const std::string& text) {
            synchronous =
                text == "normal" ? sqlite::Synchronous::kNormal : sqlite::Synchronous::kFull;
          },
          description)
      ->check(CLI::Validator(CLI::IsMember({"full", "normal"})).description(""))
      ->default_str(synchronous == sqlite::Synchronous::kNormal ? "normal" : "full")
      ->type_name("full|normal");
}

}  // namespace netmon
