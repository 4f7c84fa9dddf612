#include "manager/check_state.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

CheckSpec check_with_retries(const std::string& id, int retries) {
  CheckSpec spec;
  spec.id = id;
  spec.type = "tcp";
  spec.retries = retries;
  return spec;
}

std::optional<CheckState> state_of(const CheckStates& states, const std::string& check) {
  for (const auto& entry : states.snapshot()) {
    if (entry.check == check) return entry.state;
  }
  return std::nullopt;
}

TEST(CheckState, IsNamedOnTheWireAsDocsProtocolSays) {
  EXPECT_EQ(to_string(CheckState::kUnknown), "UNKNOWN");
  EXPECT_EQ(to_string(CheckState::kUp), "UP");
  EXPECT_EQ(to_string(CheckState::kDown), "DOWN");
}

TEST(CheckStates, GoUpAfterOneSuccessAndDownOnlyAfterRetriesConsecutiveFailures) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 3)});
  EXPECT_EQ(state_of(states, "web"), CheckState::kUnknown);
  auto change = states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 1);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, CheckState::kUnknown);
  EXPECT_EQ(change->to, CheckState::kUp);
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 2));
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kTimeout, "e", 3));
  change = states.apply("edge-1", "web", netmon::CheckStatus::kError, "e", 4);
  ASSERT_TRUE(change) << "three consecutive failures with retries 3 did not make it DOWN";
  EXPECT_EQ(change->to, CheckState::kDown);
  EXPECT_EQ(change->failures, 3);
  change = states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 5);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, CheckState::kUp);
}

TEST(CheckStates, ASuccessBetweenFailuresRestartsTheCount) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 2)});
  states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 1);
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 2));
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 3));
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 4));
  EXPECT_EQ(state_of(states, "web"), CheckState::kUp);
}

TEST(CheckStates, IgnoreResultsOfAnEarlierSeqOfTheSameEpoch) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 1)});
  states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 100);
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 50))
      << "a replayed old failure changed the state";
  EXPECT_EQ(state_of(states, "web"), CheckState::kUp);
}

// Order is (epoch, seq), never the timestamp (issue 7, defect 5): the manager
// applies only the live epoch, so a new epoch's first result counts.
TEST(CheckStates, ANewEpochStartsItsOwnSeqOrder) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 1)});
  states.apply("edge-1", "web", netmon::CheckStatus::kUp, "old", 100);
  const auto change = states.apply("edge-1", "web", netmon::CheckStatus::kDown, "new", 1);
  ASSERT_TRUE(change);
  EXPECT_EQ(state_of(states, "web"), CheckState::kDown);
}

TEST(CheckStates, ReconfiguringKeepsKnownChecksAndForgetsRemovedOnes) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 1), check_with_retries("dns", 1)});
  states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 1);
  states.configure("edge-1", {check_with_retries("web", 1), check_with_retries("ntp", 1)});
  EXPECT_EQ(state_of(states, "web"), CheckState::kDown);
  EXPECT_EQ(state_of(states, "ntp"), CheckState::kUnknown);
  EXPECT_FALSE(state_of(states, "dns"));
}

// Attack review: every check id a result named got a state, kept forever and
// copied into every snapshot: forged results with made-up check ids (the
// topic names the check, and the forger writes the topic) grew the manager
// without bound and made each snapshot slower.
TEST(CheckStates, AResultOfACheckNotConfiguredMakesNoState) {
  CheckStates states;
  states.configure("edge-1", {check_with_retries("web", 1)});
  for (std::uint64_t seq = 1; seq <= 10'000; ++seq) {
    EXPECT_FALSE(states.apply("edge-1", "forged-" + std::to_string(seq), netmon::CheckStatus::kDown,
                              "e", seq));
  }
  EXPECT_FALSE(states.apply("edge-9", "web", netmon::CheckStatus::kDown, "e", 1));
  EXPECT_EQ(states.snapshot().size(), 1u);
  EXPECT_TRUE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 10'001));
}

std::optional<CheckStates::Entry> entry_of(const CheckStates& states, const std::string& check) {
  for (const auto& entry : states.snapshot()) {
    if (entry.check == check) return entry;
  }
  return std::nullopt;
}

// A manager restart: results stored by ResultStore and applied live as the
// loop applies them, then a fresh CheckStates restored from the store.
class CheckStatesRestored : public ::testing::Test {
 protected:
  CheckStatesRestored() : store_(dir_.path(), sqlite::Synchronous::kNormal) {
    monitor_id_ = store_.register_monitor("edge-1", "i1");
    live_.configure("edge-1", checks_);
  }

  void store(const std::string& check, netmon::CheckStatus status, const std::string& epoch,
             std::uint64_t seq) {
    auto transaction = store_.transaction();
    ASSERT_EQ(
        store_.insert(monitor_id_, testing::result_record("edge-1", epoch, seq, check, status), 1),
        InsertOutcome::kInserted);
    transaction.commit();
    live_.apply("edge-1", check, status, epoch, seq);
  }

  CheckStates restored() {
    CheckStates states;
    states.configure("edge-1", checks_);
    states.restore(store_);
    return states;
  }

  netmon::testing::TempDir dir_;
  ResultStore store_;
  std::uint64_t monitor_id_ = 0;
  std::vector<CheckSpec> checks_ = {check_with_retries("web", 3), check_with_retries("dns", 2)};
  CheckStates live_;
};

TEST_F(CheckStatesRestored, HaveTheStateAndFailureCountTheyHadBeforeTheRestart) {
  store("web", netmon::CheckStatus::kUp, "e", 1);
  store("web", netmon::CheckStatus::kDown, "e", 2);
  store("dns", netmon::CheckStatus::kUp, "e", 3);
  store("web", netmon::CheckStatus::kTimeout, "e", 4);
  CheckStates states = restored();
  ASSERT_TRUE(entry_of(states, "web"));
  EXPECT_EQ(entry_of(states, "web")->state, CheckState::kUp);
  EXPECT_EQ(entry_of(states, "web")->failures, 2);
  EXPECT_EQ(entry_of(states, "web")->failures, entry_of(live_, "web")->failures);
  EXPECT_EQ(entry_of(states, "dns")->state, CheckState::kUp);
  EXPECT_EQ(entry_of(states, "dns")->failures, 0);

  // The next failure is the third in a row, as it would have been without the restart.
  const auto change = states.apply("edge-1", "web", netmon::CheckStatus::kError, "e", 5);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, CheckState::kUp);
  EXPECT_EQ(change->to, CheckState::kDown);
  EXPECT_EQ(change->failures, 3);
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 4))
      << "a seq the restored state has applied counted again";
}

TEST_F(CheckStatesRestored, StayDownAfterFailuresUpToDownAndBeyond) {
  store("web", netmon::CheckStatus::kUp, "e", 1);
  for (std::uint64_t seq = 2; seq <= 7; ++seq)
    store("web", netmon::CheckStatus::kDown, "e", seq);
  ASSERT_EQ(entry_of(live_, "web")->state, CheckState::kDown);
  CheckStates states = restored();
  EXPECT_EQ(entry_of(states, "web")->state, CheckState::kDown);
  EXPECT_GE(entry_of(states, "web")->failures, 3);
  EXPECT_EQ(entry_of(states, "dns")->state, CheckState::kUnknown) << "dns has no results";
  const auto change = states.apply("edge-1", "web", netmon::CheckStatus::kUp, "e", 8);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, CheckState::kDown);
  EXPECT_EQ(change->to, CheckState::kUp);
}

TEST_F(CheckStatesRestored, StayUnknownWithFewerFailuresThanRetriesAndNoSuccess) {
  store("web", netmon::CheckStatus::kDown, "e", 1);
  store("web", netmon::CheckStatus::kDown, "e", 2);
  CheckStates states = restored();
  EXPECT_EQ(entry_of(states, "web")->state, CheckState::kUnknown);
  EXPECT_EQ(entry_of(states, "web")->failures, 2);
  EXPECT_EQ(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "e", 3)->to,
            CheckState::kDown);
}

// A new epoch (a new outbox) starts its own seq order: the restored state
// follows the epoch stored last, whatever the epochs' names sort as.
TEST_F(CheckStatesRestored, FollowTheNewestEpochAsStoredAndItsOwnSeqOrder) {
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    store("web", netmon::CheckStatus::kUp, "b-old", seq);
  store("web", netmon::CheckStatus::kDown, "a-new", 1);
  store("web", netmon::CheckStatus::kDown, "a-new", 2);
  CheckStates states = restored();
  EXPECT_EQ(entry_of(states, "web")->state, CheckState::kUp);
  EXPECT_EQ(entry_of(states, "web")->failures, 2);
  EXPECT_FALSE(states.apply("edge-1", "web", netmon::CheckStatus::kDown, "a-new", 2))
      << "the new epoch's seq 2 was not the newest applied";
  const auto change = states.apply("edge-1", "web", netmon::CheckStatus::kDown, "a-new", 3);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, CheckState::kDown);
  EXPECT_EQ(change->failures, 3);
  // And another epoch after the restart starts afresh again.
  EXPECT_TRUE(states.apply("edge-1", "web", netmon::CheckStatus::kUp, "c-next", 1));
}

TEST_F(CheckStatesRestored, PassOverDamagedRowsAndLeaveChecksThatAppliedResultsAlone) {
  store("web", netmon::CheckStatus::kDown, "e", 1);
  store("web", netmon::CheckStatus::kDown, "e", 2);
  store("web", netmon::CheckStatus::kDown, "e", 3);
  {
    sqlite::Database db(ResultStore::file_in(dir_.path()), {});
    db.exec(R"sql(
      INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us, status, reason,
                          error, latency_us, details, stored_us)
        VALUES(1, 'e', 4, 'web', 'tcp', 't', 1, 'sideways', '', '', 1, '{}', 1),
              (1, 'e', 'five', 'web', 'tcp', 't', 1, 'up', '', '', 1, '{}', 1),
              (1, X'65', 6, 'web', 'tcp', 't', 1, 'up', '', '', 1, '{}', 1);)sql");
  }
  CheckStates states;
  states.configure("edge-1", checks_);
  states.apply("edge-1", "dns", netmon::CheckStatus::kDown, "e", 9);
  states.restore(store_);
  EXPECT_EQ(entry_of(states, "web")->state, CheckState::kDown)
      << "a damaged row was read as a success or took a failure's place";
  EXPECT_EQ(entry_of(states, "dns")->failures, 1) << "a check with a live result was restored";
}

TEST_F(CheckStatesRestored, KeepEachMonitorsResultsApart) {
  const std::uint64_t edge2 = store_.register_monitor("edge-2", "i2");
  store("web", netmon::CheckStatus::kUp, "e", 1);
  {
    auto transaction = store_.transaction();
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
      store_.insert(
          edge2, testing::result_record("edge-2", "f", seq, "web", netmon::CheckStatus::kDown), 1);
    }
    transaction.commit();
  }
  CheckStates states;
  states.configure("edge-1", checks_);
  states.configure("edge-2", checks_);
  states.restore(store_);
  for (const auto& entry : states.snapshot()) {
    if (entry.check != "web") continue;
    EXPECT_EQ(entry.state, entry.monitor == "edge-1" ? CheckState::kUp : CheckState::kDown)
        << entry.monitor;
  }
}

// A configured check without results would make the search read the whole
// store at every start: it reads back only as far as it is told.
TEST_F(CheckStatesRestored, TheSearchForACheckNewestResultsReadsOnlyTheNewestRows) {
  store("web", netmon::CheckStatus::kDown, "e", 1);
  for (std::uint64_t seq = 2; seq <= 6; ++seq)
    store("dns", netmon::CheckStatus::kUp, "e", seq);
  const std::map<std::uint64_t, std::map<std::string, std::size_t, std::less<>>> wanted = {
      {monitor_id_, {{"web", 2}, {"dns", 1}}}};
  auto newest = store_.newest_results(wanted, 5);
  EXPECT_FALSE(newest[monitor_id_].contains("web")) << "read further back than 5 rows";
  EXPECT_EQ(newest[monitor_id_]["dns"],
            (std::vector<StoredStatus>{{"e", 6, netmon::CheckStatus::kUp}}));
  newest = store_.newest_results(wanted, 6);
  EXPECT_EQ(newest[monitor_id_]["web"],
            (std::vector<StoredStatus>{{"e", 1, netmon::CheckStatus::kDown}}));
}

TEST_F(CheckStatesRestored, OfAMonitorTheStoreDoesNotKnowAreUnknown) {
  CheckStates states;
  states.configure("edge-7", checks_);
  states.restore(store_);
  ASSERT_EQ(states.snapshot().size(), 2u);
  for (const auto& entry : states.snapshot())
    EXPECT_EQ(entry.state, CheckState::kUnknown);
}

}  // namespace
}  // namespace netmon::manager
