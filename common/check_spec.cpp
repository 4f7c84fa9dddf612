#include "common/check_spec.hpp"

#include "common/duration.hpp"

namespace netmon {

std::string check_error_prefix(const CheckSpec& spec) {
  return "check '" + (spec.id.empty() ? std::string("?") : spec.id) + "': ";
}

Expected<void> validate_common_fields(const CheckSpec& spec) {
  const std::string prefix = check_error_prefix(spec);
  if (spec.id.empty()) return Error{"check of type '" + spec.type + "': id is missing"};
  if (spec.id.size() > 64) return Error{prefix + "id longer than 64 characters"};
  for (const char c : spec.id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!allowed) {
      return Error{prefix + "id may contain only letters, digits, '-', '_' and '.'"};
    }
  }
  if (spec.type.empty()) return Error{prefix + "type is missing"};
  if (spec.interval < kMinInterval || spec.interval > kMaxInterval) {
    return Error{prefix + "interval " + format_duration(spec.interval) + " out of range 100ms..1d"};
  }
  // A timeout may exceed the interval (a slow target is still measured): the
  // engine skips the ticks that find the run still going and counts them as
  // overruns, so runs of one check never overlap.
  if (spec.timeout <= std::chrono::milliseconds::zero() || spec.timeout > kMaxTimeout) {
    return Error{prefix + "timeout " + format_duration(spec.timeout) + " out of range 1ms..1d"};
  }
  if (spec.retries < 1 || spec.retries > kMaxRetries) {
    return Error{prefix + "retries " + std::to_string(spec.retries) + " out of range 1..100"};
  }
  return {};
}

}  // namespace netmon
