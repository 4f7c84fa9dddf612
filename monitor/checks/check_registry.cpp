#include "monitor/checks/check_registry.hpp"

#include <array>
#include <unordered_set>

#include "monitor/checks/dns_check.hpp"
#include "monitor/checks/echo_check.hpp"
#include "monitor/checks/http_check.hpp"
#include "monitor/checks/icmp_check.hpp"
#include "monitor/checks/ntp_check.hpp"
#include "monitor/checks/params/check_params.hpp"
#include "monitor/checks/tcp_check.hpp"
#include "monitor/checks/traceroute_check.hpp"
#include "monitor/checks/udp_check.hpp"

namespace netmon::checks {
namespace {

// The types of params/check_params.cpp, in its order (a test holds them equal).
constexpr std::array kCheckTypes{
    CheckType{"http", parse_http_check},         CheckType{"https", parse_http_check},
    CheckType{"icmp", parse_icmp_check},         CheckType{"traceroute", parse_traceroute_check},
    CheckType{"dns", parse_dns_check},           CheckType{"ntp", parse_ntp_check},
    CheckType{"tcp", parse_tcp_check},           CheckType{"udp", parse_udp_check},
    CheckType{"tcp_echo", parse_tcp_echo_check}, CheckType{"udp_echo", parse_udp_echo_check},
};

}  // namespace

std::span<const CheckType> check_types() {
  return kCheckTypes;
}

Expected<PreparedCheck> prepare_check(const CheckSpec& spec) {
  if (auto valid = validate_common_fields(spec); !valid) return valid.error();
  for (const CheckType& type : kCheckTypes) {
    if (type.name != spec.type) continue;
    auto check = type.parse(spec);
    if (!check) return check.error();
    std::string target = (*check)->target();
    return PreparedCheck{spec, std::move(check).value(), std::move(target)};
  }
  return unknown_check_type(spec);
}

Expected<std::vector<PreparedCheck>> prepare_checks(std::span<const CheckSpec> specs) {
  std::vector<PreparedCheck> prepared;
  prepared.reserve(specs.size());
  std::unordered_set<std::string_view> ids;
  for (const CheckSpec& spec : specs) {
    auto check = prepare_check(spec);
    if (!check) return check.error();
    if (!ids.insert(spec.id).second) {
      return Error{check_error_prefix(spec) + "id is used by another check"};
    }
    prepared.push_back(std::move(check).value());
  }
  return prepared;
}

}  // namespace netmon::checks
