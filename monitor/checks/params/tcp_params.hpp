#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

// tcp: connect to host:port; optionally send a payload and expect a substring
// in what comes back (banner checks: SMTP, SSH, Redis PING ...).
struct TcpParams {
  std::string host;
  std::uint16_t port = 0;
  std::string send;
  std::string expect;
};

Expected<TcpParams> parse_tcp_params(const CheckSpec& spec);
// The parameters parse_tcp_params reads.
std::span<const ParamInfo> tcp_param_info();

}  // namespace netmon::checks
