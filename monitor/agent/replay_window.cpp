#include "monitor/agent/replay_window.hpp"

#include <algorithm>

namespace netmon::agent {

void ReplayWindow::reset() {
  wanted_.clear();
  in_flight_.clear();
}

void ReplayWindow::request(std::uint64_t from, std::uint64_t to) {
  if (from > to) return;
  // Absorb every range that overlaps or touches [from, to].
  auto it = wanted_.upper_bound(from);
  if (it != wanted_.begin()) {
    auto before = std::prev(it);
    if (before->second + 1 >= from) it = before;
  }
  while (it != wanted_.end() && it->first <= to + 1) {
    from = std::min(from, it->first);
    to = std::max(to, it->second);
    it = wanted_.erase(it);
  }
  wanted_.emplace(from, to);
}

void ReplayWindow::acknowledge(std::uint64_t acked_seq) {
  while (!in_flight_.empty() && in_flight_.front() <= acked_seq)
    in_flight_.pop_front();
  while (!wanted_.empty() && wanted_.begin()->first <= acked_seq) {
    const auto [from, to] = *wanted_.begin();
    wanted_.erase(wanted_.begin());
    if (to > acked_seq) {
      wanted_.emplace(acked_seq + 1, to);
      break;
    }
  }
}

std::optional<SeqRange> ReplayWindow::next() const {
  if (wanted_.empty() || in_flight_.size() >= window_) return std::nullopt;
  return SeqRange{wanted_.begin()->first, wanted_.begin()->second};
}

void ReplayWindow::sent_through(std::uint64_t last) {
  if (wanted_.empty()) return;
  const auto [from, to] = *wanted_.begin();
  if (last < from) return;
  wanted_.erase(wanted_.begin());
  if (last < to) wanted_.emplace(last + 1, to);
  in_flight_.push_back(std::min(last, to));
}

void ReplayWindow::skip_next() {
  if (!wanted_.empty()) wanted_.erase(wanted_.begin());
}

void ReplayWindow::resend_in_flight(std::uint64_t acked_seq) {
  if (in_flight_.empty()) return;
  const std::uint64_t last = *std::max_element(in_flight_.begin(), in_flight_.end());
  in_flight_.clear();
  request(acked_seq + 1, last);
}

}  // namespace netmon::agent
