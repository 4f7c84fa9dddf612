#include "monitor/checks/params/tcp_params.hpp"

#include "common/param_reader.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kTcpParamInfo[] = {
    {"host", true, "", "host name or IP address to connect to"},
    {"port", true, "", "TCP port, 1..65535"},
    {"send", false, "", "payload sent after connecting (escapes \\r \\n \\t \\0 \\\\ \\xHH)"},
    {"expect", false, "", "text the reply must contain"},
};

}  // namespace

Expected<TcpParams> parse_tcp_params(const CheckSpec& spec) {
  ParamReader params(spec);
  TcpParams config;
  config.host = params.host("host");
  config.port = params.port("port");
  config.send = params.payload("send");
  config.expect = params.payload("expect");
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

std::span<const ParamInfo> tcp_param_info() {
  return kTcpParamInfo;
}

}  // namespace netmon::checks
