#pragma once
// A console client for the manager's tests, as netmon-ctl is one: a DEALER
// on the ctl endpoint, requests with ids, replies matched by id.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/ctl_codec.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager::testing {

class CtlClient {
 public:
  CtlClient(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::sndhwm, 0);  // a flood is queued, not refused
    socket_.connect(endpoint);
  }

  std::uint64_t send(const std::string& command, std::vector<std::string> args = {}) {
    const std::uint64_t id = ++next_id_;
    send_raw(protocol::ctl::encode_request(protocol::ctl::Request{id, command, std::move(args)}));
    return id;
  }
  void send_raw(const std::string& body) { socket_.send(zmq::buffer(body)); }

  protocol::ctl::Reply call(const std::string& command, std::vector<std::string> args = {}) {
    return await_reply(send(command, std::move(args)));
  }
  protocol::ctl::Reply await_reply(std::uint64_t id,
                                   std::chrono::milliseconds timeout = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto frames = receive(socket_, 5ms);
      if (!frames || frames->size() != 1) continue;
      auto reply = protocol::ctl::decode_reply(frames->front());
      if (reply && reply->id == id) return *reply;
    }
    return protocol::ctl::Reply{id, false, "timeout", "no reply", ""};
  }

 private:
  zmq::socket_t socket_;
  std::uint64_t next_id_ = 0;
};

}  // namespace netmon::manager::testing
