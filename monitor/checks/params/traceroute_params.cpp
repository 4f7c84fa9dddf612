#include "monitor/checks/params/traceroute_params.hpp"

#include "common/param_reader.hpp"
#include "monitor/checks/params/icmp_params.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kTracerouteParamInfo[] = {
    {"host", true, "", "host name or IP address to trace"},
    {"family", false, "any", "any, ipv4 or ipv6"},
    {"max_hops", false, "30", "highest TTL tried, 1..64"},
    {"probes_per_hop", false, "1", "echo requests per TTL, 1..5"},
};

}  // namespace

Expected<TracerouteParams> parse_traceroute_params(const CheckSpec& spec) {
  ParamReader params(spec);
  TracerouteParams config;
  config.host = params.host("host");
  config.family = read_family(params, config.host);
  config.max_hops = static_cast<int>(params.integer("max_hops", 1, kMaxTracerouteHops, 30));
  config.probes_per_hop =
      static_cast<int>(params.integer("probes_per_hop", 1, kMaxTracerouteProbesPerHop, 1));
  config.wait = reply_window(spec.timeout);
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

std::span<const ParamInfo> traceroute_param_info() {
  return kTracerouteParamInfo;
}

}  // namespace netmon::checks
