#pragma once

#include <cstdint>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"

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

}  // namespace netmon::checks
