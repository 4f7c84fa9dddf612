#pragma once
// Socket options every NMP socket gets (PROTOCOL.md §2). Header-only so that
// only the components that speak ZeroMQ link it; the engine never does.

#include <cstdint>
#include <zmq.hpp>

#include "common/protocol/messages.hpp"

namespace netmon::protocol {

inline constexpr int kLingerMs = 1000;
inline constexpr int kHighWaterMark = 100'000;

// For every socket that takes network input: a message larger than the limit
// closes the connection instead of being allocated, and close() waits at most
// a second for unsent messages.
inline void apply_input_limits(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(kMaxMessageBytes));
  socket.set(zmq::sockopt::linger, kLingerMs);
}

// PUB, XPUB and SUB sockets: room for a burst of 100 000 messages.
inline void apply_bus_watermarks(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
  socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
}

}  // namespace netmon::protocol
