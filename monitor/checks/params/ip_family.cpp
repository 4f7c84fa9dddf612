#include "monitor/checks/params/ip_family.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>

namespace netmon::checks {
namespace {

// Whether `host` is an IPv6 literal (true), an IPv4 one (false) or a name.
// Reads literals as asio::ip::make_address does: IPv6 first, with an optional
// "%scope" suffix, then IPv4 in dotted-decimal form.
std::optional<bool> literal_is_v6(const std::string& host) {
  in6_addr v6{};
  const std::string unscoped = host.substr(0, host.find('%'));
  if (inet_pton(AF_INET6, unscoped.c_str(), &v6) == 1) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return false;
  return std::nullopt;
}

}  // namespace

IpFamily read_family(ParamReader& params, const std::string& host) {
  const std::string family = params.choice("family", {"any", "ipv4", "ipv6"}, "any");
  if (family == "any") return IpFamily::kAny;
  const bool v6 = family == "ipv6";
  const std::optional<bool> literal_v6 = literal_is_v6(host);
  if (literal_v6 && *literal_v6 != v6) {
    params.fail("host '" + host + "'", "is not an " + std::string(v6 ? "IPv6" : "IPv4") +
                                           " address (family " + family + ")");
  }
  return v6 ? IpFamily::kV6 : IpFamily::kV4;
}

}  // namespace netmon::checks
