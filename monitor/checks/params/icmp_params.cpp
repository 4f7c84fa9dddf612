#include "monitor/checks/params/icmp_params.hpp"

#include <charconv>
#include <cmath>

#include "common/duration.hpp"
#include "common/param_reader.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kIcmpParamInfo[] = {
    {"host", true, "", "host name or IP address to ping"},
    {"family", false, "any", "any, ipv4 or ipv6"},
    {"count", false, "3", "echo requests per run, 1..100"},
    {"size", false, "56", "payload bytes per request, 0..65000"},
    {"spacing", false, "10ms", "time between requests; count x spacing below 90% of the timeout"},
    {"max_loss_pct", false, "100", "down when loss is above this percentage, 0..100"},
};

// max_loss_pct: a percentage 0..100 (fractions allowed).
double read_max_loss(ParamReader& params) {
  const std::string text = params.text("max_loss_pct");
  if (text.empty() && !params.has("max_loss_pct")) return 100;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    params.fail("max_loss_pct '" + text + "'", "is not a number (allowed: 0..100)");
    return 100;
  }
  if (value < 0 || value > 100) {
    params.fail("max_loss_pct " + text, "out of range 0..100");
    return 100;
  }
  return value;
}

}  // namespace

Expected<IcmpParams> parse_icmp_params(const CheckSpec& spec) {
  ParamReader params(spec);
  IcmpParams config;
  config.host = params.host("host");
  config.family = read_family(params, config.host);
  config.count = static_cast<int>(params.integer("count", 1, kMaxIcmpCount, 3));
  config.size = static_cast<std::uint16_t>(
      params.integer("size", 0, static_cast<std::int64_t>(kMaxIcmpPayloadBytes), 56));
  config.spacing = params.duration("spacing", kDefaultIcmpSpacing);
  config.max_loss_pct = read_max_loss(params);
  config.wait = reply_window(spec.timeout);
  if (!params.failed() && config.spacing * config.count >= config.wait) {
    params.fail("spacing " + format_duration(config.spacing),
                "x count " + std::to_string(config.count) + " = " +
                    format_duration(config.spacing * config.count) +
                    " does not fit in the timeout: it must stay below 90% of timeout " +
                    format_duration(spec.timeout) + " (" + format_duration(config.wait) + ")");
  }
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

std::span<const ParamInfo> icmp_param_info() {
  return kIcmpParamInfo;
}

}  // namespace netmon::checks
