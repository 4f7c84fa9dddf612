#include "broker/result_broker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "common/protocol/zmq_sockets.hpp"
#include "tests/support/await.hpp"

namespace netmon {
namespace {

using Clock = std::chrono::steady_clock;

// Publishes `topic` + `body` every 20 ms until the subscriber receives a
// message or `deadline` passes (PUB/SUB drops until the subscription has
// propagated: the slow-joiner problem). Returns the received topic and body.
std::optional<std::pair<std::string, std::string>> publish_until_received(
    zmq::socket_t& publisher, zmq::socket_t& subscriber, const std::string& topic,
    const std::string& body, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    publisher.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    publisher.send(zmq::buffer(body), zmq::send_flags::none);
    zmq::pollitem_t item{subscriber.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    if (item.revents & ZMQ_POLLIN) {
      zmq::message_t got_topic, got_body;
      if (!subscriber.recv(got_topic) || !got_topic.more() || !subscriber.recv(got_body)) {
        return std::nullopt;
      }
      return std::make_pair(got_topic.to_string(), got_body.to_string());
    }
  }
  return std::nullopt;
}

// The body of the next message, waiting up to `timeout` for one.
bool receive_body(zmq::socket_t& subscriber, zmq::message_t& body,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(200)) {
  zmq::pollitem_t item{subscriber.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return false;
  do {
    if (!subscriber.recv(body)) return false;
  } while (body.more());
  return true;
}

class ResultBrokerTest : public ::testing::Test {
 protected:
  zmq::context_t context_;
};

TEST_F(ResultBrokerTest, ReportsTheBoundPortsWhenAskedForPortZero) {
  ResultBroker broker(context_, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  EXPECT_NE(broker.in_endpoint(), "tcp://127.0.0.1:0");
  EXPECT_EQ(broker.in_endpoint().rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_NE(broker.in_endpoint(), broker.out_endpoint());
}

TEST_F(ResultBrokerTest, ForwardsPublishedMessagesToSubscribersByTopicPrefix) {
  ResultBroker broker(context_, {"inproc://broker-in", "inproc://broker-out"});
  zmq::socket_t publisher(context_, zmq::socket_type::pub);
  publisher.connect(broker.in_endpoint());
  zmq::socket_t subscriber(context_, zmq::socket_type::sub);
  subscriber.set(zmq::sockopt::subscribe, "res/edge-1/");
  subscriber.connect(broker.out_endpoint());

  auto got = publish_until_received(publisher, subscriber, "res/edge-1/web", "body-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, "res/edge-1/web");
  EXPECT_EQ(got->second, "body-1");

  // Another monitor's topic is filtered out by the subscriber's prefix.
  auto other = publish_until_received(publisher, subscriber, "res/edge-2/web", "x",
                                      std::chrono::milliseconds(300));
  EXPECT_FALSE(other.has_value());
  EXPECT_GE(broker.counters().messages, 2u);
  EXPECT_GE(broker.counters().subscriptions, 1u);
}

TEST_F(ResultBrokerTest, LocalBindingsJoinTheSameBusAsTheNetworkEndpoints) {
  ResultBroker broker(context_, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"},
                      {"inproc://local-in", "inproc://local-out"});
  // A network publisher reaches a local subscriber...
  zmq::socket_t tcp_publisher(context_, zmq::socket_type::pub);
  tcp_publisher.connect(broker.in_endpoint());
  zmq::socket_t local_subscriber(context_, zmq::socket_type::sub);
  local_subscriber.set(zmq::sockopt::subscribe, "res/");
  local_subscriber.connect("inproc://local-out");
  auto got = publish_until_received(tcp_publisher, local_subscriber, "res/a/b", "from-tcp");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->second, "from-tcp");

  // ...and a local publisher reaches a network subscriber.
  zmq::socket_t local_publisher(context_, zmq::socket_type::pub);
  local_publisher.connect("inproc://local-in");
  zmq::socket_t tcp_subscriber(context_, zmq::socket_type::sub);
  tcp_subscriber.set(zmq::sockopt::subscribe, "evt/");
  tcp_subscriber.connect(broker.out_endpoint());
  got = publish_until_received(local_publisher, tcp_subscriber, "evt/monitor/a", "from-inproc");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->second, "from-inproc");
}

// The embedding manager's feed is an inproc pipe, whose capacity is the XPUB's
// high-water mark plus the SUB's own: a burst far beyond the broker's
// per-subscriber bound still reaches a manager that reads it late.
TEST_F(ResultBrokerTest, LocalSubscriberWithTheBusWatermarksHoldsABurstBeyondTheBrokersBound) {
  ResultBroker broker(context_, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"},
                      {"inproc://burst-in", "inproc://burst-out"});
  zmq::socket_t publisher(context_, zmq::socket_type::pub);
  publisher.set(zmq::sockopt::sndhwm, 0);
  publisher.connect(broker.in_endpoint());
  zmq::socket_t manager_feed(context_, zmq::socket_type::sub);
  protocol::apply_bus_watermarks(manager_feed);
  manager_feed.set(zmq::sockopt::subscribe, "res/");
  manager_feed.connect("inproc://burst-out");
  ASSERT_TRUE(publish_until_received(publisher, manager_feed, "res/a/b", "probe").has_value());

  const std::uint64_t before = broker.counters().messages;
  const int burst = 5 * protocol::kBrokerHighWaterMark;
  for (int i = 0; i < burst; ++i) {
    publisher.send(zmq::str_buffer("res/a/b"), zmq::send_flags::sndmore);
    publisher.send(zmq::str_buffer("burst"), zmq::send_flags::none);
  }
  // The feed reads only once the broker has forwarded the burst.
  (void)testing::await([&] { return broker.counters().messages >= before + burst; },
                       std::chrono::seconds(20));
  int received = 0;
  zmq::message_t part;
  while (receive_body(manager_feed, part)) {
    if (part.to_string_view() == "burst") ++received;  // a late probe is not the burst
  }
  EXPECT_EQ(received, burst);
}

TEST_F(ResultBrokerTest, PublishersAndSubscribersCarryOnAfterTheBrokerRestarts) {
  auto broker = std::make_unique<ResultBroker>(
      context_, BrokerEndpoints{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  const BrokerEndpoints bound{broker->in_endpoint(), broker->out_endpoint()};
  zmq::socket_t publisher(context_, zmq::socket_type::pub);
  publisher.connect(bound.in);
  zmq::socket_t subscriber(context_, zmq::socket_type::sub);
  subscriber.set(zmq::sockopt::subscribe, "res/");
  subscriber.connect(bound.out);
  ASSERT_TRUE(publish_until_received(publisher, subscriber, "res/a/b", "before").has_value());

  broker.reset();  // the broker dies; both peers keep their sockets
  // libzmq closes the old listeners on its I/O thread, shortly after the
  // sockets are closed: bind again until the ports are free (bounded).
  const auto bind_deadline = Clock::now() + std::chrono::seconds(5);
  while (!broker) {
    try {
      broker = std::make_unique<ResultBroker>(context_, bound);
    } catch (const zmq::error_t& e) {
      ASSERT_EQ(e.num(), EADDRINUSE) << e.what();
      ASSERT_LT(Clock::now(), bind_deadline) << "ports still taken after 5 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // backoff between binds
    }
  }

  // Drain anything queued from before, then require fresh traffic to flow.
  const auto end = Clock::now() + std::chrono::seconds(10);
  bool after_seen = false;
  while (!after_seen && Clock::now() < end) {
    auto got = publish_until_received(publisher, subscriber, "res/a/b", "after",
                                      std::chrono::milliseconds(200));
    after_seen = got && got->second == "after";
  }
  EXPECT_TRUE(after_seen) << "pub/sub through the restarted broker stayed silent";
}

TEST_F(ResultBrokerTest, ThrowsWhenTheEndpointIsTaken) {
  ResultBroker first(context_, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  EXPECT_THROW(ResultBroker(context_, {first.in_endpoint(), "tcp://127.0.0.1:0"}), zmq::error_t);
}

TEST_F(ResultBrokerTest, StopIsPromptAndIdempotent) {
  ResultBroker broker(context_, {"inproc://stop-in", "inproc://stop-out"});
  broker.stop();
  broker.stop();
  EXPECT_EQ(broker.counters().messages, 0u);
}

}  // namespace
}  // namespace netmon
