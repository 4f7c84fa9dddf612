#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// icmp: echo requests; rtt min/avg/max/median and loss.
Expected<CheckPtr> parse_icmp_check(const CheckSpec& spec);

}  // namespace netmon::checks
