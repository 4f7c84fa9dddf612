#include "monitor/checks/params/udp_params.hpp"

#include <string_view>

#include "common/duration.hpp"
#include "common/param_reader.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kUdpParamInfo[] = {
    {"host", true, "", "host name or IP address to send to"},
    {"port", true, "", "UDP port, 1..65535"},
    {"payload", false, "", "datagram to send (default: empty)"},
    {"expect", false, "", "text the first reply must contain"},
    {"wait", false, "", "silence awaited before open_or_filtered (default: 80% of the timeout)"},
    {"success", false, "open,open_or_filtered",
     "states that count as up: open, closed, open_or_filtered"},
};

constexpr std::string_view kAllowedStates = "open, closed, open_or_filtered";

}  // namespace

Expected<UdpParams> parse_udp_params(const CheckSpec& spec) {
  ParamReader params(spec);
  UdpParams config;
  config.host = params.host("host");
  config.port = params.port("port");
  config.payload = params.payload("payload");
  config.expect = params.payload("expect");

  const std::chrono::milliseconds default_wait = spec.timeout * 4 / 5;
  config.wait = params.duration("wait", default_wait);
  if (params.has("wait")) {
    const std::string field = "wait " + format_duration(config.wait);
    if (config.wait <= std::chrono::milliseconds::zero()) {
      params.fail(field, "must be positive (default: 80% of the timeout)");
    } else if (config.wait >= spec.timeout) {
      params.fail(field, "must be shorter than the timeout " + format_duration(spec.timeout) +
                             " (default: 80% of the timeout)");
    }
  }

  if (params.has("success")) {
    config.success = 0;
    for (const std::string& name : params.list("success")) {
      if (name == "open") {
        config.success |= kOpen;
      } else if (name == "closed") {
        config.success |= kClosed;
      } else if (name == "open_or_filtered") {
        config.success |= kOpenOrFiltered;
      } else {
        params.fail("success '" + name + "'",
                    "is not allowed (allowed: " + std::string(kAllowedStates) + ")");
      }
    }
    if (config.success == 0) {
      params.fail("success",
                  "must name at least one state (allowed: " + std::string(kAllowedStates) + ")");
    }
  } else {
    params.list("success");  // known, so it is listed among the allowed parameters
  }
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

std::span<const ParamInfo> udp_param_info() {
  return kUdpParamInfo;
}

}  // namespace netmon::checks
