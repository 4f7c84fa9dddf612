#pragma once
// Check states from results: UNKNOWN until the first result, UP after one
// success, DOWN only after `retries` consecutive failures (down, timeout or
// error), UP again after one success. A check's results are ordered by
// (epoch, seq), never by their timestamps: a monitor's wall clock may step or
// lie. Within an epoch, a seq below the newest one applied is ignored (replay
// delivers old records late); a new epoch (a new outbox) starts afresh.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "manager/result_store.hpp"

namespace netmon::manager {

enum class CheckState { kUnknown, kUp, kDown };

// The names on the wire (EVENT from/to) and in logs: UNKNOWN, UP, DOWN.
std::string_view to_string(CheckState state);

struct StateChange {
  CheckState from;
  CheckState to;
  int failures = 0;  // consecutive failures when it changed
};

class CheckStates {
 public:
  // The monitor's current check list: known checks keep their state, removed
  // ones are forgotten, new ones start UNKNOWN.
  void configure(const std::string& monitor, const std::vector<CheckSpec>& checks);
  // Applies one result of a configured check; returns the change when the
  // state changed. Results of other checks change nothing.
  std::optional<StateChange> apply(const std::string& monitor, const std::string& check,
                                   netmon::CheckStatus status, std::string_view epoch,
                                   std::uint64_t seq);
  // After a restart: rebuilds the states of the configured checks that have
  // applied no result yet (call it after configure()) by applying each one's
  // newest `retries` stored results in the order they were stored, the order
  // apply() saw them in, so the rules above decide as they did. No change is
  // reported: those were recorded when they happened. That window decides
  // the state exactly; the failure count is exact below `retries` and else
  // `retries` (DOWN: a larger count would show in no message, since only a
  // change to DOWN reports it and one needs a success first). Reads the
  // store once for every monitor (ResultStore::newest_results, so a check
  // without a result among the newest 2,000,000 records stays UNKNOWN).
  // Meant for the start: a check a reload adds later would take up the
  // results of an earlier check that had its id.
  void restore(ResultStore& store);

  struct Entry {
    std::string monitor;
    std::string check;
    CheckState state;
    int failures = 0;  // consecutive failures
  };
  std::vector<Entry> snapshot() const;

 private:
  struct State {
    CheckState state = CheckState::kUnknown;
    int retries = CheckDefaults{}.retries;
    int failures = 0;
    std::string epoch;
    std::uint64_t newest_seq = 0;
  };
  // monitor -> check -> state; ordered so the status table is stable.
  std::map<std::string, std::map<std::string, State, std::less<>>, std::less<>> states_;
};

}  // namespace netmon::manager
