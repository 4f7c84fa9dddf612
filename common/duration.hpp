#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon {

// Parses "500ms", "2s", "1.5s", "1m", "2h", "1d"; a bare number is seconds
// ("2.5" == 2500ms), which is what `netmon-probe -i 2.5` users type.
Expected<std::chrono::milliseconds> parse_duration(std::string_view text);

// Shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 60000ms -> "1m".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace netmon
