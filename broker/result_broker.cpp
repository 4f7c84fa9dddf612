#include "broker/result_broker.hpp"

#include <array>

#include "common/logging.hpp"
#include "common/protocol/zmq_sockets.hpp"

namespace netmon {
namespace {

std::string last_endpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

std::string unique_stop_endpoint() {
  static std::atomic<std::uint64_t> counter{0};
  return "inproc://netmon-broker-stop-" + std::to_string(counter++);
}

}  // namespace

ResultBroker::ResultBroker(zmq::context_t& context, const BrokerEndpoints& endpoints,
                           const LocalBindings& local)
    : in_(context, zmq::socket_type::xsub),
      out_(context, zmq::socket_type::xpub),
      stop_receiver_(context, zmq::socket_type::pair),
      stop_sender_(context, zmq::socket_type::pair) {
  protocol::apply_broker_options(in_, out_);
  in_.bind(endpoints.in);
  out_.bind(endpoints.out);
  in_endpoint_ = last_endpoint(in_);
  out_endpoint_ = last_endpoint(out_);
  if (!local.in.empty()) in_.bind(local.in);
  if (!local.out.empty()) out_.bind(local.out);
  // Subscribe upstream to everything, once (see the header).
  const std::array<char, 1> subscribe_all{'\x01'};
  in_.send(zmq::buffer(subscribe_all), zmq::send_flags::none);

  const std::string stop_endpoint = unique_stop_endpoint();
  stop_receiver_.bind(stop_endpoint);
  stop_sender_.connect(stop_endpoint);
  thread_ = std::thread([this] { run(); });
  component_logger("broker")->info("broker started in={} out={}", in_endpoint_, out_endpoint_);
}

ResultBroker::~ResultBroker() {
  stop();
}

void ResultBroker::stop() {
  if (!thread_.joinable()) return;
  stop_sender_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  thread_.join();
  const BrokerCounters totals = counters();
  component_logger("broker")->info(
      "broker stopped messages={} bytes={} subscriptions={} dropped={}", totals.messages,
      totals.bytes, totals.subscriptions, totals.dropped);
}

BrokerCounters ResultBroker::counters() const {
  return {messages_.load(), bytes_.load(), subscriptions_.load(), dropped_.load()};
}

void ResultBroker::run() {
  std::array<zmq::pollitem_t, 3> items{{
      {in_.handle(), 0, ZMQ_POLLIN, 0},
      {out_.handle(), 0, ZMQ_POLLIN, 0},
      {stop_receiver_.handle(), 0, ZMQ_POLLIN, 0},
  }};
  zmq::message_t part;
  // A received frame shares one of libzmq's 8 KiB receive buffers with its
  // neighbours, and keeps all of it alive while a stalled subscriber queues
  // it; the copy a subscriber queues holds only its own bytes (§9's bound).
  const auto forward = [this](const zmq::message_t& frame) {
    bytes_ += frame.size();
    zmq::message_t copy(frame.data(), frame.size());
    out_.send(copy, frame.more() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  };
  for (;;) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
    if (items[2].revents & ZMQ_POLLIN) return;
    if (items[0].revents & ZMQ_POLLIN) {
      // Forward whatever is queued, whole multipart messages at a time.
      while (in_.recv(part, zmq::recv_flags::dontwait)) {
        forward(part);
        while (part.more()) {
          if (!in_.recv(part, zmq::recv_flags::none)) break;
          forward(part);
        }
        ++messages_;
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      // Subscriptions stop here: upstream already sends everything.
      while (out_.recv(part, zmq::recv_flags::dontwait)) {
        if (!part.empty() && (part.data<char>()[0] == 0 || part.data<char>()[0] == 1)) {
          ++subscriptions_;
        } else {
          ++dropped_;
        }
      }
    }
  }
}

}  // namespace netmon
