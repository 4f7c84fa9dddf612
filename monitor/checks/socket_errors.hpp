#pragma once
// Maps socket errors to the stable reason tokens results carry, so every check
// type says "connect_refused" for the same thing.

#include <string>
#include <system_error>

namespace netmon::checks {

// `phase` is "connect", "send" or "read": refused/unreachable/reset get their
// own tokens, anything else becomes "<phase>_failed".
std::string reason_for(const std::error_code& error, std::string_view phase);

// True for errors that mean netmon could not measure (descriptors, permissions).
bool is_local_failure(const std::error_code& error);

}  // namespace netmon::checks
