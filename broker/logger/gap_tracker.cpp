#include "broker/logger/gap_tracker.hpp"

#include <algorithm>

namespace netmon::logger {

std::optional<Gap> GapTracker::observe(const std::string& monitor, const std::string& epoch,
                                       std::uint64_t seq) {
  ++observations_;
  auto found = monitors_.find(monitor);
  if (found == monitors_.end()) {
    if (monitors_.size() >= kMaxMonitors) {
      // Forget the monitor seen least recently; at worst a gap of it goes unreported.
      const auto oldest =
          std::min_element(monitors_.begin(), monitors_.end(), [](const auto& a, const auto& b) {
            const auto newest = [](const std::vector<EpochState>& epochs) {
              std::uint64_t used = 0;
              for (const auto& state : epochs)
                used = std::max(used, state.last_used);
              return used;
            };
            return newest(a.second) < newest(b.second);
          });
      monitors_.erase(oldest);
    }
    found = monitors_.emplace(monitor, std::vector<EpochState>{}).first;
  }
  auto& epochs = found->second;
  const auto state = std::find_if(epochs.begin(), epochs.end(),
                                  [&](const EpochState& s) { return s.epoch == epoch; });
  if (state == epochs.end()) {
    if (epochs.size() >= kEpochsPerMonitor) {
      epochs.erase(std::min_element(epochs.begin(), epochs.end(), [](const auto& a, const auto& b) {
        return a.last_used < b.last_used;
      }));
    }
    epochs.push_back({epoch, seq, observations_});
    return std::nullopt;
  }
  state->last_used = observations_;
  if (seq <= state->last_seq) return std::nullopt;
  std::optional<Gap> gap;
  if (seq > state->last_seq + 1) gap = Gap{monitor, epoch, state->last_seq + 1, seq - 1};
  state->last_seq = seq;
  return gap;
}

}  // namespace netmon::logger
