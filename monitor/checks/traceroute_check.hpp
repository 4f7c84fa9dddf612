#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// traceroute: ICMP echo requests with TTL 1..max_hops, all sent at once;
// routers answer with time exceeded, the target with an echo reply. Reports
// address and rtt per hop; up when the target answers within max_hops.
Expected<CheckPtr> parse_traceroute_check(const CheckSpec& spec);

}  // namespace netmon::checks
