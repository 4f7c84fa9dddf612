#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// http, https: a request through libcurl multi driven by the loop; status, body and certificate
// rules.
Expected<CheckPtr> parse_http_check(const CheckSpec& spec);

}  // namespace netmon::checks
