#pragma once
// Which seqs of one (monitor, epoch) are stored: the contiguous run from 1 and
// the ranges stored beyond it (records that overtook a gap). Small however
// out of order the records come: ranges, not single seqs. Each gap remembers
// when it was first noticed, so a gap is asked for once it is old enough, not
// once the run below it has been still for a while. A monitor's heartbeat
// announces its newest seq: what lies above the highest stored seq up to it is
// a gap at the tail, which no later record would otherwise reveal.

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
  // When a seq beyond it was first stored; for the tail gap, when it was
  // announced or when the highest stored seq last rose, whichever is later.
  MonotonicClock::TimePoint noticed{};
};

class SeqTracker {
 public:
  using TimePoint = MonotonicClock::TimePoint;

  SeqTracker() = default;
  // Gaps in what the store holds count as noticed at `now`.
  SeqTracker(const EpochProgress& progress, TimePoint now);

  bool contains(std::uint64_t seq) const;
  void add(std::uint64_t seq, TimePoint now);
  // The monitor holds every seq up to `seq` (its heartbeat's last_seq).
  void announce(std::uint64_t seq, TimePoint now);
  // Every seq 1..contiguous() is stored.
  std::uint64_t contiguous() const { return contiguous_; }
  // The first missing range below a stored or announced seq, if any.
  std::optional<SeqGap> first_gap() const;

 private:
  struct Stored {
    std::uint64_t last = 0;
    TimePoint gap_below_noticed{};  // the gap just below this range
  };
  std::uint64_t highest() const;

  std::uint64_t contiguous_ = 0;
  std::map<std::uint64_t, Stored> ranges_;  // first -> ..., all > contiguous_ + 1
  std::uint64_t announced_ = 0;
  // While records still arrive in order over the bus the tail is on its way:
  // it dates from the announcement or the last rise of highest(), whichever is later.
  TimePoint tail_noticed_{};
};

}  // namespace netmon::manager
