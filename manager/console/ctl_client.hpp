#pragma once
// The client end of the manager's ctl socket (PROTOCOL.md, ctl): a DEALER
// that sends one request frame and waits, up to a deadline, for the reply
// frame with the same id. Replies to earlier requests that timed out are
// skipped. Everything received is untrusted: an oversized, multi-frame or
// undecodable reply is an outcome with a message, never an exception.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/ctl_codec.hpp"

namespace netmon::console {

struct CallOutcome {
  enum class Kind {
    kReply,      // `reply` holds the manager's answer (ok or an error reply)
    kNoManager,  // nothing answered before the deadline, or the ipc socket file is missing
    kBadReply,   // something answered, but not with a reply we accept
    kCancelled,  // the cancel descriptor became readable first (Ctrl+C in the shell)
  };
  Kind kind = Kind::kReply;
  protocol::ctl::Reply reply;
  std::string problem;  // kNoManager, kBadReply: what happened, for the user
};

class CtlClient {
 public:
  // Connects a DEALER (linger 0: a client that gives up must not hang on
  // exit) to `endpoint`; throws zmq::error_t for an endpoint libzmq refuses.
  CtlClient(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout);

  // Sends the request and waits for its reply up to `timeout` (the
  // client's when not given, or when the client's is shorter).
  CallOutcome call(const std::string& command, const std::vector<std::string>& args,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // A descriptor whose readability ends a wait early (kCancelled); -1: none.
  // The client only polls it: whoever owns it empties it.
  void set_cancel_fd(int fd) { cancel_fd_ = fd; }

  const std::string& endpoint() const { return endpoint_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  zmq::socket_t socket_;
  std::uint64_t next_id_ = 1;
  int cancel_fd_ = -1;
};

// The path of an ipc:// endpoint's socket file ("" for other transports and
// for Linux abstract sockets, ipc://@name, which have no file).
std::string ipc_socket_path(const std::string& endpoint);

}  // namespace netmon::console
