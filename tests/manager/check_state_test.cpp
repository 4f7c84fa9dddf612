#include "manager/check_state.hpp"

#include <gtest/gtest.h>

#include <optional>

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

}  // namespace
}  // namespace netmon::manager
