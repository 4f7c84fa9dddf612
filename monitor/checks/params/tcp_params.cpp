#include "monitor/checks/params/tcp_params.hpp"

#include "common/param_reader.hpp"

namespace netmon::checks {

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

}  // namespace netmon::checks
