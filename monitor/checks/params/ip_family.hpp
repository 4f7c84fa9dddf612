#pragma once

#include <string>

#include "common/param_reader.hpp"

namespace netmon::checks {

// Which addresses of a host a check may use.
enum class IpFamily { kAny, kV4, kV6 };

// `family`: any (default), ipv4 or ipv6; an IP literal `host` must match it.
IpFamily read_family(ParamReader& params, const std::string& host);

}  // namespace netmon::checks
