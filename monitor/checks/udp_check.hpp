#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// udp: send a payload on a connected socket; a reply is open, ICMP port
// unreachable is closed, silence for `wait` is open_or_filtered. `success`
// names the states that count as up (default: open, open_or_filtered).
Expected<CheckPtr> parse_udp_check(const CheckSpec& spec);

}  // namespace netmon::checks
