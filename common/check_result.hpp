#pragma once
// The outcome of one run of one check, as every consumer sees it.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/timestamp.hpp"

namespace netmon {

// up: the service answered as expected. down: it did not (a measurement, with a
// reason token). timeout: no verdict within the check's timeout. error: netmon
// itself could not measure (no raw-socket permission, out of descriptors).
enum class CheckStatus : std::uint8_t { kUp, kDown, kTimeout, kError };

std::string_view to_string(CheckStatus status);
std::optional<CheckStatus> parse_check_status(std::string_view text);

// Elapsed time from the start of the run to the end of each phase reached.
struct PhaseTimings {
  std::optional<std::chrono::microseconds> resolve;
  std::optional<std::chrono::microseconds> connect;
  std::optional<std::chrono::microseconds> tls;
  std::optional<std::chrono::microseconds> first_byte;
  std::chrono::microseconds total{0};

  bool operator==(const PhaseTimings&) const = default;
};

struct CheckResult {
  std::string check_id;
  std::string type;
  std::string target;
  std::chrono::system_clock::time_point timestamp;  // wall clock at the start of the run
  CheckStatus status = CheckStatus::kError;
  std::string reason;  // stable token: connect_refused, rcode_nxdomain, body_mismatch ...
  std::string error;   // human text for down/timeout/error; empty when up
  // The figure users chart: connect time, rtt, query time ... (total when a type has none).
  std::chrono::microseconds latency{0};
  PhaseTimings timings;
  nlohmann::json details = nlohmann::json::object();

  bool operator==(const CheckResult&) const = default;
};

// JSON shape used by netmon-probe's export, the logger and the manager's export.
nlohmann::json to_json(const CheckResult& result);

}  // namespace netmon
