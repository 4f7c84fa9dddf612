// The Manager under hostile input (issue 7): bytes that are not UTF-8, forged
// bus records, loss records that overlap what arrived, timestamps from the far
// future, a second connection presenting a live monitor's instance, floods of
// bad HELLOs. Each test failed on the manager before the fix it names.

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <limits>
#include <mutex>

#include "common/logging.hpp"
#include "common/protocol/codec.hpp"
#include "manager/manager.hpp"
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
using testing::stored_text;

// Counts what the manager's logger writes.
class CountingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::size_t lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::size_t bytes() {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  bool saw_nul() {
    std::lock_guard lock(mutex_);
    return saw_nul_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    ++lines_;
    bytes_ += message.payload.size();
    if (std::string_view(message.payload.data(), message.payload.size()).find('\0') !=
        std::string_view::npos)
      saw_nul_ = true;
  }
  void flush_() override {}

 private:
  std::size_t lines_ = 0, bytes_ = 0;
  bool saw_nul_ = false;
};

// Attaches a CountingSink to the manager's logger while it lives.
struct ManagerLogCapture {
  std::shared_ptr<CountingSink> sink = std::make_shared<CountingSink>();
  std::shared_ptr<spdlog::logger> logger = netmon::component_logger("manager");
  ManagerLogCapture() { logger->sinks().push_back(sink); }
  ~ManagerLogCapture() { std::erase(logger->sinks(), sink); }
  ManagerLogCapture(const ManagerLogCapture&) = delete;
  ManagerLogCapture& operator=(const ManagerLogCapture&) = delete;
};

class ManagerHostileInput : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> start() {
    auto manager = std::make_unique<Manager>(context_, setup_.options());
    manager->start();
    return manager;
  }

  zmq::context_t context_;
  ManagerSetup setup_;
};

protocol::Record with_invalid_utf8(protocol::Record record) {
  auto& result = std::get<CheckResult>(record.body);
  result.details = {{"txt", "ok\xff\xfe"}, {"k\xc3", "v"}};
  result.target = "127.0.0.1:9\x80";
  return record;
}

// Defect 1: json type_error.316 escaped ResultStore::insert and ended the loop.
TEST_F(ManagerHostileInput, InvalidUtf8InAResultOnTheBusIsStoredEscapedAndTheLoopGoesOn) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(with_invalid_utf8(monitor.result(1))));
  monitor.publish(monitor.result(2));
  ASSERT_TRUE(monitor.await_ack(2)) << "the manager stopped storing after the bad record";
  EXPECT_TRUE(manager->running());
  const std::string details = stored_text(setup_, "details", "seq = 1");
  EXPECT_NE(details.find(R"("ok\\xff\\xfe")"), std::string::npos) << details;
  EXPECT_NE(details.find(R"("k\\xc3")"), std::string::npos) << details;
  EXPECT_EQ(stored_text(setup_, "target", "seq = 1"), "127.0.0.1:9\\x80");
}

TEST_F(ManagerHostileInput, InvalidUtf8InAReplayedResultIsStoredEscapedAndTheLoopGoesOn) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  monitor.send(protocol::Replay{monitor.epoch, {with_invalid_utf8(monitor.result(1))}});
  ASSERT_TRUE(monitor.await_ack(1));
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(2)}});
  ASSERT_TRUE(monitor.await_ack(2));
  EXPECT_TRUE(manager->running());
  EXPECT_EQ(stored_rows(setup_, "details LIKE '%xff%'"), 1);
}

TEST_F(ManagerHostileInput, ACheckIdThatIsNotUtf8IsStoredEscapedUnderItsEscapedTopic) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1, "port\xff")));
  EXPECT_EQ(stored_text(setup_, "\"check\"", "seq = 1"), "port\\xff");
  EXPECT_EQ(manager->stats().malformed_results, 0u);
}

// Defect 3: a stored LOSS never moved the contiguous seq past its range, so
// the ACK stopped for the rest of the epoch; and a loss record claimed seqs
// that had in fact arrived over the bus.
TEST_F(ManagerHostileInput, ALossLetsTheAckPassItsRangeAndIsReconciledWithWhatArrived) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  // The outbox dropped 2..5 at its cap, but 3 had already gone out on the bus.
  monitor.publish(monitor.result(3));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 6, 2, 5));
  const auto ack = monitor.await_ack(6);
  ASSERT_TRUE(ack) << "the ACK did not pass the lost range";
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost')", "seq = 6"), "[[2,2],[4,5]]");
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost_count')", "seq = 6"), "3");

  // A late result inside the reported range is stored, and the loss shrinks.
  monitor.publish(monitor.result(4));
  monitor.publish(monitor.result(7));
  ASSERT_TRUE(monitor.await_ack(7));
  EXPECT_EQ(stored_rows(setup_, "seq = 4"), 1);
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost')", "seq = 6"), "[[2,2],[5,5]]");
  EXPECT_EQ(manager->stats().recovered_from_loss, 1u);
}

// Defect 4: forged bus records were stored as real data.
TEST_F(ManagerHostileInput, RecordsOfAnEpochTheMonitorDoesNotHaveAreNotStored) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  for (int i = 0; i < 20; ++i) {
    monitor.publish(testing::result_record("edge-1", testing::random_hex(16), 1, "port-9"));
  }
  // A monitor that is not connected has no live epoch at all.
  monitor.publish(testing::result_record("edge-2", testing::random_hex(16), 1, "port-9"));
  monitor.publish(monitor.result(2));
  ASSERT_TRUE(monitor.await_ack(2));
  EXPECT_EQ(stored_rows(setup_), 2);
  EXPECT_EQ(manager->stats().rejected_records, 21u);
}

TEST_F(ManagerHostileInput, SeqsFarBeyondWhatTheMonitorAnnouncedAreNotStoredNorAskedFor) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(5'000'000));
  auto forged = monitor.result(2);
  forged.key.seq = std::numeric_limits<std::uint64_t>::max();
  monitor.publish(forged);
  monitor.publish(monitor.result(2));
  ASSERT_TRUE(monitor.await_ack(2));
  EXPECT_EQ(stored_rows(setup_), 2);
  EXPECT_EQ(stored_rows(setup_, "seq < 0 OR seq > 2"), 0);
  EXPECT_EQ(manager->stats().rejected_records, 1u);
  EXPECT_EQ(manager->stats().malformed_results, 1u) << "seq 2^64-1 was not refused at decode";
  // A gap to a forged seq would be asked for after one heartbeat (100 ms).
  EXPECT_FALSE(monitor.await_message<protocol::ReplayReq>(600ms)) << "asked for forged seqs";
}

TEST_F(ManagerHostileInput, ARecordWhoseTopicNamesAnotherMonitorIsNotStored) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish_raw({"res/edge-2/port-9", protocol::encode_record(monitor.result(2))});
  monitor.publish(monitor.result(3));
  ASSERT_TRUE(await([&] { return manager->stats().malformed_results >= 1; }));
  EXPECT_EQ(stored_rows(setup_, "seq = 2"), 0);
}

// Defect 4: a key that came again with another body replaced nothing but
// was not noticed either.
TEST_F(ManagerHostileInput, AKeyThatArrivesAgainWithAnotherBodyIsCountedAsAConflictAndKeepsTheRow) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  const auto original = monitor.result(1);
  ASSERT_TRUE(monitor.publish_until_acked(original));
  monitor.publish(original);  // a replayed copy: a duplicate
  auto other = original;
  std::get<CheckResult>(other.body).status = netmon::CheckStatus::kDown;
  monitor.publish(other);
  monitor.publish(monitor.result(2));
  ASSERT_TRUE(monitor.await_ack(2));
  ASSERT_TRUE(await([&] { return manager->stats().conflicts == 1; }))
      << "conflicts " << manager->stats().conflicts;
  EXPECT_GE(manager->stats().duplicates, 1u);
  EXPECT_EQ(stored_text(setup_, "status", "seq = 1"), "up");
}

// Defect 5: an UP dated 100 years ahead made every later (earlier-dated)
// result "old", so the check never went DOWN.
TEST_F(ManagerHostileInput, AResultDatedFarAheadDoesNotFreezeTheCheckAndIsReported) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  const auto ahead = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100);
  ASSERT_TRUE(
      monitor.publish_until_acked(monitor.result(1, "port-9", netmon::CheckStatus::kUp, ahead)));
  ASSERT_TRUE(await([&] { return testing::check_state(*manager, "edge-1", "port-9") == "UP"; }));
  monitor.publish(monitor.result(2, "port-9", netmon::CheckStatus::kDown));
  monitor.publish(monitor.result(3, "port-9", netmon::CheckStatus::kDown));
  ASSERT_TRUE(monitor.await_ack(3));
  EXPECT_TRUE(await([&] { return testing::check_state(*manager, "edge-1", "port-9") == "DOWN"; }));
  EXPECT_GT(monitor_status(*manager, "edge-1")->clock_ahead_ms, 60'000);
}

// Defect 6: the REJECT text disclosed the holder's instance id, and a HELLO
// with it took the session away from the live monitor.
TEST_F(ManagerHostileInput, ASecondConnectionWithALiveMonitorsInstanceIsRefusedNotHandedOver) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));

  FakeMonitor stranger(context_, *manager, "edge-1");
  stranger.send(stranger.hello());
  const auto reject = stranger.await_message<protocol::Reject>();
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->text.find(monitor.instance), std::string::npos) << reject->text;

  FakeMonitor rogue(context_, *manager, "edge-1");
  rogue.instance = monitor.instance;
  rogue.send(rogue.hello());
  const auto refused = rogue.await_message<protocol::Reject>();
  ASSERT_TRUE(refused) << "a HELLO with the live monitor's instance took the session over";
  EXPECT_EQ(refused->reason, "name_in_use");
  rogue.send(protocol::Bye{});
  // The live monitor keeps its session and its epoch; the rogue's BYE is no
  // STOPPED.
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(2)));
  EXPECT_EQ(monitor_status(*manager, "edge-1")->epoch, monitor.epoch);
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
  EXPECT_EQ(manager->stats().rejected_hellos, 2u);
}

// Defect 10: the name_in_use path was not rate-limited and names were logged
// raw (a NUL byte reached the log).
TEST_F(ManagerHostileInput, AFloodOfBadHellosWritesABoundedEscapedLog) {
  ManagerLogCapture capture;
  const auto& sink = capture.sink;

  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  const std::size_t lines_before = sink->lines();
  const std::string huge(300'000, 'x');
  for (int i = 0; i < 40; ++i) {
    // The real monitor stays live (a slow build takes longer than the 300 ms
    // of silence that would let another instance take the name).
    monitor.send(protocol::Heartbeat{monitor.epoch, 0});
    FakeMonitor intruder(context_, *manager, "edge-1");
    auto hello = intruder.hello();
    hello.instance = huge;
    intruder.send(hello);
    ASSERT_TRUE(intruder.await_message<protocol::Reject>());
    FakeMonitor stranger(context_, *manager, std::string("edge-\0-", 7) + huge);
    stranger.send(stranger.hello());
    ASSERT_TRUE(stranger.await_message<protocol::Reject>());
  }
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  EXPECT_LT(sink->lines() - lines_before, 20u);
  EXPECT_LT(sink->bytes(), 20'000u);
  EXPECT_FALSE(sink->saw_nul());
}

// Attack review: the seq window was max(announced, highest stored) + 1e6, so
// each forged record accepted at the window's edge moved the edge: ten
// records reached seq 10^7 and beyond. Only what the monitor itself said on
// its connection (HELLO, HEARTBEAT, REPLAY) moves the window.
TEST_F(ManagerHostileInput, ForgedRecordsAtTheWindowsEdgeDoNotMoveTheWindow) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(1'000'000));  // inside the window: stored, as documented
  ASSERT_TRUE(await([&] { return manager->stats().stored == 2; }));
  monitor.publish(monitor.result(1'999'999));  // beyond it unless the forged one moved it
  monitor.publish(monitor.result(2));
  ASSERT_TRUE(monitor.await_ack(2));
  EXPECT_EQ(stored_rows(setup_, "seq > 1000000"), 0);
  EXPECT_EQ(manager->stats().rejected_records, 1u);
  // What the monitor announces still moves it.
  // The REPLAY follows the HEARTBEAT on the same connection: once it is
  // acknowledged, the announcement was read.
  monitor.send(protocol::Heartbeat{monitor.epoch, 1'500'000});
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(3)}});
  ASSERT_TRUE(monitor.await_ack(3));
  monitor.publish(monitor.result(2'499'999));
  monitor.publish(monitor.result(4));
  ASSERT_TRUE(monitor.await_ack(4));
  EXPECT_EQ(stored_rows(setup_, "seq = 2499999"), 1);
}

// Attack review: last_seq in a HELLO is not bounded by the decoder; 2^64-1
// wrapped the window's bound to 999,999, so the session's own records
// beyond it were refused.
TEST_F(ManagerHostileInput, AHelloWithLastSeqNear2To64DoesNotWrapTheWindow) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  auto hello = monitor.hello(1);
  hello.last_seq = std::numeric_limits<std::uint64_t>::max();
  monitor.send(hello);
  ASSERT_TRUE(monitor.await_message<protocol::Welcome>());
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(2'000'000));
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(3'000'000)}});
  ASSERT_TRUE(await([&] {
    const auto stats = manager->stats();
    return stats.stored + stats.rejected_records >= 3;
  }));
  EXPECT_EQ(manager->stats().rejected_records, 0u);
  EXPECT_EQ(stored_rows(setup_), 3);
}

// Attack review: a result that arrived after the loss claiming it was stored
// but never reached the check's state, so a forged LOSS over the seqs ahead
// (or a real one whose results were still on the bus) hid DOWN results.
TEST_F(ManagerHostileInput, ResultsArrivingAfterTheirLossStillMoveTheCheckState) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  ASSERT_TRUE(await([&] { return testing::check_state(*manager, "edge-1", "port-9") == "UP"; }));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 6, 2, 5));
  monitor.publish(monitor.result(2, "port-9", netmon::CheckStatus::kDown));
  monitor.publish(monitor.result(3, "port-9", netmon::CheckStatus::kDown));
  ASSERT_TRUE(await([&] { return manager->stats().recovered_from_loss == 2; }));
  // The counters and the check states are separate snapshots: await both.
  EXPECT_TRUE(await([&] { return testing::check_state(*manager, "edge-1", "port-9") == "DOWN"; }))
      << testing::check_state(*manager, "edge-1", "port-9");
}

// Attack review: a loss record that arrived after a later loss covering its
// own seq (the monitor's ranges start after its last ACK, so a later loss
// covers the earlier one) was stored without reconciling its range: its row
// claimed its whole range lost, a stored result among it.
TEST_F(ManagerHostileInput, ALateLossCoveredByALaterLossClaimsNoStoredSeqTwice) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(3));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 10, 2, 9));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 5, 2, 4));
  monitor.publish(monitor.result(11));
  ASSERT_TRUE(monitor.await_ack(11));
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost')", "seq = 5"), "[]");
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost')", "seq = 10"),
            "[[2,2],[4,4],[6,9]]");
  // Every seq 1..11 is stored or lost exactly once.
  EXPECT_EQ(stored_rows(setup_) +
                std::stoll(stored_text(setup_, "SUM(json_extract(details, '$.lost_count'))",
                                       "\"check\" = '_loss'")),
            11);
}

// Attack review: each result recovered from a loss rewrote the loss row's
// whole list of lost ranges, and the tracker scanned every lost range to
// build it: quadratic. Forged records at every other seq, a forged LOSS
// over them, and the monitor's real results for the seqs between them
// (30,000 here) kept the loop busy for minutes; the ranges are now written
// once per transaction.
TEST_F(ManagerHostileInput, RecoveringAFragmentedLossIsNotQuadratic) {
  constexpr std::uint64_t kFragments = 30'000;
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  auto replay_every_other = [&](std::uint64_t first) {
    protocol::Replay replay{monitor.epoch, {}};
    for (std::uint64_t seq = first; seq <= 2 * kFragments + 1; seq += 2) {
      replay.records.push_back(monitor.result(seq));
      if (replay.records.size() == protocol::kMaxRecordsPerReplay) {
        monitor.send(replay);
        replay.records.clear();
      }
    }
    if (!replay.records.empty()) monitor.send(replay);
  };
  replay_every_other(3);
  const std::uint64_t loss_seq = 2 * kFragments + 2;
  monitor.send(protocol::Replay{
      monitor.epoch, {testing::loss_record("edge-1", monitor.epoch, loss_seq, 2, loss_seq - 1)}});
  ASSERT_TRUE(monitor.await_ack(loss_seq));
  replay_every_other(2);
  // Old code: 1,672 of the 30,000 in the 20 s deadline, slowing as it went.
  ASSERT_TRUE(await([&] { return manager->stats().recovered_from_loss == kFragments; }))
      << manager->stats().recovered_from_loss << " of " << kFragments << " recovered";
  // The next ACK follows the commit of every batch before it.
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(loss_seq + 1)}});
  ASSERT_TRUE(monitor.await_ack(loss_seq + 1));
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost_count')",
                        "seq = " + std::to_string(loss_seq)),
            "0");
}

// Attack review: a forged record inside the window, far beyond the monitor's
// newest seq, opened a gap the monitor cannot fill: a REPLAY_REQ for up to
// 10^6 seqs it does not have, again every liveness interval until it had
// produced them all (a day at 10 results/s). A monitor that announces its
// newest seq is asked only for seqs it announced.
TEST_F(ManagerHostileInput, AForgedFarSeqIsNotAskedForBeyondWhatTheMonitorAnnounced) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.send(protocol::Heartbeat{monitor.epoch, 2});
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(2)}});
  ASSERT_TRUE(monitor.await_ack(2));
  monitor.publish(monitor.result(500'000));
  ASSERT_TRUE(await([&] { return manager->stats().stored == 3; }));
  // A gap is asked for after one heartbeat interval (100 ms).
  EXPECT_FALSE(monitor.await_message<protocol::ReplayReq>(600ms)) << "asked for seqs not announced";
  monitor.send(protocol::Heartbeat{monitor.epoch, 6});
  const auto request = monitor.await_message<protocol::ReplayReq>();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->from_seq, 3u);
  EXPECT_EQ(request->to_seq, 6u);
}

// Attack review: log lines that input causes but no limiter bounded: one
// line per LOSS record (forged ones cost nothing to publish on the bus), one
// per CONFIG_ACK, and a CONFIG_ACK's error and digest ids logged whole and
// raw (a NUL, a newline, 500 kB in one line).
TEST_F(ManagerHostileInput, LossRecordsAndConfigAcksWriteABoundedEscapedLog) {
  ManagerLogCapture capture;
  const auto& sink = capture.sink;

  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect());
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  const std::size_t lines_before = sink->lines(), bytes_before = sink->bytes();
  for (std::uint64_t i = 0; i < 200; ++i) {
    monitor.publish(
        testing::loss_record("edge-1", monitor.epoch, 1001 + 2 * i, 1000 + 2 * i, 1000 + 2 * i));
  }
  protocol::ConfigAck refused{1, {}, std::string("bad\0line\n", 10) + std::string(500'000, 'e')};
  protocol::ConfigAck extra{1, {}, ""};
  for (int i = 0; i < 20'000; ++i)
    extra.digests["x" + std::to_string(i)] = "0";
  for (int i = 0; i < 50; ++i) {
    monitor.send(protocol::ConfigAck{999, {}, ""});  // stale
    monitor.send(refused);
    monitor.send(extra);
  }
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(2)}});
  ASSERT_TRUE(monitor.await_ack(2));
  ASSERT_TRUE(await([&] { return stored_rows(setup_, "\"check\" = '_loss'") == 200; }));
  EXPECT_LT(sink->lines() - lines_before, 60u);
  EXPECT_LT(sink->bytes() - bytes_before, 30'000u);
  EXPECT_FALSE(sink->saw_nul());
}

// Attack review: each REPLAY_REQ wrote a log line, and a stream with every
// other record missing (bus overload, or forged records in between) is
// asked for one gap after the other, as fast as the monitor answers.
TEST_F(ManagerHostileInput, ManyGapsAskedForOneAfterTheOtherWriteABoundedLog) {
  ManagerLogCapture capture;
  const auto& sink = capture.sink;

  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  const std::size_t lines_before = sink->lines();
  constexpr std::uint64_t kLast = 401;
  monitor.send(protocol::Heartbeat{monitor.epoch, kLast});
  protocol::Replay odd{monitor.epoch, {}};
  for (std::uint64_t seq = 1; seq <= kLast; seq += 2)
    odd.records.push_back(monitor.result(seq));
  monitor.send(odd);
  std::uint64_t requests = 0;
  ASSERT_TRUE(await([&] {
    if (auto request = monitor.await_message<protocol::ReplayReq>(5ms)) {
      ++requests;
      protocol::Replay replay{monitor.epoch, {}};
      for (auto seq = request->from_seq; seq <= request->to_seq; ++seq)
        replay.records.push_back(monitor.result(seq));
      monitor.send(replay);
    }
    return monitor_status(*manager, "edge-1")->stored_seq >= kLast;
  }));
  EXPECT_GE(requests, 100u);
  EXPECT_LT(sink->lines() - lines_before, 40u);
}

// Attack review: a HELLO again on the session's own connection is welcomed
// again (a monitor that reconnects), and each wrote a "monitor connected"
// line: whoever holds a session (anyone, for a monitor that is down: names
// are on the bus) wrote one line per message.
TEST_F(ManagerHostileInput, HellosRepeatedOnTheSessionsConnectionWriteABoundedLog) {
  ManagerLogCapture capture;
  const auto& sink = capture.sink;

  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  const std::size_t lines_before = sink->lines();
  for (int i = 0; i < 100; ++i)
    monitor.send(monitor.hello(1));
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(1)}});
  ASSERT_TRUE(monitor.await_ack(1));
  EXPECT_EQ(monitor_state(*manager, "edge-1"), "CONNECTED");
  EXPECT_LT(sink->lines() - lines_before, 20u);
}

// Attack review: a forged LOSS on the bus (inside the window) covering every
// seq up to itself made the ACK jump past all the monitor had not
// delivered yet; the monitor then dropped what it held, and whatever the bus
// lost of it was "covered" by the forged loss instead of replayed. A monitor
// drops only seqs it had: a LOSS from the bus may cover only seqs the
// monitor announced; one from its REPLAY is taken as it is.
TEST_F(ManagerHostileInput, ALossFromTheBusCoversOnlySeqsTheMonitorAnnounced) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.send(protocol::Heartbeat{monitor.epoch, 4});
  monitor.send(protocol::Replay{monitor.epoch, {monitor.result(2)}});
  ASSERT_TRUE(monitor.await_ack(2));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 900'000, 3, 899'999));
  monitor.publish(testing::loss_record("edge-1", monitor.epoch, 5, 3, 4));  // announced: taken
  ASSERT_TRUE(monitor.await_ack(5));
  EXPECT_EQ(manager->stats().rejected_records, 1u);
  EXPECT_EQ(stored_rows(setup_, "seq = 900000"), 0);
  monitor.send(
      protocol::Replay{monitor.epoch, {testing::loss_record("edge-1", monitor.epoch, 10, 6, 9)}});
  ASSERT_TRUE(monitor.await_ack(10)) << "a LOSS in a REPLAY is the monitor's own word";
}

}  // namespace
}  // namespace netmon::manager

namespace netmon::manager {
namespace {

std::int64_t stored_events(const ManagerSetup& setup, const std::string& like) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup.data_dir()), options);
  auto statement = db.prepare("SELECT COUNT(*) FROM events WHERE text LIKE ?");
  statement.bind(1, like);
  return statement.step() ? statement.column_int64(0) : -1;
}

// A corrupt outbox set aside starts a new epoch; what the old one held beyond
// the stored seqs can have no loss record of its own: the manager says it.
TEST_F(ManagerHostileInput, ANewEpochWhileTheOldOneHadSeqsNotStoredRaisesAnEvent) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  auto hello = monitor.hello(1);
  hello.last_seq = 5;
  monitor.send(hello);
  ASSERT_TRUE(monitor.await_message<protocol::Welcome>());
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.close_control();

  FakeMonitor restarted(context_, *manager, "edge-1");
  restarted.instance = monitor.instance;
  ASSERT_TRUE(restarted.connect_until_welcomed());
  ASSERT_TRUE(restarted.publish_until_acked(restarted.result(1)));
  EXPECT_TRUE(await([&] { return stored_events(setup_, "%was replaced%2..5%") == 1; }));
}

// A monitor that set a corrupt outbox aside names the old epoch and its last
// seq: the manager stores a loss for what it lacks of it, once.
TEST_F(ManagerHostileInput, AHelloNamingAnEndedEpochStoresOneLossForWhatTheStoreLacksOfIt) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect(1));
  ASSERT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  monitor.publish(monitor.result(2));
  monitor.publish(monitor.result(5));
  ASSERT_TRUE(monitor.await_ack(2));
  // Seq 5 is past the gap, so no ACK says it is stored: wait for its row, or
  // the HELLO below may overtake it on the bus and the loss reads [[3,7]].
  ASSERT_TRUE(await(
      [&] { return stored_rows(setup_, "epoch = '" + monitor.epoch + "' AND seq = 5") == 1; }));
  monitor.close_control();

  FakeMonitor restarted(context_, *manager, "edge-1");
  restarted.instance = monitor.instance;
  auto hello = restarted.hello(1);
  hello.ended_epoch = monitor.epoch;
  hello.ended_last_seq = 7;
  std::optional<protocol::Welcome> welcome;
  ASSERT_TRUE(await([&] {
    restarted.send(hello);
    welcome = restarted.await_message<protocol::Welcome>(50ms);
    return welcome.has_value();
  }));
  ASSERT_TRUE(restarted.publish_until_acked(restarted.result(1)));
  const std::string old = "epoch = '" + monitor.epoch + "' AND \"check\" = '_loss'";
  EXPECT_EQ(stored_rows(setup_, old + " AND seq = 8"), 1);
  EXPECT_EQ(stored_text(setup_, "json_extract(details, '$.lost')", old), "[[3,4],[6,7]]");
  restarted.send(hello);  // every HELLO of the run names it
  ASSERT_TRUE(restarted.await_message<protocol::Welcome>());
  ASSERT_TRUE(restarted.publish_until_acked(restarted.result(2)));
  EXPECT_EQ(stored_rows(setup_, old), 1);
}

}  // namespace
}  // namespace netmon::manager
