#include "manager/control_channel.hpp"

#include <cerrno>

#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"

namespace netmon::manager {

ControlChannel::ControlChannel(zmq::context_t& context, const std::string& endpoint)
    : router_(context, zmq::socket_type::router) {
  router_.set(zmq::sockopt::router_mandatory, 1);
  protocol::apply_input_limits(router_);
  router_.bind(endpoint);
  endpoint_ = router_.get(zmq::sockopt::last_endpoint);
}

bool ControlChannel::input_pending() {
  return (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
}

std::optional<Expected<ControlInput>> ControlChannel::receive() {
  zmq::message_t routing;
  if (!router_.recv(routing, zmq::recv_flags::dontwait)) return std::nullopt;
  if (!routing.more()) {  // a ROUTER always prepends the routing id; nothing to answer
    return Expected<ControlInput>(Error{"control message without a body"});
  }
  zmq::message_t body;
  (void)router_.recv(body, zmq::recv_flags::none);
  if (body.more()) {
    while (body.more())
      (void)router_.recv(body, zmq::recv_flags::none);
    return Expected<ControlInput>(Error{"control message with more than one body frame"});
  }
  std::string peer;
  try {
    peer = body.gets("Peer-Address");
  } catch (const zmq::error_t&) {
    // inproc connections have no address
  }
  return Expected<ControlInput>(
      ControlInput{routing.to_string(), std::move(body), std::move(peer)});
}

SendOutcome ControlChannel::send(const std::string& routing_id,
                                 const protocol::ControlMessage& message) {
  const std::string bytes = protocol::encode(message);
  try {
    if (router_.send(zmq::buffer(routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      return SendOutcome::kSent;
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return SendOutcome::kClosed;
    throw;
  }
  return SendOutcome::kBusy;
}

void ControlChannel::send_to(const std::string& routing_id,
                             const protocol::ControlMessage& message) {
  const std::string bytes = protocol::encode(message);
  try {
    if (router_.send(zmq::buffer(routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t&) {
    // The peer went away before hearing its answer; nothing to keep.
  }
}

bool ControlChannel::reachable(const std::string& routing_id) {
  try {
    const std::string bytes = protocol::encode(protocol::Heartbeat{});
    if (!router_.send(zmq::buffer(routing_id),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return true;  // its queue is full: it is there, just slow
    }
    (void)router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    return true;
  } catch (const zmq::error_t& e) {
    return e.num() != EHOSTUNREACH;
  }
}

}  // namespace netmon::manager
