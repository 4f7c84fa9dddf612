#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/ip_family.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

inline constexpr int kMaxIcmpCount = 100;
inline constexpr std::size_t kMaxIcmpPayloadBytes = 65000;
inline constexpr std::chrono::milliseconds kDefaultIcmpSpacing{10};

// Shared by icmp and traceroute: runs wait for answers until 90% of the
// check's timeout, so the result still carries its details (loss, hops)
// instead of becoming a bare timeout.
constexpr std::chrono::milliseconds reply_window(std::chrono::milliseconds timeout) {
  return timeout * 9 / 10;
}

// icmp: `count` echo requests `spacing` apart; up unless loss exceeds max_loss_pct.
struct IcmpParams {
  std::string host;
  IpFamily family = IpFamily::kAny;
  int count = 3;
  std::uint16_t size = 56;
  std::chrono::milliseconds spacing = kDefaultIcmpSpacing;
  std::chrono::milliseconds wait{0};  // answers are awaited until this long after the start
  double max_loss_pct = 100;
};

Expected<IcmpParams> parse_icmp_params(const CheckSpec& spec);
// The parameters parse_icmp_params reads.
std::span<const ParamInfo> icmp_param_info();

}  // namespace netmon::checks
