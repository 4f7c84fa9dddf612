#include "manager/check_state.hpp"

#include <algorithm>

namespace netmon::manager {

std::string_view to_string(CheckState state) {
  switch (state) {
    case CheckState::kUnknown:
      return "UNKNOWN";
    case CheckState::kUp:
      return "UP";
    case CheckState::kDown:
      return "DOWN";
  }
  return "UNKNOWN";
}

void CheckStates::configure(const std::string& monitor, const std::vector<CheckSpec>& checks) {
  auto& old = states_[monitor];
  std::map<std::string, State, std::less<>> fresh;
  for (const CheckSpec& spec : checks) {
    State state;
    if (auto it = old.find(spec.id); it != old.end()) state = it->second;
    state.retries = spec.retries;
    fresh.emplace(spec.id, state);
  }
  old = std::move(fresh);
}

std::optional<StateChange> CheckStates::apply(const std::string& monitor, const std::string& check,
                                              netmon::CheckStatus status, std::string_view epoch,
                                              std::uint64_t seq) {
  // Only configured checks have a state: a result of any other (an old
  // config's, or a forged id) is stored as data, but a state made for each
  // id seen would grow without bound.
  auto monitor_it = states_.find(monitor);
  if (monitor_it == states_.end()) return std::nullopt;
  auto check_it = monitor_it->second.find(check);
  if (check_it == monitor_it->second.end()) return std::nullopt;
  State& state = check_it->second;
  if (epoch == state.epoch) {
    if (seq <= state.newest_seq) return std::nullopt;
  } else {
    state.epoch = std::string(epoch);
  }
  state.newest_seq = seq;
  const CheckState before = state.state;
  if (status == netmon::CheckStatus::kUp) {
    state.failures = 0;
    state.state = CheckState::kUp;
  } else {
    ++state.failures;
    if (state.failures >= state.retries) state.state = CheckState::kDown;
  }
  if (state.state == before) return std::nullopt;
  return StateChange{before, state.state, state.failures};
}

void CheckStates::restore(ResultStore& store) {
  const std::map<std::string, std::uint64_t> ids = store.monitor_ids();
  std::map<std::uint64_t, std::map<std::string, std::size_t, std::less<>>> wanted;
  for (const auto& [monitor, checks] : states_) {
    const auto id = ids.find(monitor);
    if (id == ids.end()) continue;
    for (const auto& [check, state] : checks) {
      // Seqs start at 1: 0 means no result was applied.
      if (state.newest_seq == 0) {
        wanted[id->second][check] = static_cast<std::size_t>(std::max(state.retries, 1));
      }
    }
  }
  const auto newest = store.newest_results(wanted);
  for (const auto& [monitor, checks] : states_) {
    const auto id = ids.find(monitor);
    if (id == ids.end()) continue;
    const auto found = newest.find(id->second);
    if (found == newest.end()) continue;
    for (const auto& [check, results] : found->second) {
      for (const StoredStatus& result : results)
        apply(monitor, check, result.status, result.epoch, result.seq);
    }
  }
}

std::vector<CheckStates::Entry> CheckStates::snapshot() const {
  std::vector<Entry> entries;
  for (const auto& [monitor, checks] : states_) {
    for (const auto& [check, state] : checks)
      entries.push_back({monitor, check, state.state, state.failures});
  }
  return entries;
}

}  // namespace netmon::manager
