#include "manager/seq_tracker.hpp"

#include <iterator>

namespace netmon::manager {

SeqTracker::SeqTracker(const EpochProgress& progress) : contiguous_(progress.contiguous) {
  for (const std::uint64_t seq : progress.above)
    add(seq);
}

bool SeqTracker::contains(std::uint64_t seq) const {
  if (seq <= contiguous_) return true;
  auto it = ranges_.upper_bound(seq);
  if (it == ranges_.begin()) return false;
  --it;
  return seq <= it->second;
}

void SeqTracker::add(std::uint64_t seq) {
  if (contains(seq)) return;
  if (seq == contiguous_ + 1) {
    contiguous_ = seq;
    if (auto next = ranges_.begin(); next != ranges_.end() && next->first == contiguous_ + 1) {
      contiguous_ = next->second;
      ranges_.erase(next);
    }
    return;
  }
  // Join the range ending just below and the one starting just above.
  std::uint64_t first = seq;
  std::uint64_t last = seq;
  auto after = ranges_.upper_bound(seq);
  if (after != ranges_.begin()) {
    auto before = std::prev(after);
    if (before->second + 1 == seq) {
      first = before->first;
      ranges_.erase(before);
    }
  }
  if (after != ranges_.end() && after->first == seq + 1) {
    last = after->second;
    ranges_.erase(after);
  }
  ranges_.emplace(first, last);
}

std::optional<SeqRange> SeqTracker::first_gap() const {
  if (ranges_.empty()) return std::nullopt;
  return SeqRange{contiguous_ + 1, ranges_.begin()->first - 1};
}

}  // namespace netmon::manager
