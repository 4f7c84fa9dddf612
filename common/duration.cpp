#include "common/duration.hpp"

#include <charconv>
#include <cmath>

namespace netmon {

Expected<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto bad = [&] {
    return Error{"'" + std::string(text) +
                 "' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, 1d)"};
  };
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  if (unit_at == 0) return bad();
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, number);
  if (ec != std::errc{} || end != text.data() + unit_at || !std::isfinite(number)) return bad();

  const std::string_view unit = text.substr(unit_at);
  double scale_ms = 0;
  if (unit == "ms") {
    scale_ms = 1;
  } else if (unit.empty() || unit == "s") {
    scale_ms = 1000;
  } else if (unit == "m") {
    scale_ms = 60'000;
  } else if (unit == "h") {
    scale_ms = 3'600'000;
  } else if (unit == "d") {
    scale_ms = 86'400'000;
  } else {
    return bad();
  }
  const double ms = number * scale_ms;
  if (ms > 1e15) return bad();
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const std::int64_t ms = duration.count();
  struct Unit {
    std::int64_t ms;
    const char* suffix;
  };
  for (const Unit unit :
       {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % unit.ms == 0) return std::to_string(ms / unit.ms) + unit.suffix;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace netmon
