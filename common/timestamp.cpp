#include "common/timestamp.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace netmon {
namespace {

std::atomic<TimeZone> output_zone{TimeZone::kUtc};

}  // namespace

void set_output_time_zone(TimeZone zone) {
  output_zone.store(zone, std::memory_order_relaxed);
}

TimeZone output_time_zone() {
  return output_zone.load(std::memory_order_relaxed);
}

std::string format_timestamp(std::chrono::system_clock::time_point time, TimeZone zone) {
  using namespace std::chrono;
  // floor, not a cast: a time before 1970 still gets a fraction in 0..999.
  const auto ms = floor<milliseconds>(time);
  const auto seconds = floor<std::chrono::seconds>(ms);
  const std::time_t whole = system_clock::to_time_t(seconds);
  std::tm parts{};
  if (zone == TimeZone::kLocal) {
    localtime_r(&whole, &parts);
  } else {
    gmtime_r(&whole, &parts);
  }
  char buffer[64];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &parts);
  n += static_cast<std::size_t>(std::snprintf(buffer + n, sizeof buffer - n, ".%03d",
                                              static_cast<int>((ms - seconds).count())));
  if (zone == TimeZone::kUtc) return std::string(buffer, n) + "Z";
  // tm_gmtoff (glibc, BSD): seconds east of UTC, whole minutes in every zone in use.
  const long offset_minutes = parts.tm_gmtoff / 60;
  const long magnitude = std::labs(offset_minutes);
  std::snprintf(buffer + n, sizeof buffer - n, "%c%02ld:%02ld", offset_minutes < 0 ? '-' : '+',
                magnitude / 60, magnitude % 60);
  return buffer;
}

}  // namespace netmon
