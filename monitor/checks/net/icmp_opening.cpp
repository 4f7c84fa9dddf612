#include "monitor/checks/net/icmp_opening.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace netmon::checks {
namespace {

std::string errno_text(int error) {
  return std::system_category().message(error);
}

}  // namespace

std::string_view to_string(IcmpSocketKind kind) {
  return kind == IcmpSocketKind::kDatagram ? "datagram" : "raw";
}

int open_system_socket(int domain, int type, int protocol) {
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return fd >= 0 ? fd : -errno;
}

std::optional<bool> ping_group_range_allows(std::string_view range, std::span<const gid_t> groups) {
  std::int64_t bounds[2] = {0, 0};
  std::size_t at = 0;
  for (std::int64_t& bound : bounds) {
    while (at < range.size() && (range[at] == ' ' || range[at] == '\t'))
      ++at;
    const auto [end, ec] = std::from_chars(range.data() + at, range.data() + range.size(), bound);
    if (ec != std::errc{}) return std::nullopt;
    at = static_cast<std::size_t>(end - range.data());
  }
  while (at < range.size() &&
         (range[at] == ' ' || range[at] == '\t' || range[at] == '\n' || range[at] == '\r')) {
    ++at;
  }
  if (at != range.size()) return std::nullopt;
  return std::any_of(groups.begin(), groups.end(), [&](gid_t gid) {
    return static_cast<std::int64_t>(gid) >= bounds[0] &&
           static_cast<std::int64_t>(gid) <= bounds[1];
  });
}

PingGroupPolicy read_ping_group_policy() {
  PingGroupPolicy policy;
  std::ifstream file("/proc/sys/net/ipv4/ping_group_range");
  if (!file) return policy;
  std::stringstream text;
  text << file.rdbuf();
  policy.range = text.str();
  while (!policy.range.empty() && (policy.range.back() == '\n' || policy.range.back() == ' ')) {
    policy.range.pop_back();
  }
  std::replace(policy.range.begin(), policy.range.end(), '\t', ' ');
  std::vector<gid_t> groups(1, ::getegid());
  const int extra = ::getgroups(0, nullptr);
  if (extra > 0) {
    groups.resize(1 + static_cast<std::size_t>(extra));
    const int got = ::getgroups(extra, groups.data() + 1);
    groups.resize(1 + static_cast<std::size_t>(std::max(got, 0)));
  }
  policy.datagram_allowed = ping_group_range_allows(policy.range, groups);
  return policy;
}

Expected<OpenedIcmpSocket> open_icmp_socket(bool v6, const PingGroupPolicy& policy,
                                            const IcmpSocketOpener& open) {
  const int domain = v6 ? AF_INET6 : AF_INET;
  const int protocol = v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
  const bool datagram_first = policy.datagram_allowed.value_or(true);
  const IcmpSocketKind order[2] = {
      datagram_first ? IcmpSocketKind::kDatagram : IcmpSocketKind::kRaw,
      datagram_first ? IcmpSocketKind::kRaw : IcmpSocketKind::kDatagram};
  int datagram_error = 0;
  int raw_error = 0;
  for (const IcmpSocketKind kind : order) {
    const bool datagram = kind == IcmpSocketKind::kDatagram;
    const int fd = open(domain, datagram ? SOCK_DGRAM : SOCK_RAW, protocol);
    if (fd >= 0) return OpenedIcmpSocket{fd, kind};
    (datagram ? datagram_error : raw_error) = -fd;
  }
  if (datagram_error == EAFNOSUPPORT && raw_error == EAFNOSUPPORT) {
    return Error{std::string("cannot open an ICMP socket for ") + (v6 ? "IPv6" : "IPv4") +
                 ": this kernel does not support the address family"};
  }
  std::string range_note =
      policy.range.empty() ? std::string("unreadable") : "'" + policy.range + "'";
  return Error{std::string("cannot open an ICMP socket for ") + (v6 ? "IPv6" : "IPv4") +
               ": an unprivileged ICMP socket needs this process's group in "
               "net.ipv4.ping_group_range (now " +
               range_note + "; allow it with `sysctl -w net.ipv4.ping_group_range=\"0 " +
               "2147483647\"`): " + errno_text(datagram_error) +
               "; a raw socket needs CAP_NET_RAW (run as root or `setcap cap_net_raw+ep` on "
               "the binary): " +
               errno_text(raw_error)};
}

}  // namespace netmon::checks
