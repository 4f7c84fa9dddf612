#pragma once
// The results bus: XSUB in (monitors' and the manager's PUB sockets connect),
// XPUB out (subscribers connect). Runs its own thread; counts what it moves.
//
// The XSUB subscribes to everything once, at start, instead of forwarding
// subscribers' filters upstream: publishers then never depend on
// subscriptions travelling through a restarted broker (libzmq has reports of
// proxied pub/sub going silent after the proxy restarts), and XPUB does the
// per-subscriber filtering.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace netmon {

struct BrokerEndpoints {
  std::string in = "tcp://127.0.0.1:5556";
  std::string out = "tcp://127.0.0.1:5557";
};

// Optional second bindings (inproc://) for a process that embeds the broker:
// its own publisher and subscriber then skip the loopback TCP hop.
struct LocalBindings {
  std::string in;
  std::string out;
};

struct BrokerCounters {
  std::uint64_t messages = 0;       // multipart messages forwarded
  std::uint64_t bytes = 0;          // payload bytes forwarded
  std::uint64_t subscriptions = 0;  // subscribe/unsubscribe messages seen on XPUB
  std::uint64_t dropped = 0;        // malformed messages not forwarded
};

class ResultBroker {
 public:
  // Binds both sockets (throws zmq::error_t when an endpoint cannot be bound)
  // and starts forwarding on its own thread.
  ResultBroker(zmq::context_t& context, const BrokerEndpoints& endpoints,
               const LocalBindings& local = {});
  ResultBroker(const ResultBroker&) = delete;
  ResultBroker& operator=(const ResultBroker&) = delete;
  ~ResultBroker();  // stops and joins

  void stop();

  // The endpoints actually bound (a tcp port 0 resolved to the real port).
  const std::string& in_endpoint() const { return in_endpoint_; }
  const std::string& out_endpoint() const { return out_endpoint_; }

  BrokerCounters counters() const;

 private:
  void run();

  zmq::socket_t in_;
  zmq::socket_t out_;
  zmq::socket_t stop_receiver_;
  zmq::socket_t stop_sender_;
  std::string in_endpoint_;
  std::string out_endpoint_;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> subscriptions_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace netmon
