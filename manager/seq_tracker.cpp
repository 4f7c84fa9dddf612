#include "manager/seq_tracker.hpp"

#include <iterator>

namespace netmon::manager {

SeqTracker::SeqTracker(const EpochProgress& progress, TimePoint now)
    : contiguous_(progress.contiguous) {
  for (const std::uint64_t seq : progress.above)
    add(seq, now);
}

bool SeqTracker::contains(std::uint64_t seq) const {
  if (seq <= contiguous_) return true;
  auto it = ranges_.upper_bound(seq);
  if (it == ranges_.begin()) return false;
  --it;
  return seq <= it->second.last;
}

std::uint64_t SeqTracker::highest() const {
  return ranges_.empty() ? contiguous_ : ranges_.rbegin()->second.last;
}

void SeqTracker::announce(std::uint64_t seq, TimePoint now) {
  if (seq <= announced_) return;
  if (announced_ <= highest()) tail_noticed_ = now;  // a tail gap (if any) starts now
  announced_ = seq;
}

void SeqTracker::add(std::uint64_t seq, TimePoint now) {
  if (contains(seq)) return;
  if (seq > highest()) tail_noticed_ = now;
  if (seq == contiguous_ + 1) {
    contiguous_ = seq;
    if (auto next = ranges_.begin(); next != ranges_.end() && next->first == contiguous_ + 1) {
      contiguous_ = next->second.last;
      ranges_.erase(next);
    }
    return;
  }
  // Join the range ending just below and the one starting just above; the
  // gap below the result is the lower one's, known since it was noticed.
  std::uint64_t first = seq;
  Stored stored{seq, now};
  auto after = ranges_.upper_bound(seq);
  if (after != ranges_.end() && after->first == seq + 1) {
    stored = after->second;
    after = ranges_.erase(after);
  }
  if (after != ranges_.begin()) {
    auto before = std::prev(after);
    if (before->second.last + 1 == seq) {
      first = before->first;
      stored.gap_below_noticed = before->second.gap_below_noticed;
      ranges_.erase(before);
    }
  }
  ranges_.emplace(first, stored);
}

std::optional<SeqGap> SeqTracker::first_gap() const {
  if (ranges_.empty()) {
    if (announced_ <= contiguous_) return std::nullopt;
    return SeqGap{{contiguous_ + 1, announced_}, tail_noticed_};
  }
  const auto& [first, stored] = *ranges_.begin();
  return SeqGap{{contiguous_ + 1, first - 1}, stored.gap_below_noticed};
}

}  // namespace netmon::manager
