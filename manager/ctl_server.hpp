#pragma once
// The manager's end of the operator console (docs/PROTOCOL.md §12): a ROUTER
// on the ctl endpoint, read by the manager's loop like its other sockets.
// Each request is [routing id, body]; a reply goes back to its routing id,
// never blocking (a client that stopped reading loses its reply, not the
// loop's time). A body that is not a request is answered with a
// `bad_request` error naming the problem, and counted.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "common/protocol/ctl_codec.hpp"

namespace netmon::manager {

struct CtlCall {
  std::string routing_id;
  protocol::ctl::Request request;
};

class CtlServer {
 public:
  // Binds `endpoint`. An ipc:// socket file is made mode 0660 (the manager's
  // user and group). Throws zmq::error_t, or std::runtime_error naming the path.
  CtlServer(zmq::context_t& context, const std::string& endpoint);

  const std::string& endpoint() const { return endpoint_; }
  void* handle() { return router_.handle(); }  // for zmq::poll

  // The next well-formed request; bad ones are answered and counted on the
  // way. nullopt when nothing (more) is queued.
  std::optional<CtlCall> receive();
  void reply(const std::string& routing_id, const protocol::ctl::Reply& reply);

  std::uint64_t bad_requests() const { return bad_requests_; }
  std::uint64_t dropped_replies() const { return dropped_replies_; }

 private:
  zmq::socket_t router_;
  std::string endpoint_;
  std::atomic<std::uint64_t> bad_requests_{0}, dropped_replies_{0};
};

}  // namespace netmon::manager
