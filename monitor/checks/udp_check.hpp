#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// udp: send a payload; a reply is open, ICMP port unreachable is closed, silence is open-or-filtered.
Expected<CheckPtr> parse_udp_check(const CheckSpec& spec);

}  // namespace netmon::checks
