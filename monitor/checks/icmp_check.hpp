#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// icmp: `count` echo requests of `size` payload bytes, `spacing` apart, over
// the loop's shared ICMP socket (icmp_socket.hpp); rtt min/avg/max/median and
// loss. Up when at least one reply came and the loss is at most max_loss_pct.
Expected<CheckPtr> parse_icmp_check(const CheckSpec& spec);

}  // namespace netmon::checks
