#pragma once
// The manager's end of the control channel: a ROUTER bound on --control (see
// docs/PROTOCOL.md). It frames messages as [routing id, body] and applies
// the closed-peer rule: under ZMQ_ROUTER_MANDATORY a send to a connection
// that is gone fails at once (EHOSTUNREACH), and a reconnect gets a new
// routing id, so that connection is closed for good.

#include <optional>
#include <string>
#include <zmq.hpp>

#include "common/expected.hpp"
#include "common/protocol/messages.hpp"

namespace netmon::manager {

enum class SendOutcome {
  kSent,
  kBusy,    // the peer's queue is full; a later turn sends again
  kClosed,  // the connection is gone for good
};

struct ControlInput {
  std::string routing_id;
  zmq::message_t body;
  std::string peer;  // the connection's remote address (tcp, ipc); "" where there is none (inproc)
};

class ControlChannel {
 public:
  // Binds `endpoint`. Throws zmq::error_t.
  ControlChannel(zmq::context_t& context, const std::string& endpoint);

  // The endpoint actually bound (tcp port 0 resolved).
  const std::string& endpoint() const { return endpoint_; }
  void* handle() { return router_.handle(); }  // for zmq::poll
  // A message is queued to be received.
  bool input_pending();

  // The next queued message; nullopt when none is. A message not framed as
  // [routing id, body] is drained and returned as the Error that says how.
  std::optional<Expected<ControlInput>> receive();

  // Sends on a session's connection. Throws zmq::error_t on failures other
  // than a full queue or a closed connection.
  SendOutcome send(const std::string& routing_id, const protocol::ControlMessage& message);
  // An answer to a peer with no session (a REJECT): if it went away before
  // hearing it, there is nothing to keep.
  void send_to(const std::string& routing_id, const protocol::ControlMessage& message);
  // Whether the connection `routing_id` is still there, probed with a
  // HEARTBEAT (a full queue counts as there, just slow).
  bool reachable(const std::string& routing_id);

 private:
  zmq::socket_t router_;
  std::string endpoint_;
};

}  // namespace netmon::manager
