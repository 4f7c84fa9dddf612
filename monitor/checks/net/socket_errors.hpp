#pragma once
// Maps socket errors to the stable reason tokens results carry, so every check
// type says "connect_refused" for the same thing.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>

#include "monitor/checks/check.hpp"

namespace netmon::checks {

// `phase` is "connect", "send" or "read": refused/unreachable/reset get their
// own tokens, anything else becomes "<phase>_failed".
std::string reason_for(const std::error_code& error, std::string_view phase);

// True for errors that mean netmon could not measure (descriptors, permissions).
bool is_local_failure(const std::error_code& error);

// How a socket error in `step` ("socket", "connect", "send" or "read") ends a
// run: failure("socket_failed") when netmon itself could not measure (opening
// the socket failed, is_local_failure, or a full send buffer: would_block),
// else down(reason_for(error, step)) with `details`. The text is
// "<what>: <message>"; `what` defaults to the step.
Outcome socket_outcome(const std::error_code& error, std::string_view step,
                       nlohmann::json details = nlohmann::json::object(),
                       std::string_view what = {});

}  // namespace netmon::checks
