#pragma once
// What every netmon program's command line shares: the --log-level option and
// how a parse ends (0 after --help, 2 after a usage error, printed by CLI11).
// Header-only so that only programs, which all use CLI11, include it.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace netmon {

inline constexpr int kExitUsage = 2;

inline CLI::Option* add_log_level_option(CLI::App& app, std::string& level) {
  return app.add_option("--log-level", level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

// Parses argv. Returns the exit code when the program should stop now: 0
// after --help, kExitUsage after a usage error (CLI11 has printed either).
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
}

}  // namespace netmon
