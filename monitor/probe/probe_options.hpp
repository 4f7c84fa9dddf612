#pragma once
// netmon-probe's command line, turned into validated options and ready-to-run
// checks. Everything the user can get wrong is caught here, before the first
// round, and reported as a usage error (exit code 2) naming the flag and value.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/command_line.hpp"
#include "monitor/checks/check_registry.hpp"

namespace netmon::probe {

inline constexpr std::chrono::milliseconds kDefaultInterval{1000};
inline constexpr std::chrono::milliseconds kMaxDefaultTimeout{3000};

// One check of the session and where its figures are summed up.
struct ProbeCheck {
  checks::PreparedCheck prepared;
  std::string group;                  // statistics row: the HOST, or the check's target
  std::string label;                  // sub-row: "icmp", "tcp/443", or the check id
  std::optional<std::uint16_t> port;  // set for the HOST form's tcp checks
};

struct ProbeOptions {
  std::vector<std::string> hosts;
  std::vector<std::uint16_t> ports;
  bool ping = true;
  std::chrono::milliseconds interval = kDefaultInterval;
  std::chrono::milliseconds timeout{800};
  std::uint64_t count = 0;  // rounds; 0 = until Ctrl+C / SIGTERM
  std::string output_path;  // -o; empty = no JSON file
  bool verbose = false;
  std::vector<ProbeCheck> checks;  // HOST form first, then --check, then --checks files
};

ParsedCommand<ProbeOptions> parse_probe_args(int argc, const char* const* argv);
// `args` without the program name.
ParsedCommand<ProbeOptions> parse_probe_args(const std::vector<std::string>& args);

}  // namespace netmon::probe
