#pragma once
// A stand-in for the manager's ctl socket: a ROUTER bound at an endpoint
// (ipc:// in a temp dir, so netmon-ctl processes reach it too), answering
// each request with what the test's handler returns, on a thread of its own.
// It keeps every request it got, for tests to look at what the client sent.

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/ctl_codec.hpp"

namespace netmon::testing {

namespace ctl = protocol::ctl;

class FakeManager {
 public:
  // The reply frames to send for a request; none: stay silent.
  using Handler = std::function<std::vector<std::string>(const ctl::Request&)>;

  FakeManager(std::string endpoint, Handler handler)
      : endpoint_(std::move(endpoint)),
        handler_(std::move(handler)),
        socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeManager() {
    stop_ = true;
    thread_.join();
  }
  FakeManager(const FakeManager&) = delete;
  FakeManager& operator=(const FakeManager&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  std::vector<ctl::Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // An ok reply to `request` with `message` and `data` (null: no data).
  static std::string ok(const ctl::Request& request, const std::string& message,
                        const nlohmann::json& data = nullptr) {
    return ctl::encode_reply(
        ctl::Reply{request.id, true, "", message, data.is_null() ? "" : data.dump()});
  }
  static std::string error(const ctl::Request& request, const std::string& code,
                           const std::string& message) {
    return ctl::encode_reply(ctl::Reply{request.id, false, code, message, ""});
  }

 private:
  void serve() {
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      // The timeout only bounds how soon the destructor is noticed.
      if (zmq::poll(&item, 1, std::chrono::milliseconds{20}) == 0) continue;
      zmq::message_t identity;
      zmq::message_t body;
      if (!socket_.recv(identity) || !identity.more() || !socket_.recv(body)) continue;
      auto request = ctl::decode_request(body.to_string_view());
      if (!request) continue;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(*request);
      }
      for (const std::string& frame : handler_(*request)) {
        socket_.send(zmq::buffer(identity.to_string_view()), zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(frame));
      }
    }
  }

  std::string endpoint_;
  Handler handler_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<ctl::Request> requests_;
  std::thread thread_;
};

}  // namespace netmon::testing
