#include "monitor/agent/result_outbox.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/protocol/codec.hpp"
#include "tests/monitor/agent/old_outbox.hpp"
#include "tests/support/held_sync_vfs.hpp"
#include "tests/support/outbox_damage.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

using std::chrono::system_clock;

CheckResult make_result(int n, std::string check = "web") {
  CheckResult result;
  result.check_id = std::move(check);
  result.type = "tcp";
  result.target = "127.0.0.1:80";
  result.timestamp = system_clock::time_point(std::chrono::seconds(1'700'000'000 + n));
  result.status = CheckStatus::kUp;
  result.latency = std::chrono::microseconds(100 + n);
  result.timings.total = result.latency;
  result.details = {{"n", n}};
  return result;
}

std::vector<CheckResult> make_results(int count, int first = 0) {
  std::vector<CheckResult> results;
  for (int i = 0; i < count; ++i)
    results.push_back(make_result(first + i));
  return results;
}

protocol::Record decode(const OutboxRecord& record) {
  auto decoded = protocol::decode_record(record.body);
  EXPECT_TRUE(decoded.ok()) << (decoded ? "" : decoded.error().message);
  return decoded ? decoded.value() : protocol::Record{};
}

class ResultOutboxTest : public ::testing::Test {
 protected:
  ResultOutbox open(OutboxOptions options = {}) {
    options.synchronous = sqlite::Synchronous::kNormal;
    if (options.clock == &SteadyClock::instance()) options.clock = &clock_;
    return ResultOutbox(dir_.path(), "edge-1", options);
  }

  testing::TempDir dir_{"netmon-outbox-"};
  ManualClock clock_;
};

TEST_F(ResultOutboxTest, StartsEmptyWithANewSixteenHexDigitEpoch) {
  ResultOutbox outbox = open();
  EXPECT_EQ(outbox.epoch().size(), 16u);
  EXPECT_EQ(outbox.epoch().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(outbox.first_seq(), 1u);
  EXPECT_EQ(outbox.last_seq(), 0u);
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "outbox.db"));
}

TEST_F(ResultOutboxTest, AssignsGapFreeSequenceNumbersAcrossBatches) {
  ResultOutbox outbox = open();
  auto first = outbox.append(make_results(3), 0);
  auto second = outbox.append(make_results(2, 3), 0);
  ASSERT_EQ(first.records.size(), 3u);
  ASSERT_EQ(second.records.size(), 2u);
  std::uint64_t expected = 1;
  for (const auto* batch : {&first, &second}) {
    for (const OutboxRecord& record : batch->records)
      EXPECT_EQ(record.seq, expected++);
  }
  EXPECT_EQ(outbox.first_seq(), 1u);
  EXPECT_EQ(outbox.last_seq(), 5u);
  EXPECT_EQ(outbox.size(), 5u);
}

TEST_F(ResultOutboxTest, ReturnsEncodedRecordsWithTopicAndKeyThatDecodeToTheResult) {
  ResultOutbox outbox = open();
  auto outcome = outbox.append(std::vector{make_result(7, "dns-a")}, 42);
  ASSERT_EQ(outcome.records.size(), 1u);
  EXPECT_EQ(outcome.records[0].topic, "res/edge-1/dns-a");
  const protocol::Record record = decode(outcome.records[0]);
  EXPECT_EQ(record.key, (protocol::RecordKey{"edge-1", 42, outbox.epoch(), 1}));
  EXPECT_EQ(std::get<CheckResult>(record.body), make_result(7, "dns-a"));
}

TEST_F(ResultOutboxTest, ReadsStoredBodiesVerbatimWithinRecordAndByteLimits) {
  ResultOutbox outbox = open();
  auto outcome = outbox.append(make_results(10), 0);
  auto some = outbox.read(3, 4, 1 << 20).records;
  ASSERT_EQ(some.size(), 4u);
  EXPECT_EQ(some.front().seq, 3u);
  EXPECT_EQ(some.back().seq, 6u);
  EXPECT_EQ(some[0].body, outcome.records[2].body);

  const std::size_t one = outcome.records[0].body.size();
  auto limited = outbox.read(1, 1000, one * 2 + 1).records;
  EXPECT_EQ(limited.size(), 2u);
  // A single record is returned even when it alone is over the byte limit.
  EXPECT_EQ(outbox.read(1, 1000, 1).records.size(), 1u);
  EXPECT_TRUE(outbox.read(11, 1000, 1 << 20).records.empty());
}

TEST_F(ResultOutboxTest, TrimDeletesEverythingThroughTheAckedSeqOnly) {
  ResultOutbox outbox = open();
  (void)outbox.append(make_results(10), 0);
  EXPECT_EQ(outbox.trim(4), 4u);
  EXPECT_EQ(outbox.first_seq(), 5u);
  EXPECT_EQ(outbox.size(), 6u);
  EXPECT_EQ(outbox.read(1, 1000, 1 << 20).records.front().seq, 5u);
  EXPECT_EQ(outbox.trim(3), 0u);  // an older ACK changes nothing
  EXPECT_EQ(outbox.trim(100), 6u);
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_EQ(outbox.first_seq(), 11u);
}

TEST_F(ResultOutboxTest, SkippingPastSeqsTheManagerAlreadyHoldsNeverReusesThem) {
  {
    ResultOutbox outbox = open();
    (void)outbox.append(make_results(5), 0);
    outbox.skip_to(20);
    EXPECT_EQ(outbox.last_seq(), 20u);
    EXPECT_EQ(outbox.size(), 0u);
    outbox.skip_to(10);  // never backwards
    EXPECT_EQ(outbox.last_seq(), 20u);
  }
  ResultOutbox outbox = open();
  EXPECT_EQ(outbox.first_seq(), 21u);
  EXPECT_EQ(outbox.append(make_results(1), 0).records.at(0).seq, 21u);
}

TEST_F(ResultOutboxTest, ReopeningKeepsEpochSequenceAndRecordsEvenWhenTrimmedEmpty) {
  std::string epoch;
  {
    ResultOutbox outbox = open();
    epoch = outbox.epoch();
    (void)outbox.append(make_results(5), 0);
    (void)outbox.trim(2);
  }
  {
    ResultOutbox outbox = open();
    EXPECT_EQ(outbox.epoch(), epoch);
    EXPECT_EQ(outbox.first_seq(), 3u);
    EXPECT_EQ(outbox.last_seq(), 5u);
    (void)outbox.trim(5);
  }
  ResultOutbox outbox = open();
  EXPECT_EQ(outbox.epoch(), epoch);
  EXPECT_EQ(outbox.size(), 0u);
  auto outcome = outbox.append(make_results(1), 0);
  EXPECT_EQ(outcome.records.at(0).seq, 6u);
}

TEST_F(ResultOutboxTest, ADeletedOutboxFileStartsANewEpochFromSeqOne) {
  std::string epoch;
  {
    ResultOutbox outbox = open();
    epoch = outbox.epoch();
    (void)outbox.append(make_results(5), 0);
  }
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(dir_ / (std::string("outbox.db") + suffix));
  ResultOutbox outbox = open();
  EXPECT_NE(outbox.epoch(), epoch);
  EXPECT_EQ(outbox.append(make_results(1), 0).records.at(0).seq, 1u);
}

TEST_F(ResultOutboxTest, RecordCapDropsTheOldestAndCommitsALossRecordWithItsOwnSeq) {
  ResultOutbox outbox = open({.max_records = 100});
  (void)outbox.append(make_results(100), 0);
  EXPECT_EQ(outbox.size(), 100u);
  auto outcome = outbox.append(make_results(5, 100), 0);
  // 105 + a loss record, down to 1% below the cap: 99 kept, 7 dropped.
  EXPECT_EQ(outcome.dropped, 7u);
  ASSERT_EQ(outcome.records.size(), 6u);
  const OutboxRecord& loss = outcome.records.back();
  EXPECT_EQ(loss.seq, 106u);
  EXPECT_EQ(loss.topic, "res/edge-1/_loss");
  const protocol::Record record = decode(loss);
  ASSERT_TRUE(record.is_loss());
  EXPECT_EQ(std::get<protocol::LossRange>(record.body),
            (protocol::LossRange{1, 7, 7, "outbox_full"}));
  EXPECT_EQ(outbox.first_seq(), 8u);
  EXPECT_EQ(outbox.last_seq(), 106u);
  EXPECT_EQ(outbox.size(), 99u);
  // Still gap-free: the next result follows the loss record.
  EXPECT_EQ(outbox.append(make_results(1), 0).records.at(0).seq, 107u);
}

TEST_F(ResultOutboxTest, ABatchLargerThanTheCapNeverReturnsARecordItDidNotKeep) {
  ResultOutbox outbox = open({.max_records = 10});
  (void)outbox.append(make_results(4), 0);
  auto outcome = outbox.append(make_results(20, 4), 0);
  // 24 results + loss: keep 10 (the cap has no 1% room below 100): 9 results + loss.
  EXPECT_EQ(outcome.dropped, 15u);
  ASSERT_EQ(outcome.records.size(), 10u);
  EXPECT_EQ(outcome.records.front().seq, 16u);
  EXPECT_EQ(outcome.records.back().seq, 25u);
  EXPECT_EQ(std::get<protocol::LossRange>(decode(outcome.records.back()).body),
            (protocol::LossRange{1, 15, 15, "outbox_full"}));
  EXPECT_EQ(outbox.first_seq(), 16u);
  EXPECT_EQ(outbox.size(), 10u);
  auto held = outbox.read(1, 1000, 1 << 20).records;
  ASSERT_EQ(held.size(), 10u);
  for (std::size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(held[i].seq, outcome.records[i].seq);
    EXPECT_EQ(held[i].body, outcome.records[i].body);
  }
}

TEST_F(ResultOutboxTest, ALossRangeReachesBackToTheLastAckSoAnEarlierDroppedLossIsCovered) {
  ResultOutbox outbox = open({.max_records = 10});
  (void)outbox.append(make_results(10), 0);
  auto first = outbox.append(make_results(5), 0);
  EXPECT_EQ(std::get<protocol::LossRange>(decode(first.records.back()).body),
            (protocol::LossRange{1, 6, 6, "outbox_full"}));
  EXPECT_EQ(first.records.back().seq, 16u);
  // The next drop takes the first loss record (seq 16) with it.
  auto second = outbox.append(make_results(10), 0);
  EXPECT_EQ(second.records.back().seq, 27u);
  EXPECT_EQ(std::get<protocol::LossRange>(decode(second.records.back()).body),
            (protocol::LossRange{1, 17, 11, "outbox_full"}));
  EXPECT_EQ(outbox.first_seq(), 18u);

  // After an ACK, loss ranges start behind it, also after a reopen.
  (void)outbox.trim(20);
  ResultOutbox reopened = open({.max_records = 10});
  auto third = reopened.append(make_results(10), 0);
  EXPECT_EQ(std::get<protocol::LossRange>(decode(third.records.back()).body).from_seq, 21u);
}

TEST_F(ResultOutboxTest, AgeCapDropsRecordsOlderThanTheMaximumAgeWithALossRecord) {
  ResultOutbox outbox = open({.max_age = std::chrono::minutes(30)});
  (void)outbox.append(make_results(10), 0);
  clock_.advance(std::chrono::minutes(20));
  (void)outbox.append(make_results(5, 10), 0);
  clock_.advance(std::chrono::minutes(20));
  auto outcome = outbox.append(make_results(2, 15), 0);
  EXPECT_EQ(outcome.dropped, 10u);
  ASSERT_EQ(outcome.records.size(), 3u);
  const OutboxRecord& loss = outcome.records.front();
  EXPECT_EQ(loss.seq, 16u);
  EXPECT_EQ(std::get<protocol::LossRange>(decode(loss).body),
            (protocol::LossRange{1, 10, 10, "outbox_age"}));
  EXPECT_EQ(outcome.records[1].seq, 17u);
  EXPECT_EQ(outbox.first_seq(), 11u);
  EXPECT_EQ(outbox.size(), 8u);  // 5 younger results, the loss record, 2 new results
}

TEST_F(ResultOutboxTest, AgesGoOnAfterARestartAndTheTimeStoppedNeverCounts) {
  {
    ResultOutbox outbox = open({.max_age = std::chrono::minutes(30)});
    (void)outbox.append(make_results(10), 0);
    clock_.advance(std::chrono::minutes(20));
    (void)outbox.append(make_results(5, 10), 0);
  }
  // The monotonic clock of the next run starts anywhere; days may have passed.
  ManualClock next_run;
  next_run.advance(-std::chrono::minutes(50));
  ResultOutbox outbox = open({.max_age = std::chrono::minutes(30), .clock = &next_run});
  EXPECT_EQ(outbox.append(make_results(1, 15), 0).dropped, 0u) << "only 20 minutes ran";
  next_run.advance(std::chrono::minutes(15));
  auto outcome = outbox.append(make_results(1, 16), 0);
  EXPECT_EQ(outcome.dropped, 10u) << "the first 10 waited 35 minutes in running monitors";
  EXPECT_EQ(outbox.first_seq(), 11u);
}

TEST_F(ResultOutboxTest, AnOutboxFromBeforeTheOutboxClockKeepsItsRowsAgesOnUpgrade) {
  // The old schema stamped rows with the wall clock: 10 rows an hour ago,
  // 10 rows 50 minutes ago (as if the wall clock had stepped since).
  netmon::testing::write_pre_clock_outbox(
      dir_ / ResultOutbox::kFileName, "00112233445566aa", 20,
      [](std::int64_t seq) { return std::chrono::minutes(seq <= 10 ? 60 : 50); });
  ResultOutbox outbox = open({.max_age = std::chrono::minutes(30)});
  EXPECT_EQ(outbox.epoch(), "00112233445566aa");
  EXPECT_EQ(outbox.append(make_results(1), 0).dropped, 0u) << "the upgrade aged nothing";
  clock_.advance(std::chrono::minutes(25));
  auto outcome = outbox.append(make_results(1), 0);
  EXPECT_EQ(outcome.dropped, 10u) << "the oldest 10 were 10 minutes older than the newest";
  EXPECT_EQ(outbox.first_seq(), 11u);
}

TEST_F(ResultOutboxTest, HugeDetailsAreReplacedByANoteSoEveryRecordFitsAMessage) {
  ResultOutbox outbox = open();
  CheckResult big = make_result(1);
  big.details = {{"blob", std::string(ResultOutbox::kMaxBodyBytes + 10, 'x')}};
  auto outcome = outbox.append(std::vector{big}, 0);
  ASSERT_EQ(outcome.records.size(), 1u);
  EXPECT_LT(outcome.records[0].body.size(), ResultOutbox::kMaxBodyBytes);
  const auto result = std::get<CheckResult>(decode(outcome.records[0]).body);
  EXPECT_TRUE(result.details.contains("truncated"));
  EXPECT_EQ(result.check_id, "web");
}

std::vector<std::uint64_t> seqs_of(const std::vector<OutboxRecord>& records) {
  std::vector<std::uint64_t> seqs;
  for (const OutboxRecord& record : records)
    seqs.push_back(record.seq);
  return seqs;
}

// Issue 7, fault suite: bytes flipped inside record bodies pass quick_check;
// the monitor replayed them, the manager refused them, and the ACK stopped
// below them for good.
TEST_F(ResultOutboxTest, RowsDamagedOnDiskAreLeftOutDeletedAndCoveredByOneLossRecord) {
  {
    ResultOutbox outbox = open();
    (void)outbox.append(make_results(10), 0);
  }
  const auto file = dir_ / ResultOutbox::kFileName;
  netmon::testing::damage_outbox_row(file, 4, netmon::testing::truncated);
  netmon::testing::damage_outbox_row(file, 7, [](std::string body) {
    return netmon::testing::last_character_changed(std::move(body), "127.0.0.1:80");
  });
  ResultOutbox outbox = open();
  const ReadOutcome read = outbox.read(1, 1000, 1 << 20, 9);
  EXPECT_EQ(seqs_of(read.records), (std::vector<std::uint64_t>{1, 2, 3, 5, 6, 8, 9, 10}));
  EXPECT_EQ(read.damaged, (std::vector<std::uint64_t>{4, 7}));
  ASSERT_EQ(read.loss.records.size(), 1u);
  const protocol::Record loss = decode(read.loss.records.front());
  EXPECT_EQ(loss.key, (protocol::RecordKey{"edge-1", 9, outbox.epoch(), 11}));
  EXPECT_EQ(std::get<protocol::LossRange>(loss.body),
            (protocol::LossRange{4, 7, 2, ResultOutbox::kCorruptReason}));
  EXPECT_EQ(read.loss.records.front().topic, "res/edge-1/_loss");
  EXPECT_EQ(outbox.last_seq(), 11u);

  // Gone for good: the next read (and a restart) finds only intact rows.
  const ReadOutcome again = open().read(1, 1000, 1 << 20);
  EXPECT_TRUE(again.damaged.empty());
  EXPECT_EQ(seqs_of(again.records), (std::vector<std::uint64_t>{1, 2, 3, 5, 6, 8, 9, 10, 11}));
}

TEST_F(ResultOutboxTest, ADamagedFirstRowMovesTheFirstSeq) {
  {
    ResultOutbox outbox = open();
    (void)outbox.append(make_results(3), 0);
  }
  netmon::testing::damage_outbox_row(dir_ / ResultOutbox::kFileName, 1, netmon::testing::truncated);
  ResultOutbox outbox = open();
  EXPECT_EQ(outbox.read(1, 1000, 1 << 20).damaged, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(outbox.first_seq(), 2u);
  EXPECT_EQ(outbox.last_seq(), 4u);
}

TEST_F(ResultOutboxTest, RowsFromBeforeChecksumsAreCheckedByDecodingToTheirOwnKey) {
  {
    ResultOutbox outbox = open();
    (void)outbox.append(make_results(4), 0);
  }
  {
    sqlite::Database db(dir_ / ResultOutbox::kFileName, {});
    db.exec(
        "UPDATE records SET crc = NULL;"
        "UPDATE records SET body = (SELECT body FROM records WHERE seq = 3) WHERE seq = 2;"
        "UPDATE records SET body = x'00' WHERE seq = 4;");
  }
  ResultOutbox outbox = open();
  const ReadOutcome read = outbox.read(1, 1000, 1 << 20);
  EXPECT_EQ(seqs_of(read.records), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(read.damaged, (std::vector<std::uint64_t>{2, 4}));
}

// A checkpoint inside the agent's commit would stop its heartbeats for as
// long as the disk takes to sync the file (seconds when saturated).
TEST_F(ResultOutboxTest, AppendsGoOnWhileACheckpointWaitsForItsFsync) {
  netmon::testing::HeldSyncVfs vfs;
  ResultOutbox outbox = open();
  const auto append_results = [&](int first, int count) {
    for (int i = first; i < first + count; ++i)
      (void)outbox.append(make_results(1, i), 0);
  };
  EXPECT_EQ(netmon::testing::writes_during_held_checkpoint(vfs, append_results, 1500, 500), "");
}

}  // namespace
}  // namespace netmon::agent
