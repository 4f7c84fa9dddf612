#include "manager/monitor_session.hpp"

#include <gtest/gtest.h>

#include <variant>

#include "common/logging.hpp"

namespace netmon::manager {
namespace {

using std::chrono::milliseconds;
using TimePoint = MonitorSession::TimePoint;

// Records what a session asks of its loop; no socket, store or clock.
class FakeHost : public SessionHost {
 public:
  struct Sent {
    std::string routing_id;
    protocol::ControlMessage message;
  };

  SendOutcome send(const std::string& routing_id, std::string_view,
                   const protocol::ControlMessage& message) override {
    if (outcome == SendOutcome::kSent) sent.push_back({routing_id, message});
    return outcome;
  }
  void send_to(const std::string& routing_id, const protocol::ControlMessage& message) override {
    answered.push_back({routing_id, message});
  }
  bool reachable(const std::string&) override { return old_connection_there; }
  void emit(protocol::Event event) override { events.push_back(std::move(event)); }
  void store(std::uint64_t, protocol::Record record) override {
    stored.push_back(std::move(record));
  }
  void malformed(const std::string& text, TimePoint) override { malformed_lines.push_back(text); }
  void rejected(const std::string& text, TimePoint) override { rejected_lines.push_back(text); }
  void count(SessionCount what) override { ++counts[what]; }
  const DesiredConfig& desired(const std::string&) override { return config; }
  SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch) override {
    return trackers[{monitor_id, epoch}];
  }
  void forget_tracker(std::uint64_t monitor_id, const std::string& epoch) override {
    trackers.erase({monitor_id, epoch});
  }

  template <class T>
  std::vector<T> sent_of_type() const {
    std::vector<T> found;
    for (const Sent& s : sent) {
      if (const auto* m = std::get_if<T>(&s.message)) found.push_back(*m);
    }
    return found;
  }

  SendOutcome outcome = SendOutcome::kSent;
  bool old_connection_there = true;
  DesiredConfig config;
  std::vector<Sent> sent, answered;
  std::vector<protocol::Event> events;
  std::vector<protocol::Record> stored;
  std::vector<std::string> malformed_lines, rejected_lines;
  std::map<SessionCount, int> counts;
  std::map<std::pair<std::uint64_t, std::string>, SeqTracker> trackers;
};

class MonitorSessionTest : public ::testing::Test {
 protected:
  MonitorSessionTest() {
    host_.config.version = 2;
    CheckSpec web;
    web.id = "web";
    web.type = "tcp";
    host_.config.checks = {web};
    host_.config.digests = {{"web", "digest-web"}};
  }

  protocol::Hello hello(std::uint64_t config_version = 2, std::string instance = "i-1") {
    protocol::Hello h;
    h.name = "edge-1";
    h.instance = std::move(instance);
    h.config_version = config_version;
    h.epoch = "e1";
    return h;
  }

  // HELLO on "conn-1", then forgets what that sent.
  void connect() {
    session_.welcome("conn-1", hello(), 7, now_);
    host_.sent.clear();
    host_.events.clear();
  }

  protocol::Record result(std::uint64_t seq) {
    protocol::Record record;
    record.key = {"edge-1", 7, "e1", seq};
    CheckResult r;
    r.check_id = "web";
    record.body = r;
    return record;
  }

  FakeHost host_;
  LogLimiter peer_{"peer", 10, std::chrono::seconds(10)},
      config_{"CONFIG_ACK", 10, std::chrono::seconds(10)},
      replay_{"REPLAY_REQ", 10, std::chrono::seconds(10)},
      connect_{"monitor connected", 10, std::chrono::seconds(10)};
  const SessionTiming timing_{milliseconds(1000), 3};
  MonitorSession session_{
      "edge-1", timing_, SessionLog{component_logger("manager"), peer_, config_, replay_, connect_},
      host_};
  TimePoint now_ = TimePoint{std::chrono::hours(1)};
};

TEST(MonitorState, IsNamedOnTheWireAsDocsProtocolSays) {
  EXPECT_EQ(to_string(MonitorState::kNeverSeen), "NEVER_SEEN");
  EXPECT_EQ(to_string(MonitorState::kConnected), "CONNECTED");
  EXPECT_EQ(to_string(MonitorState::kLost), "LOST");
  EXPECT_EQ(to_string(MonitorState::kStopped), "STOPPED");
}

TEST_F(MonitorSessionTest, AHelloIsWelcomedWithTheStoredSeqAndGetsTheConfigItLacks) {
  host_.tracker(7, "e1").add_range(1, 5, now_);
  session_.welcome("conn-1", hello(1), 7, now_);
  EXPECT_EQ(session_.state(), MonitorState::kConnected);
  ASSERT_EQ(host_.sent.size(), 2u);
  EXPECT_EQ(host_.sent[0].routing_id, "conn-1");
  EXPECT_EQ(std::get<protocol::Welcome>(host_.sent[0].message), (protocol::Welcome{7, 5, 1000, 3}));
  EXPECT_EQ(std::get<protocol::Config>(host_.sent[1].message).version, 2u);
  ASSERT_EQ(host_.events.size(), 1u);
  EXPECT_EQ(host_.events[0].from, "NEVER_SEEN");
  EXPECT_EQ(host_.events[0].to, "CONNECTED");
  EXPECT_EQ(host_.events[0].text, "monitor edge-1 NEVER_SEEN -> CONNECTED (said HELLO)");
}

TEST_F(MonitorSessionTest, AHelloWithTheCurrentConfigGetsNoConfig) {
  session_.welcome("conn-1", hello(2), 7, now_);
  EXPECT_TRUE(host_.sent_of_type<protocol::Config>().empty());
  EXPECT_EQ(session_.acked_config_version(), 2u);
}

TEST_F(MonitorSessionTest, ASilentMonitorIsLostAfterLivenessIntervalsUnlessInputIsQueued) {
  connect();
  EXPECT_FALSE(session_.tick(now_ + milliseconds(2999), false));
  EXPECT_EQ(session_.state(), MonitorState::kConnected);
  EXPECT_FALSE(session_.tick(now_ + milliseconds(3000), true));
  EXPECT_EQ(session_.state(), MonitorState::kConnected) << "queued input may be its proof of life";
  EXPECT_FALSE(session_.tick(now_ + milliseconds(3000), false));
  EXPECT_EQ(session_.state(), MonitorState::kLost);
  ASSERT_FALSE(host_.events.empty());
  EXPECT_EQ(host_.events.back().text,
            "monitor edge-1 CONNECTED -> LOST (silent for 3 heartbeat intervals)");

  protocol::ControlMessage heartbeat = protocol::Heartbeat{};
  session_.receive(heartbeat, now_ + milliseconds(3500));
  EXPECT_EQ(session_.state(), MonitorState::kConnected) << "any message connects a LOST one";
}

TEST_F(MonitorSessionTest, AClosedConnectionStopsSendsAndIsLostOneHeartbeatLater) {
  connect();
  host_.outcome = SendOutcome::kClosed;
  EXPECT_FALSE(session_.tick(now_ + milliseconds(1000), false));  // its heartbeat finds it closed
  host_.outcome = SendOutcome::kSent;
  EXPECT_FALSE(session_.tick(now_ + milliseconds(1500), false));
  EXPECT_TRUE(host_.sent.empty()) << "nothing is sent to a closed connection";
  EXPECT_FALSE(session_.tick(now_ + milliseconds(2000), true)) << "its HELLO may be queued";
  const auto released = session_.tick(now_ + milliseconds(2000), false);
  ASSERT_TRUE(released);
  EXPECT_EQ(*released, "conn-1");
  EXPECT_EQ(session_.state(), MonitorState::kLost);
  EXPECT_EQ(host_.events.back().text, "monitor edge-1 CONNECTED -> LOST (its connection closed)");
}

TEST_F(MonitorSessionTest, AGapOlderThanAHeartbeatIsAskedForOnceUpToTheAnnouncedSeq) {
  connect();
  host_.tracker(7, "e1").add(1, now_);
  host_.tracker(7, "e1").add(9, now_);
  protocol::ControlMessage heartbeat = protocol::Heartbeat{"e1", 6};
  session_.receive(heartbeat, now_);
  (void)session_.tick(now_ + milliseconds(999), false);
  EXPECT_TRUE(host_.sent_of_type<protocol::ReplayReq>().empty()) << "younger than a heartbeat";
  (void)session_.tick(now_ + milliseconds(1000), false);
  (void)session_.tick(now_ + milliseconds(1100), false);
  const auto requests = host_.sent_of_type<protocol::ReplayReq>();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], (protocol::ReplayReq{"e1", 2, 6}))
      << "seqs beyond the announced one are not asked for";
  EXPECT_EQ(host_.counts[SessionCount::kReplayRequests], 1);
}

TEST_F(MonitorSessionTest, AnAckGoesOutOnlyWhenTheStoredSeqsMovedOrAReplayIsAnswered) {
  connect();
  session_.acknowledge(now_);
  EXPECT_TRUE(host_.sent.empty());
  host_.tracker(7, "e1").add_range(1, 3, now_);
  session_.acknowledge(now_);
  session_.acknowledge(now_);
  ASSERT_EQ(host_.sent.size(), 1u);
  EXPECT_EQ(std::get<protocol::Ack>(host_.sent[0].message), (protocol::Ack{"e1", 3}));

  protocol::ControlMessage replay = protocol::Replay{"e1", {}};
  session_.receive(replay, now_);
  session_.acknowledge(now_);
  EXPECT_EQ(host_.sent.size(), 2u) << "a REPLAY batch is answered even if nothing is new";
}

TEST_F(MonitorSessionTest, AConfigAckWithAWrongDigestIsResentOneIntervalAfterTheConfig) {
  session_.welcome("conn-1", hello(1), 7, now_);
  host_.sent.clear();
  protocol::ControlMessage stale = protocol::ConfigAck{1, {{"web", "digest-web"}}, ""};
  session_.receive(stale, now_);
  EXPECT_EQ(session_.acked_config_version(), 0u) << "a stale version is ignored";

  protocol::ControlMessage wrong = protocol::ConfigAck{2, {{"web", "other"}}, ""};
  session_.receive(wrong, now_ + milliseconds(500));
  EXPECT_EQ(session_.acked_config_version(), 0u);
  (void)session_.tick(now_ + milliseconds(999), false);
  EXPECT_TRUE(host_.sent_of_type<protocol::Config>().empty());
  (void)session_.tick(now_ + milliseconds(1000), false);
  EXPECT_EQ(host_.sent_of_type<protocol::Config>().size(), 1u);
  EXPECT_EQ(host_.counts[SessionCount::kConfigResends], 1);

  protocol::ControlMessage right = protocol::ConfigAck{2, {{"web", "digest-web"}}, ""};
  session_.receive(right, now_ + milliseconds(1100));
  EXPECT_EQ(session_.acked_config_version(), 2u);
}

TEST_F(MonitorSessionTest, AHelloOnASecondLiveConnectionIsRefusedAsNameInUse) {
  connect();
  EXPECT_TRUE(session_.refuses("conn-2", hello(2, "i-2"), now_));
  ASSERT_EQ(host_.answered.size(), 1u);
  EXPECT_EQ(host_.answered[0].routing_id, "conn-2");
  EXPECT_EQ(std::get<protocol::Reject>(host_.answered[0].message).reason, "name_in_use");
  EXPECT_EQ(host_.counts[SessionCount::kRejectedHellos], 1);

  EXPECT_TRUE(session_.refuses("conn-2", hello(2, "i-1"), now_))
      << "its own instance while the old connection is there";
  host_.old_connection_there = false;
  EXPECT_FALSE(session_.refuses("conn-2", hello(2, "i-1"), now_))
      << "its own instance reconnecting";
  EXPECT_FALSE(session_.refuses("conn-1", hello(2, "i-2"), now_)) << "a HELLO again on its own";
}

TEST_F(MonitorSessionTest, RecordsOfAnotherEpochOrFarBeyondTheAnnouncedSeqsAreRejected) {
  connect();
  EXPECT_TRUE(session_.accepts_from_bus(result(1), now_));
  auto other_epoch = result(1);
  other_epoch.key.epoch = "e0";
  EXPECT_FALSE(session_.accepts_from_bus(other_epoch, now_));
  EXPECT_FALSE(session_.accepts_from_bus(result(kSeqWindow + 1), now_));
  ASSERT_EQ(host_.rejected_lines.size(), 2u);
  EXPECT_EQ(host_.rejected_lines[0], "bus record of no live session monitor=edge-1 epoch=e0 seq=1");

  protocol::ControlMessage heartbeat = protocol::Heartbeat{"e0", 3};
  session_.receive(heartbeat, now_);
  EXPECT_EQ(host_.malformed_lines.size(), 1u) << "a HEARTBEAT of another epoch is dropped";
}

TEST_F(MonitorSessionTest, ByeStopsTheSessionAndItsRecordsAreNoLongerAccepted) {
  connect();
  protocol::ControlMessage bye = protocol::Bye{};
  session_.receive(bye, now_);
  EXPECT_EQ(session_.state(), MonitorState::kStopped);
  EXPECT_EQ(host_.events.back().text, "monitor edge-1 CONNECTED -> STOPPED (said BYE)");
  EXPECT_FALSE(session_.accepts_from_bus(result(1), now_));
  EXPECT_FALSE(session_.tick(now_ + std::chrono::hours(1), false));
  EXPECT_EQ(session_.state(), MonitorState::kStopped) << "a stopped monitor is not judged silent";
}

}  // namespace
}  // namespace netmon::manager
