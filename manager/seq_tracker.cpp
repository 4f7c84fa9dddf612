#include "manager/seq_tracker.hpp"

#include <algorithm>
#include <iterator>

namespace netmon::manager {

SeqTracker::SeqTracker(const EpochProgress& progress, TimePoint now)
    : contiguous_(progress.contiguous) {
  for (const std::uint64_t seq : progress.above)
    add(seq, now);
  for (const StoredLoss& loss : progress.losses)
    add_loss(loss.loss_seq, loss.lost, now);
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

void SeqTracker::add_range(std::uint64_t from, std::uint64_t to, TimePoint now) {
  if (to <= contiguous_ || from > to) return;
  from = std::max(from, contiguous_ + 1);
  if (to > highest()) tail_noticed_ = now;
  // Join every range it overlaps or touches. The gap below the joined range
  // is the lower neighbour's if it joins one, else the oldest gap it closes
  // from above.
  TimePoint noticed = now;
  bool joined_below = false;
  auto it = ranges_.upper_bound(from);
  if (it != ranges_.begin()) {
    auto before = std::prev(it);
    if (before->second.last + 1 >= from) {
      from = before->first;
      to = std::max(to, before->second.last);
      noticed = before->second.gap_below_noticed;
      joined_below = true;
      ranges_.erase(before);
    }
  }
  for (it = ranges_.lower_bound(from); it != ranges_.end() && it->first <= to + 1;) {
    to = std::max(to, it->second.last);
    if (!joined_below) noticed = std::min(noticed, it->second.gap_below_noticed);
    it = ranges_.erase(it);
  }
  if (from == contiguous_ + 1) {
    contiguous_ = to;
    return;
  }
  ranges_.emplace(from, Stored{to, noticed});
}

std::vector<SeqRange> SeqTracker::missing_in(std::uint64_t from, std::uint64_t to) const {
  std::vector<SeqRange> missing;
  std::uint64_t cursor = std::max(from, contiguous_ + 1);
  auto it = ranges_.upper_bound(cursor);
  if (it != ranges_.begin() && std::prev(it)->second.last >= cursor) {
    cursor = std::prev(it)->second.last + 1;
  }
  while (cursor <= to) {
    if (it == ranges_.end() || it->first > to) {
      missing.push_back({cursor, to});
      break;
    }
    if (it->first > cursor) missing.push_back({cursor, it->first - 1});
    cursor = it->second.last + 1;
    ++it;
  }
  return missing;
}

void SeqTracker::add_loss(std::uint64_t loss_seq, const std::vector<SeqRange>& lost,
                          TimePoint now) {
  for (const SeqRange& range : lost) {
    for (const SeqRange& part : missing_in(range.from, range.to)) {
      lost_.emplace(part.from, Lost{part.to, loss_seq});
      lost_by_loss_[loss_seq].emplace(part.from, part.to);
      add_range(part.from, part.to, now);
    }
  }
}

std::optional<std::uint64_t> SeqTracker::loss_covering(std::uint64_t seq) const {
  auto it = lost_.upper_bound(seq);
  if (it == lost_.begin()) return std::nullopt;
  --it;
  if (seq > it->second.last) return std::nullopt;
  return it->second.loss_seq;
}

void SeqTracker::found(std::uint64_t seq) {
  auto it = lost_.upper_bound(seq);
  if (it == lost_.begin()) return;
  --it;
  if (seq > it->second.last) return;
  const Lost run = it->second;
  const std::uint64_t first = it->first;
  lost_.erase(it);
  auto& of_loss = lost_by_loss_[run.loss_seq];
  of_loss.erase(first);
  if (first < seq) {
    lost_.emplace(first, Lost{seq - 1, run.loss_seq});
    of_loss.emplace(first, seq - 1);
  }
  if (seq < run.last) {
    lost_.emplace(seq + 1, Lost{run.last, run.loss_seq});
    of_loss.emplace(seq + 1, run.last);
  }
  if (of_loss.empty()) lost_by_loss_.erase(run.loss_seq);
}

std::vector<SeqRange> SeqTracker::lost_by(std::uint64_t loss_seq) const {
  std::vector<SeqRange> ranges;
  if (const auto it = lost_by_loss_.find(loss_seq); it != lost_by_loss_.end()) {
    for (const auto& [from, to] : it->second)
      ranges.push_back({from, to});
  }
  return ranges;
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
