#pragma once
// The one way netmon writes a wall-clock time: RFC 3339 with milliseconds and
// an offset, for process logs, result lines and exported records alike.
// UTC by default (2026-12-04T21:00:00.123Z); a program started with
// --local-time (add_local_time_option) writes local time with its numeric
// offset (2026-12-04T22:00:00.123+01:00). Like the log level, the zone is a
// property of the whole process, set once while the command line is parsed.

#include <chrono>
#include <cstdint>
#include <string>

namespace netmon {

enum class TimeZone : std::uint8_t { kUtc, kLocal };

// The zone format_timestamp(time) uses; thread-safe.
void set_output_time_zone(TimeZone zone);
TimeZone output_time_zone();

// kUtc: 2026-11-21T04:39:05.123Z. kLocal: the zone TZ names (as localtime_r
// sees it), 2026-11-21T05:39:05.123+01:00; a local zone at UTC still writes
// +00:00, saying the time is local.
std::string format_timestamp(std::chrono::system_clock::time_point time, TimeZone zone);

// In the process's output zone.
inline std::string format_timestamp(std::chrono::system_clock::time_point time) {
  return format_timestamp(time, output_time_zone());
}

}  // namespace netmon
