#pragma once
// Which seqs of one (monitor, epoch) are stored: the contiguous run from 1 and
// the ranges stored beyond it (records that overtook a gap). Small however
// out of order the records come: ranges, not single seqs. Each gap remembers
// when it was first noticed, so a gap is asked for once it is old enough, not
// once the run below it has been still for a while.

#include <cstdint>
#include <map>
#include <optional>

#include "common/monotonic_clock.hpp"
#include "manager/result_store.hpp"

namespace netmon::manager {

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  bool operator==(const SeqRange&) const = default;
};

struct SeqGap {
  SeqRange range;
  MonotonicClock::TimePoint noticed{};  // when a seq beyond it was first stored
};

class SeqTracker {
 public:
  using TimePoint = MonotonicClock::TimePoint;

  SeqTracker() = default;
  // Gaps in what the store holds count as noticed at `now`.
  SeqTracker(const EpochProgress& progress, TimePoint now);

  bool contains(std::uint64_t seq) const;
  void add(std::uint64_t seq, TimePoint now);
  // Every seq 1..contiguous() is stored.
  std::uint64_t contiguous() const { return contiguous_; }
  // The first missing range below a stored seq, if any.
  std::optional<SeqGap> first_gap() const;

 private:
  struct Stored {
    std::uint64_t last = 0;
    TimePoint gap_below_noticed{};  // the gap just below this range
  };
  std::uint64_t contiguous_ = 0;
  std::map<std::uint64_t, Stored> ranges_;  // first -> ..., all > contiguous_ + 1
};

}  // namespace netmon::manager
