#pragma once
// Notices sequence gaps in what the logger receives. The live stream is not
// complete by design (PUB/SUB drops on reconnects and high-water marks; the
// manager repairs its store through replay), so the logger says what it
// missed instead of pretending completeness.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netmon::logger {

struct Gap {
  std::string monitor;
  std::string epoch;
  std::uint64_t from_seq = 0;  // first missing seq
  std::uint64_t to_seq = 0;    // last missing seq
  std::uint64_t count() const { return to_seq - from_seq + 1; }
  bool operator==(const Gap&) const = default;
};

// Tracks the last seq seen per (monitor, epoch). The first record of an epoch
// starts tracking (a logger joins mid-stream; a monitor with a new outbox
// starts a new epoch): neither is a gap. A seq at or below the last one seen
// (a repeat) is ignored. Memory is bounded: a monitor keeps its
// kEpochsPerMonitor most recently seen epochs, at most kMaxMonitors monitors.
class GapTracker {
 public:
  static constexpr std::size_t kEpochsPerMonitor = 4;
  static constexpr std::size_t kMaxMonitors = 10'000;

  // Records `seq` and returns the range skipped since the last seq of the
  // same (monitor, epoch), if any.
  std::optional<Gap> observe(const std::string& monitor, const std::string& epoch,
                             std::uint64_t seq);

 private:
  struct EpochState {
    std::string epoch;
    std::uint64_t last_seq = 0;
    std::uint64_t last_used = 0;  // observe() counter, for eviction
  };
  std::map<std::string, std::vector<EpochState>> monitors_;
  std::uint64_t observations_ = 0;
};

}  // namespace netmon::logger
