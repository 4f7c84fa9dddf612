#pragma once

#include <chrono>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/ip_family.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

inline constexpr int kMaxTracerouteHops = 64;
inline constexpr int kMaxTracerouteProbesPerHop = 5;

// traceroute: ICMP echoes with rising TTL until the host answers or max_hops.
struct TracerouteParams {
  std::string host;
  IpFamily family = IpFamily::kAny;
  int max_hops = 30;
  int probes_per_hop = 1;
  std::chrono::milliseconds wait{0};
};

Expected<TracerouteParams> parse_traceroute_params(const CheckSpec& spec);
// The parameters parse_traceroute_params reads.
std::span<const ParamInfo> traceroute_param_info();

}  // namespace netmon::checks
