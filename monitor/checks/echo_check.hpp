#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// tcp_echo, udp_echo: send a payload (a generated sentence by default) and
// verify the same bytes come back; rtt.
Expected<CheckPtr> parse_tcp_echo_check(const CheckSpec& spec);
Expected<CheckPtr> parse_udp_echo_check(const CheckSpec& spec);

}  // namespace netmon::checks
