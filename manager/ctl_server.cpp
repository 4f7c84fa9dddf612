#include "manager/ctl_server.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/protocol/zmq_sockets.hpp"
#include "common/text.hpp"

namespace netmon::manager {
namespace {

namespace ctl = protocol::ctl;

constexpr std::string_view kIpcScheme = "ipc://";

}  // namespace

CtlServer::CtlServer(zmq::context_t& context, const std::string& endpoint)
    : router_(context, zmq::socket_type::router) {
  // Requests up to 1 MiB are read and refused with a reply; larger ones
  // close the connection before they are allocated.
  protocol::apply_input_limits(router_);
  router_.set(zmq::sockopt::linger, 0);
  router_.bind(endpoint);
  endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  if (endpoint_.starts_with(kIpcScheme)) {
    const std::string path = endpoint_.substr(kIpcScheme.size());
    if (::chmod(path.c_str(), 0660) != 0) {
      throw std::runtime_error("--ctl " + endpoint + ": cannot make the socket " + path +
                               " mode 0660: " + std::strerror(errno));
    }
  }
}

std::optional<CtlCall> CtlServer::receive() {
  for (;;) {
    zmq::message_t routing;
    if (!router_.recv(routing, zmq::recv_flags::dontwait)) return std::nullopt;
    if (!routing.more()) {  // a ROUTER always prepends the routing id
      ++bad_requests_;
      continue;
    }
    zmq::message_t body;
    (void)router_.recv(body, zmq::recv_flags::none);
    std::string problem;
    if (body.more()) {
      while (body.more())
        (void)router_.recv(body, zmq::recv_flags::none);
      problem = "a request is one frame (this one had more)";
    }
    if (problem.empty()) {
      auto request = ctl::decode_request(body.to_string_view());
      if (request) return CtlCall{routing.to_string(), std::move(request).value()};
      problem = request.error().message;
    }
    ++bad_requests_;
    reply(routing.to_string(), ctl::Reply{ctl::request_id_of(body.to_string_view()), false,
                                          "bad_request", "bad request: " + problem, ""});
  }
}

void CtlServer::reply(const std::string& routing_id, const ctl::Reply& reply) {
  // Whatever a caller echoed into a reply (an exception's text, a decoder's
  // complaint about a key), the client gets valid UTF-8.
  ctl::Reply sent = reply;
  for (std::string* text : {&sent.code, &sent.message, &sent.data}) {
    if (!is_valid_utf8(*text)) *text = to_valid_utf8(*text);
  }
  const std::string bytes = ctl::encode_reply(sent);
  try {
    if (router_.send(zmq::buffer(routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      return;
    }
  } catch (const zmq::error_t&) {
    // The client went away before its answer: nothing to keep.
  }
  ++dropped_replies_;
}

}  // namespace netmon::manager
