#include "common/check_result.hpp"

namespace netmon {

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::kUp:
      return "up";
    case CheckStatus::kDown:
      return "down";
    case CheckStatus::kTimeout:
      return "timeout";
    case CheckStatus::kError:
      return "error";
  }
  return "error";
}

std::optional<CheckStatus> parse_check_status(std::string_view text) {
  for (const CheckStatus status :
       {CheckStatus::kUp, CheckStatus::kDown, CheckStatus::kTimeout, CheckStatus::kError}) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

nlohmann::json to_json(const CheckResult& result) {
  const auto ms = [](std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
  };
  nlohmann::json timings = nlohmann::json::object();
  const auto put = [&](const char* name, const std::optional<std::chrono::microseconds>& value) {
    if (value) timings[name] = ms(*value);
  };
  put("resolve_ms", result.timings.resolve);
  put("connect_ms", result.timings.connect);
  put("tls_ms", result.timings.tls);
  put("first_byte_ms", result.timings.first_byte);
  timings["total_ms"] = ms(result.timings.total);
  return {
      {"timestamp", format_timestamp(result.timestamp)},
      {"check", result.check_id},
      {"type", result.type},
      {"target", result.target},
      {"status", to_string(result.status)},
      {"reason", result.reason},
      {"error", result.error},
      {"latency_ms", ms(result.latency)},
      {"timings", std::move(timings)},
      {"details", result.details},
  };
}

}  // namespace netmon
