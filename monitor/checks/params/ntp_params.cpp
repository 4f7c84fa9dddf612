#include "monitor/checks/params/ntp_params.hpp"

#include "common/param_reader.hpp"

namespace netmon::checks {

Expected<NtpParams> parse_ntp_params(const CheckSpec& spec) {
  ParamReader params(spec);
  NtpParams config;
  config.server = params.host("server");
  config.port = params.port("port", kDefaultNtpPort);
  // 0 (absent) means no offset limit.
  config.max_offset_ms = params.integer("max_offset_ms", 1, kMaxNtpOffsetLimitMs, 0);
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

}  // namespace netmon::checks
