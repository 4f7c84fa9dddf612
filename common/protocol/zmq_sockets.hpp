#pragma once
// Socket options every NMP socket gets (PROTOCOL.md §2, §9). Header-only so
// that only the components that speak ZeroMQ link it; the engine never does.

#include <cstdint>
#include <zmq.hpp>

#include "common/protocol/messages.hpp"

namespace netmon::protocol {

inline constexpr int kLingerMs = 1000;
inline constexpr int kHighWaterMark = 100'000;
// Messages the broker queues per subscriber (XPUB) and per publisher (XSUB):
// what a peer that stops reading can cost it. Past it XPUB drops only the
// stalled subscriber's messages; subscribers hold bursts in their own RCVHWM.
inline constexpr int kBrokerHighWaterMark = 10'000;

// For every socket that takes network input: a message larger than the limit
// closes the connection instead of being allocated, and close() waits at most
// a second for unsent messages.
inline void apply_input_limits(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(kMaxMessageBytes));
  socket.set(zmq::sockopt::linger, kLingerMs);
}

// PUB and SUB sockets: room for a burst of 100 000 messages.
inline void apply_bus_watermarks(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
  socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
}

// The broker's XSUB (results in) and XPUB (results out): input limits on
// both, and kBrokerHighWaterMark messages per publisher and per subscriber.
inline void apply_broker_options(zmq::socket_t& xsub, zmq::socket_t& xpub) {
  apply_input_limits(xsub);
  apply_input_limits(xpub);
  xsub.set(zmq::sockopt::rcvhwm, kBrokerHighWaterMark);
  xpub.set(zmq::sockopt::sndhwm, kBrokerHighWaterMark);
}

}  // namespace netmon::protocol
