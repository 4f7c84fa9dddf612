#pragma once

#include <chrono>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/ip_family.hpp"

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

}  // namespace netmon::checks
