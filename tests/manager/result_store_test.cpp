#include "manager/result_store.hpp"

#include <gtest/gtest.h>

#include "tests/manager/manager_test_support.hpp"
#include "tests/support/held_sync_vfs.hpp"

namespace netmon::manager {
namespace {

using testing::loss_record;
using testing::result_record;

std::int64_t count_rows(const std::filesystem::path& dir, const std::string& sql) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(dir), options);
  auto statement = db.prepare(sql);
  return statement.step() ? statement.column_int64(0) : -1;
}

std::string text_of(const std::filesystem::path& dir, const std::string& sql) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(dir), options);
  auto statement = db.prepare(sql);
  return statement.step() ? std::string(statement.column_text(0)) : std::string("<no row>");
}

TEST(ResultStore, TellsAReplayedBodyFromAConflictingOneAndKeepsTheStoredRow) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  const auto ts = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  const auto record = result_record("edge-1", "e", 1, "web", netmon::CheckStatus::kUp, ts);
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, record, 100), InsertOutcome::kInserted);
  EXPECT_EQ(store.insert(1, record, 200), InsertOutcome::kDuplicate)
      << "the same body stored at another time is a replay";

  const auto changed = [&](auto change) {
    protocol::Record other = record;
    change(std::get<CheckResult>(other.body));
    return store.insert(1, other, 300);
  };
  EXPECT_EQ(changed([](CheckResult& r) { r.status = netmon::CheckStatus::kDown; }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.details["port"] = 10; }), InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.check_id = "db"; }), InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.timestamp += std::chrono::seconds(1); }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.latency += std::chrono::microseconds(1); }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.reason = "connect_refused"; }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.error = "refused"; }), InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.target = "127.0.0.1:10"; }), InsertOutcome::kConflict);
  EXPECT_EQ(changed([](CheckResult& r) { r.type = "udp"; }), InsertOutcome::kConflict);
  EXPECT_EQ(store.insert(1, loss_record("edge-1", "e", 1, 1, 1), 300), InsertOutcome::kConflict)
      << "a loss at a result's key";
  transaction.commit();

  EXPECT_EQ(count_rows(dir.path(), "SELECT COUNT(*) FROM records"), 1);
  EXPECT_EQ(text_of(dir.path(),
                    "SELECT \"check\" || ' ' || status || ' ' || details || ' ' || stored_us "
                    "FROM records"),
            R"(web up {"port":9} 100)")
      << "a conflicting body replaced the stored row";
}

// A result with every phase reached, as an http check reports it.
protocol::Record timed_record(std::uint64_t seq) {
  auto record = result_record("edge-1", "e", seq, "web", netmon::CheckStatus::kUp,
                              std::chrono::system_clock::time_point(std::chrono::seconds(1)));
  auto& timings = std::get<CheckResult>(record.body).timings;
  timings.resolve = std::chrono::microseconds(1'234);
  timings.connect = std::chrono::microseconds(2'001);
  timings.tls = std::chrono::microseconds(7'777);
  timings.first_byte = std::chrono::microseconds(9'999'999);
  timings.total = std::chrono::microseconds(10'000'001);
  return record;
}

TEST(ResultStore, StoresATimingsObjectShapedAsNetmonProbePrintsIt) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  const auto record = timed_record(1);
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, record, 1), InsertOutcome::kInserted);
  ASSERT_EQ(store.insert(1, loss_record("edge-1", "e", 2, 5, 6), 1), InsertOutcome::kInserted);
  transaction.commit();
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records WHERE seq = 1"),
            to_json(std::get<CheckResult>(record.body)).at("timings").dump());
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records WHERE seq = 1"),
            R"({"connect_ms":2.001,"first_byte_ms":9999.999,"resolve_ms":1.234,"tls_ms":7.777,)"
            R"("total_ms":10000.001})");
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records WHERE seq = 2"), "{}")
      << "a loss has no timings";
}

TEST(ResultStore, TellsAReplayFromAConflictByTheTimingsToo) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  const auto record = timed_record(1);
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, record, 100), InsertOutcome::kInserted);
  EXPECT_EQ(store.insert(1, record, 200), InsertOutcome::kDuplicate);
  const auto changed = [&](auto change) {
    protocol::Record other = record;
    change(std::get<CheckResult>(other.body).timings);
    return store.insert(1, other, 300);
  };
  EXPECT_EQ(changed([](PhaseTimings& t) { t.connect = std::chrono::microseconds(2'002); }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](PhaseTimings& t) { t.tls.reset(); }), InsertOutcome::kConflict)
      << "a phase not reached";
  EXPECT_EQ(changed([](PhaseTimings& t) { t.total += std::chrono::microseconds(1); }),
            InsertOutcome::kConflict);
  EXPECT_EQ(changed([](PhaseTimings& t) { t = PhaseTimings{}; }), InsertOutcome::kConflict);
  transaction.commit();
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records"),
            to_json(std::get<CheckResult>(record.body)).at("timings").dump())
      << "a conflicting body replaced the stored timings";
}

// The records table as netmon made it before it kept timings, with one row.
void make_store_without_timings(const std::filesystem::path& dir) {
  sqlite::Database db(ResultStore::file_in(dir), {});
  db.exec(R"sql(
    CREATE TABLE monitors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
      instance TEXT NOT NULL, first_seen_us INTEGER NOT NULL, last_seen_us INTEGER NOT NULL);
    CREATE TABLE configs(name TEXT NOT NULL, version INTEGER NOT NULL, checks BLOB NOT NULL,
      created_us INTEGER NOT NULL, PRIMARY KEY(name, version));
    CREATE TABLE records(monitor_id INTEGER NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
      "check" TEXT NOT NULL, type TEXT NOT NULL, target TEXT NOT NULL, ts_us INTEGER NOT NULL,
      status TEXT NOT NULL, reason TEXT NOT NULL, error TEXT NOT NULL,
      latency_us INTEGER NOT NULL, details TEXT NOT NULL, stored_us INTEGER NOT NULL,
      UNIQUE(monitor_id, epoch, seq));
    CREATE TABLE events(id INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, monitor TEXT NOT NULL,
      "check" TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
      text TEXT NOT NULL);
    INSERT INTO monitors VALUES(1, 'edge-1', 'i1', 0, 0);
    INSERT INTO records VALUES(1, 'e', 1, 'web', 'tcp', '127.0.0.1:9', 1000000, 'up', '', '',
      1500, '{"port":9}', 5);)sql");
}

TEST(ResultStore, OpensAStoreMadeBeforeItKeptTimingsAndAddsTheColumn) {
  netmon::testing::TempDir dir;
  make_store_without_timings(dir.path());
  {
    sqlite::Database db(ResultStore::file_in(dir.path()), {});
    ASSERT_FALSE(has_column(db, "records", "timings"));
  }
  {
    ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
    EXPECT_EQ(store.monitor_id("edge-1"), 1u);
    EXPECT_EQ(store.epoch_progress(1, "e").contiguous, 1u);
    auto transaction = store.transaction();
    // The old row's body replayed after the upgrade, now with timings: the
    // old row's are unknown, so it is the same record, not a conflict.
    auto replay = result_record("edge-1", "e", 1, "web", netmon::CheckStatus::kUp,
                                std::chrono::system_clock::time_point(std::chrono::seconds(1)));
    std::get<CheckResult>(replay.body).timings.connect = std::chrono::microseconds(1'400);
    std::get<CheckResult>(replay.body).timings.total = std::chrono::microseconds(1'500);
    EXPECT_EQ(store.insert(1, replay, 6), InsertOutcome::kDuplicate);
    std::get<CheckResult>(replay.body).status = netmon::CheckStatus::kDown;
    EXPECT_EQ(store.insert(1, replay, 6), InsertOutcome::kConflict)
        << "the columns it had still decide";
    EXPECT_EQ(store.insert(1, timed_record(2), 6), InsertOutcome::kInserted);
    transaction.commit();
  }
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records WHERE seq = 1"), "{}");
  EXPECT_EQ(text_of(dir.path(), "SELECT timings FROM records WHERE seq = 2"),
            to_json(std::get<CheckResult>(timed_record(2).body)).at("timings").dump());
  // Opened again (the column is there now): nothing added twice, still writable.
  ResultStore again(dir.path(), sqlite::Synchronous::kNormal);
  auto transaction = again.transaction();
  EXPECT_EQ(again.insert(1, timed_record(2), 7), InsertOutcome::kDuplicate);
  EXPECT_EQ(again.insert(1, timed_record(3), 7), InsertOutcome::kInserted);
  transaction.commit();
  EXPECT_EQ(count_rows(dir.path(),
                       "SELECT COUNT(*) FROM pragma_table_info('records') WHERE "
                       "name = 'timings'"),
            1);
}

TEST(ResultStore, TellsAReplayedLossFromAConflictingOneAfterItsLostRangesWereSet) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, result_record("edge-1", "e", 3, "web"), 1), InsertOutcome::kInserted);
  ASSERT_EQ(store.insert(1, loss_record("edge-1", "e", 5, 1, 4), 1), InsertOutcome::kInserted);
  store.set_lost_ranges(1, "e", 5, {{1, 2}, {4, 4}});
  // A loss row's ts is when it was stored, and its details gained "lost": neither is its body.
  EXPECT_EQ(store.insert(1, loss_record("edge-1", "e", 5, 1, 4), 2), InsertOutcome::kDuplicate);
  EXPECT_EQ(store.insert(1, loss_record("edge-1", "e", 5, 1, 3), 2), InsertOutcome::kConflict);
  protocol::Record other_reason = loss_record("edge-1", "e", 5, 1, 4);
  std::get<protocol::LossRange>(other_reason.body).reason = "outbox_age";
  EXPECT_EQ(store.insert(1, other_reason, 2), InsertOutcome::kConflict);
  EXPECT_EQ(store.insert(1, result_record("edge-1", "e", 5, "web"), 2), InsertOutcome::kConflict)
      << "a result at a loss's key";
  EXPECT_EQ(store.insert(1, loss_record("edge-1", "e", 3, 1, 2), 2), InsertOutcome::kConflict)
      << "a loss at a result's key";
  transaction.commit();
  EXPECT_EQ(text_of(dir.path(), "SELECT details FROM records WHERE seq = 5"),
            R"({"count":4,"from_seq":1,"reason":"outbox_full","to_seq":4,)"
            R"("lost":[[1,2],[4,4]],"lost_count":3})");
}

TEST(ResultStore, StoresTextThatIsNotUtf8EscapedInsteadOfThrowing) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  protocol::Record record = result_record("edge-1", "e", 1, "web\xff");
  auto& result = std::get<CheckResult>(record.body);
  result.target = "\xfehost";
  result.reason = "bad\xc0";
  result.error = "banner \xe2\x82";
  result.details = {{"banner", "SSH\xff"}, {"k\xfe", 1}, {"list", {"\xc0", {{"deep", "\x80"}}}}};
  auto transaction = store.transaction();
  InsertOutcome outcome = InsertOutcome::kDuplicate;
  ASSERT_NO_THROW(outcome = store.insert(1, record, 1));
  EXPECT_EQ(outcome, InsertOutcome::kInserted);
  EXPECT_EQ(store.insert(1, record, 2), InsertOutcome::kDuplicate)
      << "the same hostile body again is a replay, not a conflict";
  transaction.commit();
  EXPECT_EQ(text_of(dir.path(),
                    "SELECT \"check\" || '|' || target || '|' || reason || '|' || error || '|' || "
                    "details FROM records"),
            R"(web\xff|\xfehost|bad\xc0|banner \xe2\x82|)"
            R"({"banner":"SSH\\xff","k\\xfe":1,"list":["\\xc0",{"deep":"\\x80"}]})");
}

TEST(ResultStore, StoresARecordOnceUnderTheSameKey) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  const auto record = result_record("edge-1", "00000000000000aa", 1, "web");
  auto first = store.transaction();
  EXPECT_EQ(store.insert(1, record, 100), InsertOutcome::kInserted);
  EXPECT_EQ(store.insert(1, record, 200), InsertOutcome::kDuplicate)
      << "a duplicate was reported as stored";
  first.commit();
  auto second = store.transaction();
  EXPECT_EQ(store.insert(1, record, 300), InsertOutcome::kDuplicate)
      << "a duplicate in a later batch was stored";
  EXPECT_EQ(store.insert(2, record, 300), InsertOutcome::kInserted)
      << "another monitor's record is not a duplicate";
  EXPECT_EQ(store.insert(1, result_record("edge-1", "00000000000000bb", 1, "web"), 300),
            InsertOutcome::kInserted)
      << "another epoch's record is not a duplicate";
  second.commit();
  EXPECT_EQ(count_rows(dir.path(), "SELECT COUNT(*) FROM records"), 3);
  EXPECT_EQ(count_rows(dir.path(),
                       "SELECT stored_us FROM records WHERE monitor_id = 1 AND "
                       "epoch = '00000000000000aa'"),
            100);
}

TEST(ResultStore, KeepsColumnsTheLatencyBenchmarkReads) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kFull);
  const auto ts = std::chrono::system_clock::time_point(std::chrono::microseconds(1'000'000));
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, result_record("edge-1", "e", 1, "web", netmon::CheckStatus::kDown, ts),
                         1'010'000),
            InsertOutcome::kInserted);
  transaction.commit();
  EXPECT_EQ(count_rows(dir.path(), "SELECT stored_us - (ts_us + latency_us) FROM records"),
            1'010'000 - 1'000'000 - 1500);
  EXPECT_EQ(count_rows(dir.path(),
                       "SELECT COUNT(*) FROM records WHERE \"check\" = 'web' AND "
                       "status = 'down' AND reason = 'connect_refused'"),
            1);
}

TEST(ResultStore, StoresLossRecordsInTheSameSequence) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, result_record("edge-1", "e", 1, "web"), 5), InsertOutcome::kInserted);
  ASSERT_EQ(store.insert(1, loss_record("edge-1", "e", 2, 2, 40), 5), InsertOutcome::kInserted);
  transaction.commit();
  EXPECT_EQ(count_rows(dir.path(),
                       "SELECT seq FROM records WHERE \"check\" = '_loss' AND "
                       "json_extract(details, '$.count') = 39"),
            2);
  EXPECT_EQ(store.epoch_progress(1, "e").contiguous, 2u);
}

TEST(ResultStore, RecoversTheContiguousSeqAndTheSeqsBeyondAGapAfterReopening) {
  netmon::testing::TempDir dir;
  {
    ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
    auto transaction = store.transaction();
    for (std::uint64_t seq : {1, 2, 3, 5, 6, 9}) {
      ASSERT_EQ(store.insert(7, result_record("edge-1", "e", seq, "web"), 1),
                InsertOutcome::kInserted);
    }
    ASSERT_EQ(store.insert(7, result_record("edge-1", "other", 2, "web"), 1),
              InsertOutcome::kInserted);
    transaction.commit();
  }
  ResultStore reopened(dir.path(), sqlite::Synchronous::kNormal);
  const auto progress = reopened.epoch_progress(7, "e");
  EXPECT_EQ(progress.contiguous, 3u);
  EXPECT_EQ(progress.above, (std::vector<std::uint64_t>{5, 6, 9}));
  const auto other = reopened.epoch_progress(7, "other");
  EXPECT_EQ(other.contiguous, 0u) << "seq 1 is missing, so nothing is contiguous";
  EXPECT_EQ(other.above, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(reopened.epoch_progress(8, "e").contiguous, 0u);
}

TEST(ResultStore, AssignsMonitorIdsOnceAndKeepsThemAcrossReopening) {
  netmon::testing::TempDir dir;
  std::uint64_t first = 0;
  {
    ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
    EXPECT_FALSE(store.monitor_id("edge-1"));
    first = store.register_monitor("edge-1", "instance-a");
    EXPECT_EQ(store.register_monitor("edge-1", "instance-b"), first);
    EXPECT_NE(store.register_monitor("edge-2", "instance-c"), first);
  }
  ResultStore reopened(dir.path(), sqlite::Synchronous::kNormal);
  EXPECT_EQ(reopened.monitor_id("edge-1"), first);
  EXPECT_EQ(reopened.monitor_ids().size(), 2u);
}

TEST(ResultStore, BumpsTheConfigVersionOnlyWhenTheCheckListChanges) {
  netmon::testing::TempDir dir;
  CheckSpec check;
  check.id = "web";
  check.type = "tcp";
  check.params = {{"host", std::string("127.0.0.1")}, {"port", std::string("80")}};
  {
    ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
    EXPECT_EQ(store.save_config("edge-1", {check}), 1u);
    EXPECT_EQ(store.save_config("edge-1", {check}), 1u);
    check.interval = std::chrono::seconds(30);
    EXPECT_EQ(store.save_config("edge-1", {check}), 2u);
    EXPECT_EQ(store.save_config("edge-2", {}), 1u);
  }
  ResultStore reopened(dir.path(), sqlite::Synchronous::kNormal);
  const auto latest = reopened.latest_config("edge-1");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 2u);
  EXPECT_EQ(latest->checks, std::vector<CheckSpec>{check});
  EXPECT_EQ(reopened.save_config("edge-1", {check}), 2u);
}

TEST(ResultStore, ABatchDroppedUncommittedLeavesNothing) {
  netmon::testing::TempDir dir;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  {
    auto transaction = store.transaction();
    ASSERT_EQ(store.insert(1, result_record("edge-1", "e", 1, "web"), 1), InsertOutcome::kInserted);
  }
  EXPECT_EQ(count_rows(dir.path(), "SELECT COUNT(*) FROM records"), 0);
}

// CI, stop 12: a checkpoint run inside the manager's commit waited seconds
// for its fsync on a saturated disk, and every monitor declared the manager
// lost. The store's commits must not wait for one.
TEST(ResultStore, CommitsGoOnWhileACheckpointWaitsForItsFsync) {
  netmon::testing::TempDir dir;
  netmon::testing::HeldSyncVfs vfs;
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  const auto ts = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  const auto commit_results = [&](int first, int count) {
    for (int n = first; n < first + count; ++n) {
      auto transaction = store.transaction();
      (void)store.insert(1,
                         result_record("edge-1", "e", static_cast<std::uint64_t>(n) + 1, "web",
                                       netmon::CheckStatus::kUp, ts),
                         100);
      transaction.commit();
    }
  };
  EXPECT_EQ(netmon::testing::writes_during_held_checkpoint(vfs, commit_results, 2000, 500), "");
}

}  // namespace
}  // namespace netmon::manager
