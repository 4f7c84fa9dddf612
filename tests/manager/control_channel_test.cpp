#include "manager/control_channel.hpp"

#include <gtest/gtest.h>

#include "common/protocol/codec.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

using testing::await;
using testing::unique_endpoint;

class ControlChannelTest : public ::testing::Test {
 protected:
  ControlChannelTest() { peer_.connect(channel_.endpoint()); }

  // The next message the channel receives, waiting for it up to the deadline.
  std::optional<Expected<ControlInput>> next() {
    std::optional<Expected<ControlInput>> input;
    (void)await([&] { return (input = channel_.receive()).has_value(); });
    return input;
  }

  zmq::context_t context_;
  ControlChannel channel_{context_, unique_endpoint("control")};
  zmq::socket_t peer_{context_, zmq::socket_type::dealer};
};

TEST_F(ControlChannelTest, ReceivesAPeersBodyUnderItsRoutingIdAndAnswersIt) {
  EXPECT_FALSE(channel_.receive()) << "nothing queued yet";
  const std::string body = protocol::encode(protocol::Heartbeat{});
  (void)peer_.send(zmq::buffer(body));
  auto input = next();
  ASSERT_TRUE(input);
  ASSERT_TRUE(*input) << input->error().message;
  EXPECT_EQ((*input)->body.to_string(), body);

  EXPECT_EQ(channel_.send((*input)->routing_id, protocol::Ack{"e", 3}), SendOutcome::kSent);
  zmq::message_t answer;
  ASSERT_TRUE(await([&] { return peer_.recv(answer, zmq::recv_flags::dontwait).has_value(); }));
  EXPECT_EQ(answer.to_string(), protocol::encode(protocol::Ack{"e", 3}));
  EXPECT_TRUE(channel_.reachable((*input)->routing_id));
}

TEST_F(ControlChannelTest, AMessageWithMoreThanOneBodyFrameIsDrainedAndReported) {
  (void)peer_.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
  (void)peer_.send(zmq::str_buffer("b"));
  auto input = next();
  ASSERT_TRUE(input);
  ASSERT_FALSE(*input);
  EXPECT_EQ(input->error().message, "control message with more than one body frame");
  EXPECT_FALSE(channel_.receive()) << "its frames were drained";
}

TEST_F(ControlChannelTest, ASendToAConnectionThatIsGoneFindsItClosed) {
  EXPECT_EQ(channel_.send("no-such-peer", protocol::Heartbeat{}), SendOutcome::kClosed);
  EXPECT_FALSE(channel_.reachable("no-such-peer"));
  channel_.send_to("no-such-peer", protocol::Heartbeat{});  // an answer to nobody is no error
}

}  // namespace
}  // namespace netmon::manager
