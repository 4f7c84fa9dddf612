#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

inline constexpr std::size_t kMaxUdpEchoPayloadBytes = 65507;  // the largest IPv4 UDP payload
inline constexpr std::size_t kMaxTcpEchoPayloadBytes = 1024 * 1024;

// tcp_echo, udp_echo: send a payload to an echo service (RFC 862) and expect it back.
struct EchoParams {
  std::string host;
  std::uint16_t port = 0;
  std::string payload;  // empty: a generated sentence per run
};

Expected<EchoParams> parse_tcp_echo_params(const CheckSpec& spec);
Expected<EchoParams> parse_udp_echo_params(const CheckSpec& spec);
// The parameters both echo parses read.
std::span<const ParamInfo> echo_param_info();

}  // namespace netmon::checks
