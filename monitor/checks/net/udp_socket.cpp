#include "monitor/checks/net/udp_socket.hpp"

namespace netmon::checks {

SocketError open_connected_udp(asio::ip::udp::socket& socket,
                               const asio::ip::udp::endpoint& endpoint) {
  std::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) return {ec, "socket"};
  socket.connect(endpoint, ec);
  if (ec) return {ec, "connect"};
  return {};
}

}  // namespace netmon::checks
