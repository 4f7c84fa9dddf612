#pragma once
// The connected, non-blocking UDP socket the datagram checks (ntp, udp,
// udp_echo, dns) send from.

#include <asio/ip/udp.hpp>
#include <string_view>
#include <system_error>

namespace netmon::checks {

// A socket call that failed: the error and its step, for socket_outcome().
struct SocketError {
  std::error_code code;
  std::string_view step;  // "socket" (opening it: always a local failure) or "connect"
  explicit operator bool() const { return static_cast<bool>(code); }
};

// Opens `socket` for `endpoint`, non-blocking, and connects it: the kernel then
// drops datagrams from anyone but the target and reports ICMP port unreachable
// as ECONNREFUSED on the next send or receive.
SocketError open_connected_udp(asio::ip::udp::socket& socket,
                               const asio::ip::udp::endpoint& endpoint);

}  // namespace netmon::checks
