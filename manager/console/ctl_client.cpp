#include "manager/console/ctl_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace netmon::console {
namespace ctl = protocol::ctl;
namespace {

// Whether a process listens on the Unix socket at `path`: a socket file a
// killed manager left behind refuses connections, which libzmq would retry
// quietly until our deadline.
bool something_listens(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return true;  // libzmq will say what it thinks
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  const bool refused =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
      errno == ECONNREFUSED;
  ::close(fd);
  return !refused;
}

}  // namespace

std::string ipc_socket_path(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  if (!endpoint.starts_with(kIpc) || endpoint.size() == kIpc.size() || endpoint[kIpc.size()] == '@')
    return "";
  return endpoint.substr(kIpc.size());
}

CtlClient::CtlClient(zmq::context_t& context, std::string endpoint,
                     std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      socket_(context, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(endpoint_);
}

CallOutcome CtlClient::call(const std::string& command, const std::vector<std::string>& args,
                            std::optional<std::chrono::milliseconds> timeout) {
  const std::chrono::milliseconds wait = timeout ? std::min(*timeout, timeout_) : timeout_;
  CallOutcome outcome;
  // libzmq would wait for an ipc file to appear, or for a stale one to
  // start accepting; either means no manager now, and saying so at once
  // beats waiting out the timeout.
  if (const std::string path = ipc_socket_path(endpoint_); !path.empty()) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
      outcome.kind = CallOutcome::Kind::kNoManager;
      outcome.problem = "no socket file " + path;
      return outcome;
    }
    if (!something_listens(path)) {
      outcome.kind = CallOutcome::Kind::kNoManager;
      outcome.problem = "nothing listens on " + path + ", left by a manager that stopped";
      return outcome;
    }
  }
  const std::uint64_t id = next_id_++;
  const std::string body = ctl::encode_request(ctl::Request{id, command, args});
  // A DEALER with no connection yet queues the message; the deadline below covers both.
  (void)socket_.send(zmq::buffer(body), zmq::send_flags::dontwait);

  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    zmq::pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, cancel_fd_, ZMQ_POLLIN, 0}};
    int ready = 0;
    if (left.count() > 0) {
      try {
        ready = zmq::poll(items, cancel_fd_ >= 0 ? 2 : 1, left);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
        continue;  // a signal handler ran (SIGINT's writes the cancel pipe): look again
      }
    }
    if (ready == 0) {
      outcome.kind = CallOutcome::Kind::kNoManager;
      outcome.problem = "no reply within " + std::to_string(wait.count()) + " ms";
      return outcome;
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
      outcome.kind = CallOutcome::Kind::kCancelled;
      outcome.problem = "interrupted";
      return outcome;
    }
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
    bool extra_frames = false;
    while (frame.more()) {
      zmq::message_t rest;
      (void)socket_.recv(rest);
      frame.swap(rest);
      extra_frames = true;
    }
    outcome.kind = CallOutcome::Kind::kBadReply;
    if (extra_frames) {
      outcome.problem = "a reply of several frames (expected one)";
      return outcome;
    }
    if (frame.size() > ctl::kMaxReplyBytes) {
      outcome.problem = "a reply of " + std::to_string(frame.size()) +
                        " bytes, over the limit of " + std::to_string(ctl::kMaxReplyBytes);
      return outcome;
    }
    auto reply = ctl::decode_reply(frame.to_string_view());
    if (!reply) {
      outcome.problem = "a malformed reply: " + reply.error().message;
      return outcome;
    }
    if (reply->id != id) continue;  // the answer to a request that timed out earlier
    outcome.kind = CallOutcome::Kind::kReply;
    outcome.reply = std::move(reply).value();
    return outcome;
  }
}

}  // namespace netmon::console
