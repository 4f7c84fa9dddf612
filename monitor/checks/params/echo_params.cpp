#include "monitor/checks/params/echo_params.hpp"

#include "common/param_reader.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kEchoParamInfo[] = {
    {"host", true, "", "host name or IP address of the echo service"},
    {"port", true, "", "port, 1..65535"},
    {"payload", false, "",
     "bytes to send, not empty (default: a generated sentence per run; at most 1 MiB for "
     "tcp_echo, 65507 bytes for udp_echo)"},
};

Expected<EchoParams> parse_echo_params(const CheckSpec& spec, std::size_t max_payload_bytes) {
  ParamReader params(spec);
  EchoParams config;
  config.host = params.host("host");
  config.port = params.port("port");
  const bool payload_given = params.has("payload");
  config.payload = params.payload("payload");
  if (payload_given && !params.failed()) {
    if (config.payload.empty()) {
      params.fail("payload", "must not be empty (leave it out to send a generated sentence)");
    } else if (config.payload.size() > max_payload_bytes) {
      params.fail("payload", "of " + std::to_string(config.payload.size()) +
                                 " bytes is too long (allowed: 1.." +
                                 std::to_string(max_payload_bytes) + " bytes for " + spec.type +
                                 ")");
    }
  }
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

}  // namespace

Expected<EchoParams> parse_tcp_echo_params(const CheckSpec& spec) {
  return parse_echo_params(spec, kMaxTcpEchoPayloadBytes);
}

Expected<EchoParams> parse_udp_echo_params(const CheckSpec& spec) {
  return parse_echo_params(spec, kMaxUdpEchoPayloadBytes);
}

std::span<const ParamInfo> echo_param_info() {
  return kEchoParamInfo;
}

}  // namespace netmon::checks
