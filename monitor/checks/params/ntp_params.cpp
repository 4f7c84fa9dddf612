#include "monitor/checks/params/ntp_params.hpp"

#include "common/param_reader.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kNtpParamInfo[] = {
    {"server", true, "", "host name or IP address of the NTP server"},
    {"port", false, "123", "server port, 1..65535"},
    {"max_offset_ms", false, "", "down when |offset| exceeds it, 1..86400000 (default: no limit)"},
};

}  // namespace

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

std::span<const ParamInfo> ntp_param_info() {
  return kNtpParamInfo;
}

}  // namespace netmon::checks
