#include "monitor/checks/params/check_params.hpp"

#include <array>
#include <string>

#include "monitor/checks/params/dns_params.hpp"
#include "monitor/checks/params/echo_params.hpp"
#include "monitor/checks/params/http_params.hpp"
#include "monitor/checks/params/icmp_params.hpp"
#include "monitor/checks/params/ntp_params.hpp"
#include "monitor/checks/params/tcp_params.hpp"
#include "monitor/checks/params/traceroute_params.hpp"
#include "monitor/checks/params/udp_params.hpp"

namespace netmon::checks {
namespace {

// A type's parse with the parsed value dropped: only the verdict matters here.
template <auto parse>
Expected<void> validate_with(const CheckSpec& spec) {
  if (auto parsed = parse(spec); !parsed) return parsed.error();
  return {};
}

// Their defaults come from the config's `defaults`, so none is a fixed value.
constexpr ParamInfo kCommonCheckParams[] = {
    {"id", false, "", "unique within the monitor (default: TYPE-N)"},
    {"interval", false, "", "time between runs, 100ms..1d (default: defaults.interval, 10s)"},
    {"timeout", false, "",
     "time a run may take, 1ms..1d; longer than the interval skips the rounds it spans "
     "(default: defaults.timeout, 3s, at most 80% of the interval)"},
    {"retries", false, "", "failures in a row before DOWN, 1..100 (default: defaults.retries, 2)"},
};

}  // namespace

std::span<const CheckParamsType> check_params_types() {
  // Built on first use: the parameter lists live in the types' own files.
  static const std::array table{
      CheckParamsType{"http", validate_with<parse_http_params>,
                      "one HTTP request; up when the status and body checks pass",
                      http_param_info()},
      CheckParamsType{"https", validate_with<parse_http_params>,
                      "one HTTPS request; up when TLS, status and body checks pass",
                      http_param_info()},
      CheckParamsType{"icmp", validate_with<parse_icmp_params>,
                      "ICMP echo requests; up unless the loss exceeds max_loss_pct",
                      icmp_param_info()},
      CheckParamsType{"traceroute", validate_with<parse_traceroute_params>,
                      "echo requests with rising TTL; up when the host answers within max_hops",
                      traceroute_param_info()},
      CheckParamsType{"dns", validate_with<parse_dns_params>,
                      "one DNS query; up on NOERROR with answers holding every expect value",
                      dns_param_info()},
      CheckParamsType{"ntp", validate_with<parse_ntp_params>,
                      "one SNTP exchange; up on a sane reply within max_offset_ms",
                      ntp_param_info()},
      CheckParamsType{"tcp", validate_with<parse_tcp_params>,
                      "TCP connect, optionally send a payload and expect text back",
                      tcp_param_info()},
      CheckParamsType{"udp", validate_with<parse_udp_params>,
                      "send a datagram; up when the port's state is in success", udp_param_info()},
      CheckParamsType{"tcp_echo", validate_with<parse_tcp_echo_params>,
                      "send a payload over TCP; up when the same bytes come back",
                      echo_param_info()},
      CheckParamsType{"udp_echo", validate_with<parse_udp_echo_params>,
                      "send a datagram; up when the same bytes come back", echo_param_info()},
  };
  return table;
}

const CheckParamsType* find_check_params_type(std::string_view name) {
  for (const CheckParamsType& type : check_params_types()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

std::span<const ParamInfo> common_check_params() {
  return kCommonCheckParams;
}

Error unknown_check_type(const CheckSpec& spec) {
  std::string names;
  for (const CheckParamsType& type : check_params_types()) {
    if (!names.empty()) names += ", ";
    names += type.name;
  }
  return Error{check_error_prefix(spec) + "type '" + spec.type + "' is unknown (allowed: " + names +
               ")"};
}

Expected<void> validate_check(const CheckSpec& spec) {
  if (auto valid = validate_common_fields(spec); !valid) return valid.error();
  if (const CheckParamsType* type = find_check_params_type(spec.type)) return type->validate(spec);
  return unknown_check_type(spec);
}

}  // namespace netmon::checks
