#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// tcp: connect to host:port; optionally send a payload and expect a substring
// in what comes back (banner checks: SMTP, SSH, Redis PING ...).
Expected<CheckPtr> parse_tcp_check(const CheckSpec& spec);

}  // namespace netmon::checks
