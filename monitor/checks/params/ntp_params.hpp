#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

inline constexpr std::uint16_t kDefaultNtpPort = 123;
inline constexpr std::int64_t kMaxNtpOffsetLimitMs = 86'400'000;  // one day

// ntp: one SNTP client exchange with server:port.
struct NtpParams {
  std::string server;
  std::uint16_t port = kDefaultNtpPort;
  std::int64_t max_offset_ms = 0;  // 0: no limit
};

Expected<NtpParams> parse_ntp_params(const CheckSpec& spec);
// The parameters parse_ntp_params reads.
std::span<const ParamInfo> ntp_param_info();

}  // namespace netmon::checks
