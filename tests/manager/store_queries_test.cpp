#include "manager/store_queries.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using testing::loss_record;
using testing::result_record;
using Clock = std::chrono::system_clock;

constexpr Clock::time_point kT0{std::chrono::seconds(1'795'000'000)};  // 2026-11-18

std::int64_t to_us_of(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

// A store written through ResultStore, as the manager's loop writes it.
class StoreQueries : public ::testing::Test {
 protected:
  StoreQueries() : store_(dir_.path(), sqlite::Synchronous::kNormal) {
    edge1_ = store_.register_monitor("edge-1", "i1");
    edge2_ = store_.register_monitor("edge-2", "i2");
  }

  void add_result(std::uint64_t monitor_id, const std::string& epoch, std::uint64_t seq,
                  const std::string& check, netmon::CheckStatus status, Clock::time_point ts,
                  std::chrono::microseconds latency = 1500us, const std::string& reason = "") {
    protocol::Record record = result_record("m", epoch, seq, check, status, ts);
    auto& result = std::get<CheckResult>(record.body);
    result.latency = latency;
    if (!reason.empty()) result.reason = reason;
    auto transaction = store_.transaction();
    ASSERT_EQ(store_.insert(monitor_id, record, 1), InsertOutcome::kInserted);
    transaction.commit();
  }

  void add_event(Clock::time_point ts, const std::string& monitor, const std::string& check,
                 const std::string& from, const std::string& to) {
    auto transaction = store_.transaction();
    store_.add_event(
        {ts, monitor, check, from, to, monitor + "/" + check + " " + from + " -> " + to});
    transaction.commit();
  }

  // A raw statement on a writable connection of its own: rows as a bad disk,
  // an older netmon or a hand edit could leave them.
  void raw(const std::string& sql, const std::function<void(sqlite::Statement&)>& bind = {}) {
    sqlite::Database db(ResultStore::file_in(dir_.path()), {});
    auto statement = db.prepare(sql);
    if (bind) bind(statement);
    statement.run();
  }

  StoreReader reader() {
    auto reader = StoreReader::open(dir_.path());
    EXPECT_TRUE(reader) << reader.error().message;
    return std::move(reader).value();
  }

  netmon::testing::TempDir dir_;
  ResultStore store_;
  std::uint64_t edge1_ = 0;
  std::uint64_t edge2_ = 0;
};

TEST_F(StoreQueries, EventsAreTheNewestUpToTheLimitOldestFirst) {
  for (int i = 0; i < 5; ++i) {
    add_event(kT0 + std::chrono::seconds(i), "edge-1", "web", i % 2 ? "DOWN" : "UP",
              i % 2 ? "UP" : "DOWN");
  }
  auto events = reader().events({}, 3);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->events.size(), 3u);
  EXPECT_TRUE(events->truncated);
  EXPECT_EQ(events->events[0].time, kT0 + 2s);
  EXPECT_EQ(events->events[2].time, kT0 + 4s);
  EXPECT_EQ(events->events[2].monitor, "edge-1");
  EXPECT_EQ(events->events[2].check, "web");
  EXPECT_EQ(events->events[2].from, "UP");
  EXPECT_EQ(events->events[2].to, "DOWN");
  EXPECT_EQ(events->events[2].text, "edge-1/web UP -> DOWN");
  EXPECT_EQ(events->damaged, 0u);

  auto all = reader().events({}, 5);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->events.size(), 5u);
  EXPECT_FALSE(all->truncated) << "nothing older was left out";
}

TEST_F(StoreQueries, EventsMatchSinceMonitorAndCheck) {
  add_event(kT0, "edge-1", "web", "UNKNOWN", "UP");
  add_event(kT0 + 10s, "edge-1", "web", "UP", "DOWN");
  add_event(kT0 + 20s, "edge-1", "dns", "UNKNOWN", "UP");
  add_event(kT0 + 30s, "edge-2", "web", "UNKNOWN", "UP");
  add_event(kT0 + 40s, "edge-1", "", "CONNECTED", "LOST");
  StoreReader store = reader();
  const auto times = [&](const StoreFilter& filter) {
    auto list = store.events(filter, 100);
    EXPECT_TRUE(list) << list.error().message;
    std::vector<std::int64_t> seconds;
    for (const StoredEvent& event : list->events)
      seconds.push_back(std::chrono::duration_cast<std::chrono::seconds>(event.time - kT0).count());
    return seconds;
  };
  EXPECT_EQ(times({.since = kT0 + 10s}), (std::vector<std::int64_t>{10, 20, 30, 40}));
  EXPECT_EQ(times({.monitor = "edge-1"}), (std::vector<std::int64_t>{0, 10, 20, 40}))
      << "a monitor's own events belong to it";
  EXPECT_EQ(times({.monitor = "edge-1", .check = "web"}), (std::vector<std::int64_t>{0, 10}));
  EXPECT_EQ(times({.check = "web"}), (std::vector<std::int64_t>{0, 10, 30}));
  EXPECT_EQ(times({.since = kT0 + 5s, .monitor = "edge-1", .check = "web"}),
            (std::vector<std::int64_t>{10}));
  EXPECT_TRUE(times({.monitor = "edge-9"}).empty());
}

TEST_F(StoreQueries, StatsCountResultsAndTakeLatencyFiguresFromTheSuccessesOnly) {
  // web: 100 successes at 1..100 ms and 4 failures whose latency is far larger.
  std::uint64_t seq = 0;
  for (int ms = 1; ms <= 100; ++ms) {
    add_result(edge1_, "e", ++seq, "web", netmon::CheckStatus::kUp, kT0 + std::chrono::seconds(ms),
               std::chrono::milliseconds(ms));
  }
  for (auto status : {netmon::CheckStatus::kDown, netmon::CheckStatus::kTimeout,
                      netmon::CheckStatus::kError, netmon::CheckStatus::kDown}) {
    add_result(edge1_, "e", ++seq, "web", status, kT0 + 200s, 5s);
  }
  add_result(edge1_, "e", ++seq, "dns", netmon::CheckStatus::kTimeout, kT0, 1s);
  add_result(edge2_, "x", 1, "web", netmon::CheckStatus::kUp, kT0, 7ms);
  add_event(kT0 + 150s, "edge-1", "web", "UP", "DOWN");
  add_event(kT0 + 160s, "edge-1", "web", "DOWN", "UP");
  add_event(kT0 + 170s, "edge-1", "web", "UP", "DOWN");
  add_event(kT0 + 170s, "edge-2", "web", "UP", "DOWN");

  auto stats = reader().stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->checks.size(), 3u);
  const CheckStats& dns = stats->checks[0];
  EXPECT_EQ(dns.monitor, "edge-1");
  EXPECT_EQ(dns.check, "dns");
  EXPECT_EQ(dns.results, 1u);
  EXPECT_EQ(dns.successes, 0u);
  EXPECT_EQ(dns.success_pct, 0.0);
  EXPECT_FALSE(dns.min_ms) << "a timeout's latency is no response time";
  EXPECT_FALSE(dns.p95_ms);

  const CheckStats& web = stats->checks[1];
  EXPECT_EQ(web.check, "web");
  EXPECT_EQ(web.results, 104u);
  EXPECT_EQ(web.successes, 100u);
  EXPECT_DOUBLE_EQ(web.success_pct, 100.0 * 100 / 104);
  ASSERT_TRUE(web.min_ms && web.avg_ms && web.median_ms && web.p95_ms && web.max_ms);
  EXPECT_DOUBLE_EQ(*web.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(*web.avg_ms, 50.5);
  EXPECT_DOUBLE_EQ(*web.median_ms, 50.0);
  EXPECT_DOUBLE_EQ(*web.p95_ms, 95.0);
  EXPECT_DOUBLE_EQ(*web.max_ms, 100.0);
  EXPECT_EQ(web.down_episodes, 2u);

  const CheckStats& other = stats->checks[2];
  EXPECT_EQ(other.monitor, "edge-2");
  EXPECT_EQ(other.results, 1u);
  EXPECT_DOUBLE_EQ(*other.median_ms, 7.0);
  EXPECT_EQ(other.down_episodes, 1u);
  EXPECT_EQ(stats->damaged, 0u);
}

TEST_F(StoreQueries, StatsMatchSinceMonitorAndCheck) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0, 1ms);
  add_result(edge1_, "e", 2, "web", netmon::CheckStatus::kDown, kT0 + 60s);
  add_result(edge1_, "e", 3, "dns", netmon::CheckStatus::kUp, kT0 + 60s);
  add_result(edge2_, "e", 1, "web", netmon::CheckStatus::kUp, kT0 + 60s);
  add_event(kT0 + 10s, "edge-1", "web", "UP", "DOWN");
  add_event(kT0 + 70s, "edge-1", "web", "UP", "DOWN");
  StoreReader store = reader();

  auto recent = store.stats({.since = kT0 + 30s, .monitor = "edge-1", .check = "web"});
  ASSERT_TRUE(recent) << recent.error().message;
  ASSERT_EQ(recent->checks.size(), 1u);
  EXPECT_EQ(recent->checks[0].results, 1u);
  EXPECT_EQ(recent->checks[0].successes, 0u);
  EXPECT_EQ(recent->checks[0].down_episodes, 1u) << "the episode before --since counted";

  auto monitor = store.stats({.monitor = "edge-1"});
  ASSERT_TRUE(monitor);
  ASSERT_EQ(monitor->checks.size(), 2u);
  EXPECT_EQ(monitor->checks[0].check, "dns");
  EXPECT_EQ(monitor->checks[1].results, 2u);
  EXPECT_EQ(monitor->checks[1].down_episodes, 2u);

  auto check = store.stats({.check = "web"});
  ASSERT_TRUE(check);
  ASSERT_EQ(check->checks.size(), 2u);
  EXPECT_EQ(check->checks[0].monitor, "edge-1");
  EXPECT_EQ(check->checks[1].monitor, "edge-2");

  auto unknown = store.stats({.monitor = "edge-9"});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->checks.empty());
}

TEST_F(StoreQueries, StatsLeaveLossRecordsOutOfTheChecksAndReportThemPerMonitor) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0);
  auto transaction = store_.transaction();
  ASSERT_EQ(store_.insert(edge1_, loss_record("edge-1", "e", 6, 2, 5), to_us_of(kT0 + 1s)),
            InsertOutcome::kInserted);
  ASSERT_EQ(store_.insert(edge1_, loss_record("edge-1", "e", 9, 7, 8), to_us_of(kT0 + 1s)),
            InsertOutcome::kInserted);
  // The manager found two of the first loss's seqs stored after all.
  store_.set_lost_ranges(edge1_, "e", 6, {{2, 3}});
  transaction.commit();

  auto stats = reader().stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->checks.size(), 1u) << "_loss is not a check";
  EXPECT_EQ(stats->checks[0].check, "web");
  ASSERT_EQ(stats->losses.size(), 1u);
  EXPECT_EQ(stats->losses[0].monitor, "edge-1");
  EXPECT_EQ(stats->losses[0].loss_records, 2u);
  EXPECT_EQ(stats->losses[0].lost, 4u) << "2 reconciled + 2 as reported";
}

// Attack review: a forged topic stores results under any check id, and stats
// made a row for each.
TEST_F(StoreQueries, StatsHaveARowForAtMostTheFirstTenThousandChecks) {
  raw(R"sql(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10005)
            INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us, status,
                                reason, error, latency_us, details, stored_us)
            SELECT 1, 'e', i, 'forged-' || i, 'tcp', 't', 1, 'up', '', '', 1, '{}', 1 FROM n)sql");
  add_result(edge1_, "e", 20'000, "forged-1", netmon::CheckStatus::kUp, kT0);
  auto stats = reader().stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->checks.size(), kMaxStatsChecks);
  EXPECT_EQ(stats->records_left_out, 5u);
  std::uint64_t results = 0;
  for (const CheckStats& check : stats->checks)
    results += check.results;
  EXPECT_EQ(results, 10'001u) << "a check that has a row lost a record";
}

TEST_F(StoreQueries, LastResultsAreEachChecksNewestStoredResult) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0 + 50s, 3ms);
  // Stored later with an older timestamp: a monitor's clock may step back,
  // and newest means as stored (the order the states saw), not by ts.
  add_result(edge1_, "e", 2, "web", netmon::CheckStatus::kDown, kT0 + 10s, 4ms, "connect_refused");
  add_result(edge1_, "e", 3, "dns", netmon::CheckStatus::kUp, kT0, 2ms);
  add_result(edge2_, "e", 1, "ntp", netmon::CheckStatus::kUp, kT0);
  auto transaction = store_.transaction();
  ASSERT_EQ(store_.insert(edge1_, loss_record("edge-1", "e", 4, 1, 1), 1),
            InsertOutcome::kInserted);
  transaction.commit();

  auto last = reader().last_results("edge-1", {"web", "dns", "_loss", "ntp", "smtp"});
  ASSERT_TRUE(last) << last.error().message;
  ASSERT_EQ(last->checks.size(), 2u) << "_loss is not a check, ntp is edge-2's, smtp has none";
  EXPECT_EQ(last->checks[0].check, "dns");
  EXPECT_EQ(last->checks[0].status, "up");
  EXPECT_EQ(last->checks[0].latency_ms, 2.0);
  EXPECT_EQ(last->checks[1].check, "web");
  EXPECT_EQ(last->checks[1].time, kT0 + 10s);
  EXPECT_EQ(last->checks[1].status, "down");
  EXPECT_EQ(last->checks[1].latency_ms, 4.0);
  EXPECT_EQ(last->checks[1].reason, "connect_refused");

  auto unknown = reader().last_results("edge-9", {"web"});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->checks.empty());
}

TEST_F(StoreQueries, StoreBytesAreTheDatabaseAndItsWal) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0);
  const auto file = ResultStore::file_in(dir_.path());
  std::uint64_t expected = std::filesystem::file_size(file);
  std::error_code ec;
  if (const auto wal = std::filesystem::file_size(file.string() + "-wal", ec); !ec) expected += wal;
  EXPECT_GT(expected, 0u);
  EXPECT_EQ(reader().store_bytes(), expected);
}

TEST_F(StoreQueries, ReadWhileTheWriterHoldsATransactionAndSeeOnlyWhatIsCommitted) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0);
  StoreReader store = reader();
  auto transaction = store_.transaction();
  ASSERT_EQ(store_.insert(edge1_, result_record("edge-1", "e", 2, "web"), 1),
            InsertOutcome::kInserted);
  // A reader that needed the writer's lock would fail here with SQLITE_BUSY.
  auto stats = store.stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->checks.size(), 1u);
  EXPECT_EQ(stats->checks[0].results, 1u);
  transaction.commit();
  EXPECT_EQ(store.stats({})->checks[0].results, 2u) << "one reader sees later commits";
}

TEST(StoreReader, OpeningWithoutAStoreOrOnAFileThatIsNoneIsAnError) {
  netmon::testing::TempDir dir;
  auto none = StoreReader::open(dir.path());
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no store here"), std::string::npos) << none.error().message;
  testing::write_file(ResultStore::file_in(dir.path()), std::string(8192, 'x'));
  auto garbage = StoreReader::open(dir.path());
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("netmon.db"), std::string::npos)
      << garbage.error().message;
}

// Damaged rows in a store made by ResultStore (the NOT NULL constraints hold,
// but SQLite keeps any type and any bytes in a column).
TEST_F(StoreQueries, DamagedRecordsAreRepairedOrSkippedAndCounted) {
  add_result(edge1_, "e", 1, "web", netmon::CheckStatus::kUp, kT0, 2ms);
  const std::string insert =
      R"sql(INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us, status,
            reason, error, latency_us, details, stored_us)
            VALUES(?1, 'e', ?2, ?3, 'tcp', 't', ?4, ?5, '', '', ?6, '{}', 1))sql";
  const auto row = [&](std::int64_t seq, const std::function<void(sqlite::Statement&)>& damage) {
    raw(insert, [&](sqlite::Statement& s) {
      s.bind(1, static_cast<std::int64_t>(edge1_)).bind(2, seq).bind(3, std::string_view("web"));
      s.bind(4, to_us_of(kT0)).bind(5, std::string_view("up")).bind(6, std::int64_t{2000});
      damage(s);
    });
  };
  row(2, [](sqlite::Statement& s) { s.bind(3, std::string_view("web\xff")); });   // repaired
  row(3, [](sqlite::Statement& s) { s.bind(5, std::string_view("sideways")); });  // skipped
  row(4, [](sqlite::Statement& s) { s.bind(6, std::string_view("fast")); });      // no latency
  row(5, [](sqlite::Statement& s) { s.bind(4, std::string_view("noon")); });      // skipped
  row(6, [](sqlite::Statement& s) { s.bind(1, std::int64_t{99}); });  // no such monitor: skipped
  row(7, [](sqlite::Statement& s) { s.bind_blob(3, std::string_view("we\0b", 4)); });
  row(8, [](sqlite::Statement& s) { s.bind_blob(5, std::string_view("up")); });  // repaired
  row(9, [](sqlite::Statement& s) { s.bind(6, std::int64_t{-5}); });             // no latency
  row(10, [](sqlite::Statement& s) { s.bind(4, std::int64_t{-1}); });  // before 1970: skipped

  auto stats = reader().stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->damaged, 9u);
  std::map<std::string, CheckStats> by_check;
  for (const CheckStats& check : stats->checks)
    by_check[check.check] = check;
  ASSERT_EQ(by_check.size(), 3u);
  EXPECT_EQ(by_check["web"].results, 4u) << "rows 1, 4, 8 and 9";
  EXPECT_EQ(by_check["web"].successes, 4u);
  EXPECT_DOUBLE_EQ(*by_check["web"].max_ms, 2.0) << "a latency that is no number was counted";
  EXPECT_EQ(by_check["web\\xff"].results, 1u);
  EXPECT_EQ(by_check[std::string("we\0b", 4)].results, 1u);

  auto last = reader().last_results("edge-1", {"web", "web\\xff"});
  ASSERT_TRUE(last) << last.error().message;
  ASSERT_EQ(last->checks.size(), 1u) << "a check id stored damaged is no configured check's";
  const LastResult& web = last->checks[0];
  EXPECT_EQ(web.check, "web");
  EXPECT_EQ(web.time, kT0) << "web's newest row (ts -1) is unreadable: the one before it counts";
  EXPECT_EQ(web.status, "up");
  EXPECT_FALSE(web.latency_ms) << "its latency -5 us is none";
  EXPECT_EQ(last->damaged, 2u) << "rows 10 and 9";
}

TEST_F(StoreQueries, DamagedEventsAreRepairedOrSkippedAndCounted) {
  add_event(kT0, "edge-1", "web", "UP", "DOWN");
  const std::string insert =
      R"sql(INSERT INTO events(ts_us, monitor, "check", from_state, to_state, text)
            VALUES(?1, 'edge-1', 'web', 'UP', 'DOWN', ?2))sql";
  raw(insert, [](sqlite::Statement& s) {
    s.bind(1, to_us_of(kT0 + 1s)).bind(2, std::string_view("bad \xc0 text"));
  });
  raw(insert, [](sqlite::Statement& s) {
    s.bind(1, std::string_view("later")).bind(2, std::string_view("x"));
  });
  raw(insert, [](sqlite::Statement& s) {
    s.bind(1, to_us_of(kT0 + 3s)).bind_blob(2, std::string_view("\x01\xfe", 2));
  });

  auto events = reader().events({}, 10);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->events.size(), 3u) << "the event without a time is left out";
  EXPECT_EQ(events->events[1].text, "bad \\xc0 text");
  EXPECT_EQ(events->events[2].text, "\x01\\xfe");
  EXPECT_EQ(events->damaged, 3u);

  auto stats = reader().stats({});
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->damaged, 1u) << "the DOWN event without a time";
}

// A store made by hand (or by another version) without the NOT NULL
// constraints: NULL in every column.
TEST(StoreReaderOfAHandMadeStore, SkipsRowsOfNullsAndCountsThem) {
  netmon::testing::TempDir dir;
  {
    sqlite::Database db(ResultStore::file_in(dir.path()), {});
    db.exec(R"sql(
      CREATE TABLE monitors(id INTEGER PRIMARY KEY, name TEXT);
      CREATE TABLE records(monitor_id, epoch, seq, "check", type, target, ts_us, status, reason,
                           error, latency_us, details, stored_us);
      CREATE TABLE events(id INTEGER PRIMARY KEY, ts_us, monitor, "check", from_state, to_state,
                          text);
      INSERT INTO monitors(id, name) VALUES(1, 'edge-1'), (2, NULL);
      INSERT INTO records(monitor_id) VALUES(1);
      INSERT INTO records(monitor_id, "check", ts_us, status) VALUES(1, 'web', 5, NULL);
      INSERT INTO records(monitor_id, "check", ts_us, status, latency_us)
        VALUES(1, 'web', 6, 'up', NULL);
      INSERT INTO records(monitor_id, "check", ts_us, status, latency_us)
        VALUES(2, NULL, 6, 'down', 1);
      INSERT INTO events(id) VALUES(1);
      INSERT INTO events(ts_us, monitor, "check", to_state) VALUES(7, 'edge-1', 'web', 'DOWN');
      )sql");
  }
  auto reader = StoreReader::open(dir.path());
  ASSERT_TRUE(reader) << reader.error().message;
  auto stats = reader->stats({});
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->checks.size(), 2u);
  EXPECT_EQ(stats->checks[0].monitor, "") << "a NULL name is repaired as empty";
  EXPECT_EQ(stats->checks[0].check, "");
  EXPECT_EQ(stats->checks[0].results, 1u);
  EXPECT_EQ(stats->checks[1].check, "web");
  EXPECT_EQ(stats->checks[1].results, 1u);
  EXPECT_FALSE(stats->checks[1].min_ms) << "a NULL latency is none";
  EXPECT_EQ(stats->checks[1].down_episodes, 1u);
  EXPECT_EQ(stats->damaged, 5u) << "the NULL name, 3 records and nothing of the events";

  auto events = reader->events({}, 10);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->events.size(), 1u);
  EXPECT_EQ(events->events[0].from, "");
  EXPECT_EQ(events->damaged, 2u);

  auto last = reader->last_results("edge-1", {"web"});
  ASSERT_TRUE(last) << last.error().message;
  ASSERT_EQ(last->checks.size(), 1u);
  EXPECT_EQ(last->checks[0].check, "web");
  EXPECT_EQ(last->checks[0].status, "up");
}

}  // namespace
}  // namespace netmon::manager
