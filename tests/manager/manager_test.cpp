// The Manager over inproc:// with its embedded broker, driven by fake
// monitors made of raw sockets: sessions, config delivery, storage and ACKs,
// gap repair, check states and events, liveness, bad input, restarts.

#include "manager/manager.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/protocol/check_codec.hpp"
#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using testing::await;
using testing::FakeMonitor;
using testing::ManagerSetup;
using testing::monitor_state;
using testing::monitor_status;
using testing::stored_rows;

class ManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> start(const ManagerOptions& options) {
    auto manager = std::make_unique<Manager>(context_, options);
    manager->start();
    return manager;
  }
  std::unique_ptr<Manager> start() { return start(setup_.options()); }

  zmq::context_t context_;
  ManagerSetup setup_;
};

TEST_F(ManagerTest, WelcomesAHelloWithTheHighestContiguousStoredSeqOfItsEpoch) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  auto welcome = monitor.connect();
  ASSERT_TRUE(welcome) << "no WELCOME";
  EXPECT_EQ(welcome->monitor_id, 1u);
  EXPECT_EQ(welcome->acked_seq, 0u);
  EXPECT_EQ(welcome->heartbeat_ms, 100u);
  EXPECT_EQ(welcome->liveness, 3u);
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(2));
  monitor.publish(monitor.result(3));
  ASSERT_TRUE(monitor.await_ack(3));

  // The same instance reconnecting (a new DEALER, the old one closed) is
  // welcomed at seq 3.
  monitor.close_control();
  FakeMonitor again(context_, *manager, "edge-1");
  again.instance = monitor.instance;
  again.epoch = monitor.epoch;
  welcome = again.connect_until_welcomed();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->monitor_id, 1u);
  EXPECT_EQ(welcome->acked_seq, 3u);

  // A new outbox (another epoch) starts from nothing.
  again.close_control();
  FakeMonitor fresh(context_, *manager, "edge-1");
  fresh.instance = monitor.instance;
  welcome = fresh.connect_until_welcomed();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->acked_seq, 0u);
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
}

TEST_F(ManagerTest, RejectsASecondInstanceOfANameHeldByALiveMonitor) {
  auto manager = start();
  FakeMonitor first(context_, *manager, "edge-1");
  ASSERT_TRUE(first.connect());
  FakeMonitor second(context_, *manager, "edge-1");
  second.send(second.hello());
  const auto reject = second.await_message<protocol::Reject>();
  ASSERT_TRUE(reject) << "a second instance was not refused";
  EXPECT_EQ(reject->reason, "name_in_use");
  EXPECT_NE(reject->text.find("edge-1"), std::string::npos);
  EXPECT_NE(reject->text.find("--name"), std::string::npos) << "the text names no fix";
}

TEST_F(ManagerTest, RejectsANameThatIsNotInTheConfig) {
  auto manager = start();
  FakeMonitor stranger(context_, *manager, "edge-9");
  stranger.send(stranger.hello());
  const auto reject = stranger.await_message<protocol::Reject>();
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->reason, "unknown_name");
  EXPECT_EQ(monitor_state(*manager, "edge-9"), "");
}

TEST_F(ManagerTest, RejectsAHelloOfAnotherProtocolVersion) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  std::string body = protocol::encode(monitor.hello());
  const auto at = body.find(std::string("\xa1v\x01", 3));
  ASSERT_NE(at, std::string::npos);
  body[at + 2] = '\x02';
  monitor.send_raw(body);
  const auto reject = monitor.await_message<protocol::Reject>();
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->reason, "bad_version");
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "NEVER_SEEN");
}

TEST_F(ManagerTest, DeliversTheConfigAndResendsItWhenADigestDiffers) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect());
  const auto config = monitor.await_message<protocol::Config>();
  ASSERT_TRUE(config) << "no CONFIG after WELCOME";
  EXPECT_EQ(config->version, 1u);
  ASSERT_EQ(config->checks.size(), 2u);
  EXPECT_EQ(config->checks[0].id, "port-9");
  EXPECT_EQ(config->checks[1].retries, 1);

  // port-10's digest is wrong and an unknown check is extra.
  monitor.send(protocol::ConfigAck{1,
                                   {{"port-9", protocol::check_digest(config->checks[0])},
                                    {"port-10", "0000000000000000"},
                                    {"port-11", "0000000000000000"}},
                                   ""});
  const auto again = monitor.await_message<protocol::Config>();
  ASSERT_TRUE(again) << "a digest mismatch did not make the manager resend the config";
  EXPECT_EQ(again->version, 1u);
  EXPECT_GE(manager->stats().config_resends, 1u);
  EXPECT_EQ(monitor_status(*manager, "edge-1")->acked_config_version, 0u);

  monitor.send(protocol::ConfigAck{1,
                                   {{"port-9", protocol::check_digest(config->checks[0])},
                                    {"port-10", protocol::check_digest(config->checks[1])}},
                                   ""});
  EXPECT_TRUE(await([&] { return monitor_status(*manager, "edge-1")->acked_config_version == 1; }))
      << "matching digests were not accepted";
}

TEST_F(ManagerTest, SendsNoConfigToAMonitorThatAlreadyRunsTheCurrentVersion) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  EXPECT_TRUE(await([&] { return monitor_status(*manager, "edge-1")->acked_config_version == 1; }));
  // The next message the manager sends is a heartbeat, not a CONFIG.
  const auto next = monitor.await_message<protocol::Heartbeat>();
  ASSERT_TRUE(next);
  EXPECT_FALSE(monitor.await_message<protocol::Config>(150ms));
}

TEST_F(ManagerTest, ReloadBumpsTheVersionOfAChangedMonitorAndRedeliversIt) {
  auto manager = start();
  FakeMonitor edge1(context_, *manager, "edge-1");
  FakeMonitor edge2(context_, *manager, "edge-2");
  ASSERT_TRUE(edge1.connect(1));
  ASSERT_TRUE(edge2.connect(1));

  std::string text = testing::kConfigText;
  text.replace(text.find("port: 10,"), 9, "port: 11,");
  testing::write_file(setup_.config_file(), text);
  ASSERT_TRUE(manager->reload_config());
  const auto config = edge1.await_message<protocol::Config>();
  ASSERT_TRUE(config) << "the changed config was not delivered";
  EXPECT_EQ(config->version, 2u);
  EXPECT_EQ(std::get<std::string>(config->checks[1].params.at("port")), "11");
  EXPECT_FALSE(edge2.await_message<protocol::Config>(200ms)) << "edge-2 did not change";
  EXPECT_EQ(monitor_status(*manager, "edge-2")->config_version, 1u);

  // A broken file changes nothing and says where it is broken.
  testing::write_file(setup_.config_file(), "monitors:\n  edge-1: {checks: [{id: x}]}\n");
  const auto broken = manager->reload_config();
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("netmon.yaml:2: "), std::string::npos)
      << broken.error().message;
  EXPECT_EQ(monitor_status(*manager, "edge-1")->config_version, 2u);
}

TEST_F(ManagerTest, AcknowledgesCumulativelyAndOnlyWhatIsCommitted) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  for (std::uint64_t seq = 2; seq <= 50; ++seq)
    monitor.publish(monitor.result(seq));
  const auto ack = monitor.await_ack(50);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->epoch, monitor.epoch);
  // When the ACK arrives, another connection already sees every row it covers.
  EXPECT_EQ(stored_rows(setup_), 50);
  EXPECT_EQ(manager->stats().stored, 50u);
  EXPECT_EQ(monitor_status(*manager, "edge-1")->stored_seq, 50u);
}

TEST_F(ManagerTest, CountsDuplicatesAndStoresThemOnce) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  const auto before = manager->stats();
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(1), monitor.result(2)}});
  ASSERT_TRUE(monitor.await_ack(2));
  EXPECT_EQ(manager->stats().duplicates, before.duplicates + 1);
  EXPECT_EQ(stored_rows(setup_), 2);
}

TEST_F(ManagerTest, AsksForAGapWithReplayReqAndStoresTheReplayedRecords) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(2));
  monitor.publish(monitor.result(5));
  monitor.publish(monitor.result(6));
  const auto request = monitor.await_message<protocol::ReplayReq>();
  ASSERT_TRUE(request) << "a gap of 3..4 was never asked for";
  EXPECT_EQ(request->epoch, monitor.epoch);
  EXPECT_EQ(request->from_seq, 3u);
  EXPECT_EQ(request->to_seq, 4u);
  EXPECT_GE(manager->stats().replay_requests, 1u);

  // Seq 3 was lost at the outbox cap: a loss record (seq 7) covers it.
  monitor.send(protocol::Replay{
      monitor.epoch, {monitor.result(4), testing::loss_record("edge-1", monitor.epoch, 7, 3, 3)}});
  const auto ack = monitor.await_ack(7);
  ASSERT_TRUE(ack) << "the replay did not close the gap";
  EXPECT_EQ(stored_rows(setup_), 6);
  EXPECT_EQ(stored_rows(setup_, "\"check\" = '_loss' AND seq = 7"), 1);
}

TEST_F(ManagerTest, ResultsTheManagerDropsFromTheBusAreAskedForAgain) {
  auto options = setup_.options();
  options.drop_every_nth_result = 3;
  auto manager = start(options);
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  // Publish 1..9 (every third is ignored), answering each REPLAY_REQ from "the outbox".
  for (std::uint64_t seq = 1; seq <= 9; ++seq)
    monitor.publish(monitor.result(seq));
  const bool repaired = await([&] {
    if (auto request = monitor.await_message<protocol::ReplayReq>(5ms)) {
      protocol::Replay replay{monitor.epoch, {}};
      for (auto seq = request->from_seq; seq <= request->to_seq; ++seq) {
        replay.records.push_back(monitor.result(seq));
      }
      monitor.send(replay);
    }
    // Republish the tail until it is through (PUB drops before the subscription lands).
    monitor.publish(monitor.result(9));
    return monitor_status(*manager, "edge-1")->stored_seq >= 9;
  });
  EXPECT_TRUE(repaired) << "stored_seq " << monitor_status(*manager, "edge-1")->stored_seq;
  EXPECT_GE(manager->stats().replay_requests, 1u);
  EXPECT_EQ(stored_rows(setup_), 9);
}

// Tail-gap tests: the manager runs on a ManualClock with 1 s intervals. The
// fake monitor holds back its CONFIG_ACK and sends it right after the
// HEARTBEAT under test: once the ACK is seen, so was the heartbeat, at a clock
// the test has not moved yet.
class ManagerTailGapTest : public ManagerTest {
 protected:
  void SetUp() override {
    auto options = setup_.options(1000ms);
    options.clock = &clock_;
    manager_ = start(options);
    monitor_ = std::make_unique<FakeMonitor>(context_, *manager_, "edge-1");
    ASSERT_TRUE(monitor_->connect());
    const auto config = monitor_->await_message<protocol::Config>();
    ASSERT_TRUE(config);
    for (const CheckSpec& check : config->checks)
      config_ack_.digests[check.id] = protocol::check_digest(check);
    config_ack_.version = config->version;
  }

  void heartbeat(std::uint64_t last_seq) {
    monitor_->send(protocol::Heartbeat{monitor_->epoch, last_seq});
    monitor_->send(config_ack_);
    ASSERT_TRUE(await([&] {
      return monitor_status(*manager_, "edge-1")->acked_config_version == config_ack_.version;
    }));
  }

  ManualClock clock_;
  std::unique_ptr<Manager> manager_;
  std::unique_ptr<FakeMonitor> monitor_;
  protocol::ConfigAck config_ack_;
};

TEST_F(ManagerTailGapTest, AHeartbeatBeyondTheStoredSeqsIsAskedForAfterOneInterval) {
  FakeMonitor& monitor = *monitor_;
  // The monitor produced 1..5; only 1..3 made it over the bus, then it fell silent.
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(2));
  monitor.publish(monitor.result(3));
  ASSERT_TRUE(monitor.await_ack(3));
  heartbeat(5);

  clock_.advance(900ms);
  EXPECT_FALSE(monitor.await_message<protocol::ReplayReq>(150ms))
      << "asked before the gap had lasted one heartbeat interval";
  clock_.advance(200ms);
  const auto request = monitor.await_message<protocol::ReplayReq>();
  ASSERT_TRUE(request) << "the tail 4..5 named by the heartbeat was never asked for";
  EXPECT_EQ(request->epoch, monitor.epoch);
  EXPECT_EQ(request->from_seq, 4u);
  EXPECT_EQ(request->to_seq, 5u);

  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(4), monitor.result(5)}});
  ASSERT_TRUE(monitor.await_ack(5)) << "the replayed tail was not stored";
  EXPECT_EQ(stored_rows(setup_), 5);
  EXPECT_EQ(manager_->stats().malformed_control, 0u);
}

TEST_F(ManagerTailGapTest, RecordsStillArrivingOverTheBusPostponeTheTailRequest) {
  FakeMonitor& monitor = *monitor_;
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  heartbeat(4);

  // 2..3 arrive late over the bus (a busy manager's queue): the tail 4 now
  // waits from here, not from the heartbeat.
  clock_.advance(800ms);
  monitor.publish(monitor.result(2));
  monitor.publish(monitor.result(3));
  ASSERT_TRUE(monitor.await_ack(3));
  clock_.advance(400ms);
  EXPECT_FALSE(monitor.await_message<protocol::ReplayReq>(150ms))
      << "asked for a tail while the bus was still delivering it";
  clock_.advance(700ms);
  const auto request = monitor.await_message<protocol::ReplayReq>();
  ASSERT_TRUE(request) << "the tail 4 was never asked for";
  EXPECT_EQ(request->from_seq, 4u);
  EXPECT_EQ(request->to_seq, 4u);
}

TEST_F(ManagerTest, CheckStatesFollowRetriesAndChangesArePublishedAsEvents) {
  auto manager = start();
  zmq::socket_t events(context_, zmq::socket_type::sub);
  events.set(zmq::sockopt::linger, 0);
  events.set(zmq::sockopt::subscribe, "evt/check/");
  events.connect(manager->broker_out_endpoint());
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  EXPECT_EQ(testing::check_state(*manager, "edge-1", "port-9"), "UNKNOWN");

  const auto t0 = std::chrono::system_clock::now();
  std::uint64_t seq = 0;
  const auto report = [&](netmon::CheckStatus status) {
    ++seq;
    auto record = monitor.result(seq, "port-9", status, t0 + std::chrono::seconds(seq));
    if (seq == 1) {
      ASSERT_TRUE(monitor.publish_until_acked(record));
    } else {
      monitor.publish(record);
      ASSERT_TRUE(monitor.await_ack(seq));
    }
  };
  report(netmon::CheckStatus::kUp);
  EXPECT_EQ(testing::check_state(*manager, "edge-1", "port-9"), "UP");
  report(netmon::CheckStatus::kDown);
  EXPECT_EQ(testing::check_state(*manager, "edge-1", "port-9"), "UP")
      << "one failure with retries 2 made it DOWN";
  report(netmon::CheckStatus::kTimeout);
  EXPECT_EQ(testing::check_state(*manager, "edge-1", "port-9"), "DOWN");
  report(netmon::CheckStatus::kUp);
  EXPECT_EQ(testing::check_state(*manager, "edge-1", "port-9"), "UP");

  // UNKNOWN->UP, UP->DOWN, DOWN->UP, plus the monitor's CONNECTED.
  EXPECT_GE(manager->stats().events, 4u);
  // Our SUB may join after all of that (it takes a millisecond): until it
  // sees a DOWN -> UP, the check goes down and up again.
  int round_trips = 1;
  std::vector<protocol::Event> seen;
  ASSERT_TRUE(await([&] {
    while (auto frames = testing::receive(events, 1ms)) {
      if (frames->size() != 2) continue;
      EXPECT_EQ((*frames)[0], "evt/check/edge-1/port-9");
      if (auto event = protocol::decode_event((*frames)[1])) seen.push_back(*event);
    }
    if (!seen.empty() && seen.back().to == "UP" && seen.back().from == "DOWN") return true;
    report(netmon::CheckStatus::kDown);
    report(netmon::CheckStatus::kTimeout);
    report(netmon::CheckStatus::kUp);
    ++round_trips;
    return false;
  })) << "no DOWN -> UP change was published on evt/check/edge-1/port-9";
  EXPECT_EQ(seen.back().monitor, "edge-1");
  EXPECT_EQ(seen.back().check, "port-9");
  EXPECT_NE(seen.back().text.find("DOWN -> UP"), std::string::npos);

  sqlite::OpenOptions read_only;
  read_only.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup_.data_dir()), read_only);
  auto stored = db.prepare("SELECT COUNT(*) FROM events WHERE \"check\" = 'port-9'");
  ASSERT_TRUE(stored.step());
  EXPECT_EQ(stored.column_int64(0), 1 + 2 * round_trips);  // UNKNOWN -> UP, then DOWN and UP
}

TEST_F(ManagerTest, DeclaresASilentMonitorLostAfterLivenessIntervalsOnTheClock) {
  ManualClock clock;
  auto options = setup_.options(1000ms);
  options.clock = &clock;
  auto manager = start(options);
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "CONNECTED"; }));

  clock.advance(2900ms);
  // The manager heartbeats us, so its loop has seen the advanced clock.
  ASSERT_TRUE(monitor.await_message<protocol::Heartbeat>());
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED") << "lost before 3 intervals";
  clock.advance(200ms);
  EXPECT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "LOST"; }))
      << monitor_state(*manager, "edge-1") << " after 3.1 silent intervals";

  // Any message brings it back.
  monitor.send(protocol::Heartbeat{});
  EXPECT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "CONNECTED"; }));
}

TEST_F(ManagerTest, AnotherInstanceMayTakeOverTheNameOfALostMonitor) {
  ManualClock clock;
  auto options = setup_.options(1000ms);
  options.clock = &clock;
  auto manager = start(options);
  FakeMonitor old_one(context_, *manager, "edge-1");
  ASSERT_TRUE(old_one.connect(1));
  clock.advance(3100ms);
  ASSERT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "LOST"; }));
  FakeMonitor new_one(context_, *manager, "edge-1");
  const auto welcome = new_one.connect(1);
  ASSERT_TRUE(welcome) << "a LOST name was not free for another instance";
  EXPECT_EQ(welcome->monitor_id, 1u) << "the name keeps its id";
}

TEST_F(ManagerTest, ByeMarksTheMonitorStopped) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  monitor.send(protocol::Bye{});
  EXPECT_TRUE(await([&] { return monitor_state(*manager, "edge-1") == "STOPPED"; }));
  const auto events = manager->stats().events;
  EXPECT_GE(events, 2u) << "CONNECTED and STOPPED are events";
  // After BYE the routing id is no longer a session.
  const auto unknown = manager->stats().unknown_peers;
  monitor.send(protocol::Heartbeat{});
  EXPECT_TRUE(await([&] { return manager->stats().unknown_peers == unknown + 1; }));
}

TEST_F(ManagerTest, SurvivesSendingToAMonitorThatVanished) {
  auto manager = start();
  {
    FakeMonitor gone(context_, *manager, "edge-2");
    ASSERT_TRUE(gone.connect(1));
  }  // its DEALER closes: heartbeats to it now fail with EHOSTUNREACH
  EXPECT_TRUE(await([&] { return monitor_state(*manager, "edge-2") == "LOST"; }));
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  EXPECT_TRUE(monitor.publish_until_acked(monitor.result(1))) << "the loop died";
}

// A msgpack str body of 3 MiB (inproc has no ZMQ_MAXMSGSIZE: the decoder must refuse it).
std::string oversized_body() {
  constexpr std::uint32_t kBytes = 3u << 20;
  std::string body = "\x81\xa5proto\xdb";
  for (int shift = 24; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>(kBytes >> shift));
  body.append(kBytes, 'x');
  return body;
}

std::string with_type(const std::string& body, std::string_view from, std::string_view to) {
  std::string out = body;
  out.replace(out.find(from), from.size(), to);
  return out;
}

TEST_F(ManagerTest, CountsMalformedTruncatedOversizedAndUnknownMessagesWhileGoodTrafficFlows) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  const auto before = manager->stats();

  // Control channel: from the session's own routing id and from a stranger.
  const std::string hello = protocol::encode(monitor.hello(1));
  const std::vector<std::string> bad_control = {
      "",
      "\xc1garbage",
      hello.substr(0, hello.size() / 2),
      with_type(protocol::encode(protocol::Heartbeat{}), "HEARTBEAT", "HEARTBEEP"),
      oversized_body(),
      protocol::encode(protocol::Welcome{1, 1, 1, 1}),  // a manager's message, from a monitor
  };
  for (const auto& body : bad_control)
    monitor.send_raw(body);
  FakeMonitor stranger(context_, *manager, "edge-2");
  stranger.send(protocol::Heartbeat{});

  // Bus: bad bodies and bad framing.
  const std::string good = protocol::encode_record(monitor.result(2));
  const std::vector<std::vector<std::string>> bad_bus = {
      {"res/edge-1/port-9", "\xc1garbage"},
      {"res/edge-1/port-9", good.substr(0, good.size() / 2)},
      {"res/edge-1/port-9", with_type(good, "RESULT", "RESULZ")},
      {"res/edge-1/port-9", oversized_body()},
      {"res/edge-1/port-9"},
      {"res/edge-1/port-9", good, "extra"},
  };
  for (const auto& frames : bad_bus)
    monitor.publish_raw(frames);
  for (std::uint64_t seq = 2; seq <= 20; ++seq)
    monitor.publish(monitor.result(seq));

  EXPECT_TRUE(monitor.await_ack(20)) << "good results stopped being stored";
  EXPECT_TRUE(await([&] {
    return manager->stats().malformed_control >= before.malformed_control + bad_control.size();
  })) << "malformed_control grew by "
      << manager->stats().malformed_control - before.malformed_control;
  EXPECT_TRUE(await([&] {
    return manager->stats().malformed_results >= before.malformed_results + bad_bus.size();
  })) << "malformed_results grew by "
      << manager->stats().malformed_results - before.malformed_results;
  EXPECT_TRUE(await([&] { return manager->stats().unknown_peers == before.unknown_peers + 1; }));
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
  EXPECT_EQ(stored_rows(setup_), 20);
}

TEST_F(ManagerTest, ARecreatedManagerKeepsIdsConfigVersionsAndStoredSeqs) {
  std::string epoch;
  std::string instance;
  {
    auto manager = start();
    FakeMonitor other(context_, *manager, "edge-2");
    ASSERT_TRUE(other.connect(1));  // edge-2 gets id 1
    FakeMonitor monitor(context_, *manager, "edge-1");
    const auto welcome = monitor.connect(1);
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->monitor_id, 2u);
    ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
    for (std::uint64_t seq = 2; seq <= 5; ++seq)
      monitor.publish(monitor.result(seq));
    ASSERT_TRUE(monitor.await_ack(5));
    std::string text = testing::kConfigText;
    text.replace(text.find("port: 10,"), 9, "port: 11,");
    testing::write_file(setup_.config_file(), text);
    ASSERT_TRUE(manager->reload_config());
    ASSERT_TRUE(await([&] { return monitor_status(*manager, "edge-1")->config_version == 2; }));
    epoch = monitor.epoch;
    instance = monitor.instance;
  }
  // New endpoints: libzmq releases inproc names of closed sockets asynchronously.
  auto options = setup_.options();
  options.control += "-2";
  options.broker_in += "-2";
  options.broker_out += "-2";
  auto manager = start(options);
  EXPECT_EQ(monitor_status(*manager, "edge-1")->config_version, 2u);
  EXPECT_EQ(monitor_status(*manager, "edge-1")->id, 2u);
  FakeMonitor monitor(context_, *manager, "edge-1");
  monitor.instance = instance;
  monitor.epoch = epoch;
  const auto welcome = monitor.connect(2);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->monitor_id, 2u);
  EXPECT_EQ(welcome->acked_seq, 5u);
  // Replaying what it already has stores nothing twice.
  monitor.send(protocol::Replay{epoch, {monitor.result(5), monitor.result(6)}});
  ASSERT_TRUE(monitor.await_ack(6));
  EXPECT_EQ(manager->stats().duplicates, 1u);
  EXPECT_EQ(stored_rows(setup_), 6);
}

TEST_F(ManagerTest, RunsFromStartUntilStopAndCommitsWhatItReceivedBeforeStopping) {
  auto manager = start();
  EXPECT_TRUE(manager->running());
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  manager->stop();
  EXPECT_FALSE(manager->running());
  manager->stop();  // idempotent
  EXPECT_EQ(stored_rows(setup_), 1);
}

TEST_F(ManagerTest, AnUnusableConfigOrDataDirFailsConstructionWithTheReason) {
  auto options = setup_.options();
  options.config_file = setup_.dir / "missing.yaml";
  try {
    Manager manager(context_, options);
    FAIL() << "a missing config file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.yaml"), std::string::npos) << e.what();
  }
  options = setup_.options();
  testing::write_file(setup_.dir / "file", "not a dir");
  options.data_dir = setup_.dir / "file";
  EXPECT_THROW(Manager(context_, options), std::runtime_error);
}

TEST_F(ManagerTest, ItsDataDirAndStoreAreTheOwnersOnly) {
  const mode_t previous_umask = ::umask(022);
  { Manager manager(context_, setup_.options()); }
  ::umask(previous_umask);
  struct stat info {};
  ASSERT_EQ(::stat(setup_.data_dir().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(ResultStore::file_in(setup_.data_dir()).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
}

TEST_F(ManagerTailGapTest, AMonitorsStatusShowsItsOutboxFailingUntilAHeartbeatSaysItWorks) {
  monitor_->send(protocol::Heartbeat{monitor_->epoch, 0, "database or disk is full"});
  ASSERT_TRUE(await([&] {
    return monitor_status(*manager_, "edge-1")->outbox_error == "database or disk is full";
  })) << "the heartbeat's outbox_error is not in the monitor's status";
  monitor_->send(protocol::Heartbeat{monitor_->epoch, 0});
  EXPECT_TRUE(await([&] { return monitor_status(*manager_, "edge-1")->outbox_error.empty(); }));
}

}  // namespace
}  // namespace netmon::manager
