#include "manager/record_batch.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/logging.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

using testing::loss_record;
using testing::result_record;

class RecordBatchTest : public ::testing::Test, public RecordBatchHost {
 protected:
  RecordBatchTest() {
    CheckSpec web;
    web.id = "web";
    web.type = "tcp";
    web.retries = 1;
    states_.configure("edge-1", {web});
  }

  SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch) override {
    return trackers_[{monitor_id, epoch}];
  }
  void result_stored(const protocol::RecordKey& key, const CheckResult&) override {
    results_stored_.push_back(key.seq);
  }
  void emit(protocol::Event event) override {
    events_.push_back(event);
    batch_.add(std::move(event));
  }

  SeqTracker& seqs() { return trackers_[{1, "e"}]; }

  std::int64_t count_rows(const std::string& sql) {
    sqlite::OpenOptions options;
    options.read_only = true;
    sqlite::Database db(ResultStore::file_in(dir_.path()), options);
    auto statement = db.prepare(sql);
    return statement.step() ? statement.column_int64(0) : -1;
  }

  netmon::testing::TempDir dir_;
  ResultStore store_{dir_.path(), sqlite::Synchronous::kNormal};
  CheckStates states_;
  ManualClock clock_;
  LogLimiter record_{"record", 10, std::chrono::seconds(10)},
      loss_{"loss record", 10, std::chrono::seconds(10)};
  RecordBatch batch_{store_, states_, *this, BatchLog{component_logger("manager"), record_, loss_},
                     clock_};
  std::map<std::pair<std::uint64_t, std::string>, SeqTracker> trackers_;
  std::vector<std::uint64_t> results_stored_;
  std::vector<protocol::Event> events_;
};

TEST_F(RecordBatchTest, StoresItsRecordsInOneCommitAndCountsDuplicates) {
  batch_.add(1, result_record("edge-1", "e", 1, "web"));
  batch_.add(1, result_record("edge-1", "e", 2, "web"));
  batch_.add(1, result_record("edge-1", "e", 1, "web"));
  EXPECT_EQ(batch_.records(), 3u);
  const FlushOutcome outcome = batch_.flush();
  EXPECT_FALSE(outcome.store_error);
  EXPECT_EQ(outcome.inserted, 2u);
  EXPECT_EQ(outcome.duplicates, 1u);
  EXPECT_EQ(outcome.touched.size(), 1u);
  EXPECT_EQ(seqs().contiguous(), 2u);
  EXPECT_EQ(results_stored_, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(batch_.empty()) << "a flushed batch is emptied";
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM records"), 2);
}

TEST_F(RecordBatchTest, ACheckStateChangeIsAnEventStoredInTheSameCommit) {
  batch_.add(1, result_record("edge-1", "e", 1, "web", netmon::CheckStatus::kDown));
  (void)batch_.flush();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].from, "UNKNOWN");
  EXPECT_EQ(events_[0].to, "DOWN");
  EXPECT_EQ(events_[0].text,
            "check edge-1/web UNKNOWN -> DOWN status=down reason=connect_refused after 1 "
            "consecutive failures");
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM events"), 1);
}

TEST_F(RecordBatchTest, ALossCoversOnlyWhatIsNotStored) {
  batch_.add(1, result_record("edge-1", "e", 2, "web"));
  batch_.add(1, loss_record("edge-1", "e", 4, 1, 3));
  const FlushOutcome outcome = batch_.flush();
  EXPECT_EQ(outcome.inserted, 2u);
  EXPECT_EQ(seqs().contiguous(), 4u) << "the loss accounts for seqs 1 and 3";
  const auto lost = seqs().lost_by(4);
  EXPECT_EQ(lost, (std::vector<SeqRange>{{1, 1}, {3, 3}}));
}

}  // namespace
}  // namespace netmon::manager
