#include "monitor/checks/params/traceroute_params.hpp"

#include "common/param_reader.hpp"
#include "monitor/checks/params/icmp_params.hpp"

namespace netmon::checks {

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

}  // namespace netmon::checks
