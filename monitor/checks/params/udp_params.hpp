#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

// The three things a UDP run can observe, as bits of the `success` set.
enum UdpState : unsigned {
  kOpen = 1,            // a datagram came back
  kClosed = 2,          // ICMP port unreachable (ECONNREFUSED on the connected socket)
  kOpenOrFiltered = 4,  // silence for `wait`
};

// udp: send a datagram to host:port and judge what comes back (or nothing).
struct UdpParams {
  std::string host;
  std::uint16_t port = 0;
  std::string payload;
  std::string expect;
  std::chrono::milliseconds wait{0};  // default: 80% of the timeout
  unsigned success = kOpen | kOpenOrFiltered;
};

Expected<UdpParams> parse_udp_params(const CheckSpec& spec);
// The parameters parse_udp_params reads.
std::span<const ParamInfo> udp_param_info();

}  // namespace netmon::checks
