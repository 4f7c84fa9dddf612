#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// ntp: one SNTP client exchange (RFC 4330 / 5905); offset, delay, stratum, reference id.
Expected<CheckPtr> parse_ntp_check(const CheckSpec& spec);

}  // namespace netmon::checks
