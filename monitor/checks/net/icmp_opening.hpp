#pragma once
// Which ICMP socket a loop opens: an unprivileged datagram socket when
// net.ipv4.ping_group_range admits one of our groups, otherwise a raw one
// (CAP_NET_RAW); each is the other's fallback, and the error when neither
// opens names both fixes. Pure policy with an injectable opener, for tests.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::checks {

enum class IcmpSocketKind : std::uint8_t { kDatagram, kRaw };
std::string_view to_string(IcmpSocketKind kind);

// Creates a socket like ::socket(domain, type, protocol) (non-blocking,
// close-on-exec); returns the descriptor or -errno. Injectable for tests.
using IcmpSocketOpener = std::function<int(int domain, int type, int protocol)>;
int open_system_socket(int domain, int type, int protocol);

// What net.ipv4.ping_group_range says about this process.
struct PingGroupPolicy {
  std::optional<bool> datagram_allowed;  // nullopt: the sysctl could not be read or parsed
  std::string range;                     // the sysctl text, e.g. "1 0"
};

// Does the range text ("low high", inclusive) admit one of `groups`? nullopt
// when the text is not two numbers.
std::optional<bool> ping_group_range_allows(std::string_view range, std::span<const gid_t> groups);
// Reads /proc/sys/net/ipv4/ping_group_range for this process's egid and groups.
PingGroupPolicy read_ping_group_policy();

struct OpenedIcmpSocket {
  int fd = -1;
  IcmpSocketKind kind = IcmpSocketKind::kRaw;
};

// The selection: the datagram socket first unless the policy says it is not
// allowed, then the other kind. When neither opens the error names both fixes
// (the sysctl and CAP_NET_RAW).
Expected<OpenedIcmpSocket> open_icmp_socket(bool v6, const PingGroupPolicy& policy,
                                            const IcmpSocketOpener& open);

}  // namespace netmon::checks
