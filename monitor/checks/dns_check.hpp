#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// dns: one query (ldns wire format) over UDP with TCP retry on truncation, or TCP.
Expected<CheckPtr> parse_dns_check(const CheckSpec& spec);

}  // namespace netmon::checks
