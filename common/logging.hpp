#pragma once
// One named spdlog logger per component ("monitor", "probe", "echo", ...), all
// with the same pattern, so every process's lines read alike:
//   2026-12-04T21:00:00.123Z info  [monitor] connected endpoint=...
// The time is format_timestamp's (common/timestamp.hpp): UTC, or local time
// with its offset when the program was started with --local-time. Levels are
// coloured on a terminal unless NO_COLOR is set (and not empty).

#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace netmon {

// Sets the level and pattern of every netmon logger. `level` is an spdlog name
// (trace, debug, info, warn, error, critical, off).
void setup_logging(const std::string& level = "info");

// The component's logger, created on first use; never null.
std::shared_ptr<spdlog::logger> component_logger(const std::string& component);

// The formatter of every netmon logger (for a sink of one's own, and tests).
std::unique_ptr<spdlog::formatter> make_log_formatter();

// Sends every netmon logger's lines, those that exist and those made later,
// to `sink` alone (with the netmon formatter); nullptr goes back to stderr
// for loggers made later. netmon-manager --shell routes them above its prompt.
void route_logs_to(std::shared_ptr<spdlog::sinks::sink> sink);

}  // namespace netmon
