// Bad input on every socket that takes it (PROTOCOL.md §3, §9): malformed,
// truncated, oversized and unknown messages are dropped and counted while
// good traffic keeps flowing. Over inproc:// ZMQ_MAXMSGSIZE does not apply
// (no wire decoder), so an oversized body reaches the NMP decoder and its
// unpack limits must refuse it.

#include <gtest/gtest.h>

#include "common/protocol/codec.hpp"
#include "tests/support/inproc_cluster.hpp"

namespace netmon::testing {
namespace {

// Replaces the first occurrence of `from` with `to` (same length, so the
// msgpack framing stays valid and only the meaning changes).
std::string patched(std::string bytes, std::string_view from, std::string_view to) {
  const auto at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << "pattern not in the encoded message";
  EXPECT_EQ(from.size(), to.size());
  if (at != std::string::npos) {
    bytes.replace(at, from.size(), to);
  }
  return bytes;
}

// A msgpack str of `bytes` bytes: above the decoder's 1 MiB string limit.
std::string oversized_body() {
  constexpr std::uint32_t kBytes = 3u << 20;  // 3 MiB
  std::string body = "\x81\xa5proto\xdb";     // {"proto": str32 ...}
  for (int shift = 24; shift >= 0; shift -= 8) {
    body.push_back(static_cast<char>((kBytes >> shift) & 0xff));
  }
  body.append(kBytes, 'x');
  return body;
}

// Bodies every NMP decoder must refuse, by name (for the failure message).
std::vector<std::pair<std::string, std::string>> bad_control_bodies() {
  protocol::Hello hello;
  hello.name = "edge-1";
  hello.instance = random_hex(32);
  hello.epoch = random_hex(16);
  const auto good = protocol::encode(hello);
  return {
      {"empty", ""},
      {"not msgpack", "\xc1garbage"},
      {"not a map", "\x05"},
      {"truncated", good.substr(0, good.size() / 2)},
      {"bad signature", patched(good, "\xa3NMP", "\xa3XMP")},
      {"unknown type", patched(protocol::encode(protocol::Heartbeat{}), "HEARTBEAT", "HEARTBEEP")},
      {"oversized", oversized_body()},
  };
}

class InprocRobustness : public ::testing::Test {
 protected:
  InprocCluster cluster_;
};

TEST_F(InprocRobustness, ManagerCountsAndIgnoresBadControlMessagesWhileResultsKeepBeingStored) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto agent = cluster_.start_agent(cluster_.monitor_options("edge-1", 200));
  ASSERT_TRUE(await([&] { return manager->stats().stored >= 50; }));
  const auto before = manager->stats();

  FakeMonitor raw(cluster_.context, cluster_.control);
  const auto bodies = bad_control_bodies();
  for (const auto& [what, body] : bodies) {
    raw.send_raw(body);
  }
  // A well-formed message from a peer that never said HELLO.
  raw.send(protocol::Heartbeat{});

  EXPECT_TRUE(await([&] {
    return manager->stats().malformed_control >= before.malformed_control + bodies.size();
  })) << "malformed_control grew by "
      << manager->stats().malformed_control - before.malformed_control << " for " << bodies.size()
      << " bad messages";
  EXPECT_TRUE(await([&] { return manager->stats().unknown_peers > before.unknown_peers; }))
      << "a HEARTBEAT from an unknown peer was not counted";
  const auto after_bad = manager->stats().stored;
  EXPECT_TRUE(await([&] { return manager->stats().stored >= after_bad + 50; }))
      << "results stopped being stored after bad control input";
  EXPECT_TRUE(agent->stats().connected);
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
}

TEST_F(InprocRobustness, ManagerRejectsAHelloOfAnotherProtocolVersion) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  FakeMonitor raw(cluster_.context, cluster_.control);
  raw.send_raw(patched(protocol::encode(raw.hello("edge-1")), "\xa1v\x01", "\xa1v\x02"));
  const auto reject = raw.await_message<protocol::Reject>();
  ASSERT_TRUE(reject) << "no REJECT for a version 2 HELLO";
  EXPECT_EQ(reject->reason, "bad_version");
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "NEVER_SEEN");
}

TEST_F(InprocRobustness, ManagerCountsAndIgnoresBadMessagesOnTheResultsBus) {
  auto manager = cluster_.start_manager();
  ASSERT_TRUE(manager);
  auto agent = cluster_.start_agent(cluster_.monitor_options("edge-1", 200));
  ASSERT_TRUE(await([&] { return manager->stats().stored >= 50; }));

  zmq::socket_t publisher(cluster_.context, zmq::socket_type::pub);
  publisher.set(zmq::sockopt::linger, 0);
  publisher.connect(cluster_.broker_in);
  // PUB drops until the broker's subscription has reached it: wait until a
  // probe on a topic nobody stores comes out of the broker.
  zmq::socket_t probe(cluster_.context, zmq::socket_type::sub);
  probe.set(zmq::sockopt::linger, 0);
  probe.set(zmq::sockopt::subscribe, "probe/");
  probe.connect(cluster_.broker_out);
  ASSERT_TRUE(await([&] {
    publisher.send(zmq::str_buffer("probe/x"), zmq::send_flags::sndmore);
    publisher.send(zmq::str_buffer("x"), zmq::send_flags::none);
    return receive(probe, std::chrono::milliseconds(10)).has_value();
  })) << "the raw publisher never got through the broker";

  const auto before = manager->stats();
  protocol::Record record;
  record.key = {"edge-1", 1, random_hex(16), 1};
  CheckResult result;
  result.check_id = "x";
  result.type = "tcp";
  record.body = result;
  const auto good = protocol::encode_record(record);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"garbage", "\xc1garbage"},
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"bad signature", patched(good, "\xa3NMP", "\xa3XMP")},
      {"unknown type", patched(good, "RESULT", "RESULZ")},
      {"oversized", oversized_body()},
  };
  for (const auto& [what, body] : bad) {
    publisher.send(zmq::str_buffer("res/edge-1/x"), zmq::send_flags::sndmore);
    publisher.send(zmq::buffer(body), zmq::send_flags::none);
  }
  // Framing errors: a topic alone, and three frames.
  publisher.send(zmq::str_buffer("res/edge-1/x"), zmq::send_flags::none);
  publisher.send(zmq::str_buffer("res/edge-1/x"), zmq::send_flags::sndmore);
  publisher.send(zmq::buffer(good), zmq::send_flags::sndmore);
  publisher.send(zmq::str_buffer("extra"), zmq::send_flags::none);
  const std::uint64_t bad_count = bad.size() + 2;

  EXPECT_TRUE(await([&] {
    return manager->stats().malformed_results >= before.malformed_results + bad_count;
  })) << "malformed_results grew by "
      << manager->stats().malformed_results - before.malformed_results << " for " << bad_count
      << " bad messages";
  const auto after_bad = manager->stats().stored;
  EXPECT_TRUE(await([&] { return manager->stats().stored >= after_bad + 50; }))
      << "results stopped being stored after bad bus input";
}

TEST_F(InprocRobustness, MonitorCountsAndIgnoresBadControlMessagesAndKeepsItsSession) {
  FakeManager fake(cluster_.context, cluster_.control);
  auto agent = cluster_.start_agent(cluster_.monitor_options("edge-1", InprocCluster::kQuietRate));
  const auto hello = fake.await_message<protocol::Hello>();
  ASSERT_TRUE(hello);
  const auto& peer = hello->first;
  // Long intervals: only the test's messages matter here, not liveness.
  fake.send(peer, protocol::Welcome{7, 0, 5000, 5});
  ASSERT_TRUE(await([&] { return agent->stats().connected; }));
  const auto before = agent->stats().malformed;

  auto bodies = bad_control_bodies();
  const auto welcome = protocol::encode(protocol::Welcome{7, 0, 5000, 5});
  bodies.emplace_back("truncated welcome", welcome.substr(0, welcome.size() - 3));
  for (const auto& [what, body] : bodies) {
    fake.send_raw(peer, body);
  }
  EXPECT_TRUE(await([&] { return agent->stats().malformed >= before + bodies.size(); }))
      << "malformed grew by " << agent->stats().malformed - before << " for " << bodies.size()
      << " bad messages";

  // Good traffic still works: a CONFIG is applied and acknowledged.
  CheckSpec check;
  check.id = "port-9";
  check.type = "tcp";
  check.interval = std::chrono::hours(1);
  check.params = {{"host", std::string("127.0.0.1")}, {"port", std::string("9")}};
  fake.send(peer, protocol::Config{1, {check}});
  const auto ack = fake.await_message<protocol::ConfigAck>();
  ASSERT_TRUE(ack) << "no CONFIG_ACK after bad input";
  EXPECT_EQ(ack->second.version, 1u);
  EXPECT_EQ(ack->second.error, "");
  EXPECT_EQ(ack->second.digests.at("port-9"), protocol::check_digest(check));
  EXPECT_TRUE(agent->stats().connected);
  EXPECT_TRUE(await([&] { return agent->stats().config_version == 1; }));
}

}  // namespace
}  // namespace netmon::testing
