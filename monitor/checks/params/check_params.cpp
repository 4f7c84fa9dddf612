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

constexpr std::array kCheckParamsTypes{
    CheckParamsType{"http", validate_with<parse_http_params>},
    CheckParamsType{"https", validate_with<parse_http_params>},
    CheckParamsType{"icmp", validate_with<parse_icmp_params>},
    CheckParamsType{"traceroute", validate_with<parse_traceroute_params>},
    CheckParamsType{"dns", validate_with<parse_dns_params>},
    CheckParamsType{"ntp", validate_with<parse_ntp_params>},
    CheckParamsType{"tcp", validate_with<parse_tcp_params>},
    CheckParamsType{"udp", validate_with<parse_udp_params>},
    CheckParamsType{"tcp_echo", validate_with<parse_tcp_echo_params>},
    CheckParamsType{"udp_echo", validate_with<parse_udp_echo_params>},
};

}  // namespace

std::span<const CheckParamsType> check_params_types() {
  return kCheckParamsTypes;
}

Error unknown_check_type(const CheckSpec& spec) {
  std::string names;
  for (const CheckParamsType& type : kCheckParamsTypes) {
    if (!names.empty()) names += ", ";
    names += type.name;
  }
  return Error{check_error_prefix(spec) + "type '" + spec.type + "' is unknown (allowed: " + names +
               ")"};
}

Expected<void> validate_check(const CheckSpec& spec) {
  if (auto valid = validate_common_fields(spec); !valid) return valid.error();
  for (const CheckParamsType& type : kCheckParamsTypes) {
    if (type.name == spec.type) return type.validate(spec);
  }
  return unknown_check_type(spec);
}

}  // namespace netmon::checks
