#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// traceroute: TTL-stepped probes up to max_hops; address and rtt per hop.
Expected<CheckPtr> parse_traceroute_check(const CheckSpec& spec);

}  // namespace netmon::checks
