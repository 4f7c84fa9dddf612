#pragma once
// Which seqs of one (monitor, epoch) are stored: the contiguous run from 1 and
// the ranges stored beyond it (records that overtook a gap). Small however
// out of order the records come: ranges, not single seqs. Each gap remembers
// when it was first noticed, so a gap is asked for once it is old enough, not
// once the run below it has been still for a while. A monitor's heartbeat
// announces its newest seq: what lies above the highest stored seq up to it is
// a gap at the tail, which no later record would otherwise reveal.
//
// A LOSS record covers the seqs its monitor dropped: they count as accounted
// for (so the contiguous run, and the ACK, move past them), and the tracker
// remembers which of them no record was stored for. A result that arrives
// after its loss was reported (it was still queued on the bus) is stored and
// taken out of the loss: a reported loss never covers a stored result.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/monotonic_clock.hpp"
#include "manager/result_store.hpp"

namespace netmon::manager {

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

  // Stored, or covered by a stored loss.
  bool contains(std::uint64_t seq) const;
  void add(std::uint64_t seq, TimePoint now) { add_range(seq, seq, now); }
  void add_range(std::uint64_t from, std::uint64_t to, TimePoint now);
  // The parts of from..to that contains() does not know yet, ascending.
  std::vector<SeqRange> missing_in(std::uint64_t from, std::uint64_t to) const;
  // The loss record `loss_seq` covers `lost` (parts of from..to not stored):
  // marks them contained and remembers them as lost.
  void add_loss(std::uint64_t loss_seq, const std::vector<SeqRange>& lost, TimePoint now);
  // The seq of the loss record that claims `seq` was lost, if one does.
  std::optional<std::uint64_t> loss_covering(std::uint64_t seq) const;
  // `seq` arrived after all: no longer lost.
  void found(std::uint64_t seq);
  // What the loss record `loss_seq` still covers, ascending. Costs the size
  // of that answer only: a caller may ask once per batch of found() calls.
  std::vector<SeqRange> lost_by(std::uint64_t loss_seq) const;
  // The monitor holds every seq up to `seq` (its heartbeat's last_seq).
  void announce(std::uint64_t seq, TimePoint now);
  // Every seq 1..contiguous() is stored.
  std::uint64_t contiguous() const { return contiguous_; }
  // The highest seq contains() knows.
  std::uint64_t highest() const;
  // The first missing range below a stored or announced seq, if any.
  std::optional<SeqGap> first_gap() const;

 private:
  struct Stored {
    std::uint64_t last = 0;
    TimePoint gap_below_noticed{};  // the gap just below this range
  };
  struct Lost {
    std::uint64_t last = 0;
    std::uint64_t loss_seq = 0;
  };

  std::uint64_t contiguous_ = 0;
  std::map<std::uint64_t, Stored> ranges_;  // first -> ..., all > contiguous_ + 1
  std::map<std::uint64_t, Lost> lost_;      // first -> ...: covered by a loss, not stored
  // The same ranges by their loss record: loss seq -> first -> last.
  std::map<std::uint64_t, std::map<std::uint64_t, std::uint64_t>> lost_by_loss_;
  std::uint64_t announced_ = 0;
  // While records still arrive in order over the bus the tail is on its way:
  // it dates from the announcement or the last rise of highest(), whichever is later.
  TimePoint tail_noticed_{};
};

}  // namespace netmon::manager
