#pragma once
// Which outbox records to send in REPLAY batches next (PROTOCOL.md §7): the
// ranges still wanted (after WELCOME: everything past acked_seq; on
// REPLAY_REQ: the requested range), merged, lowest first, with at most
// protocol::kReplayWindow batches unacknowledged at a time. Pure bookkeeping,
// no I/O; owned by the agent thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "common/protocol/messages.hpp"

namespace netmon::agent {

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;  // inclusive
  bool operator==(const SeqRange&) const = default;
};

class ReplayWindow {
 public:
  explicit ReplayWindow(std::size_t window = protocol::kReplayWindow) : window_(window) {}

  // A new session: nothing wanted, nothing in flight.
  void reset();
  // Wants [from, to] (ignored when from > to), merged with what is wanted already.
  void request(std::uint64_t from, std::uint64_t to);
  // Cumulative ACK: batches ending at or below `acked_seq` are done, and so is
  // any wanted seq at or below it.
  void acknowledge(std::uint64_t acked_seq);

  // The lowest wanted range, when a batch may go now (window not full).
  std::optional<SeqRange> next() const;
  // A batch ending at `last` (within next()) went out.
  void sent_through(std::uint64_t last);
  // next() cannot be served at all (the records are gone): forget it.
  void skip_next();
  // No ACK progress for too long: want again everything in flight past `acked_seq`.
  void resend_in_flight(std::uint64_t acked_seq);

  std::size_t in_flight() const { return in_flight_.size(); }
  bool idle() const { return wanted_.empty() && in_flight_.empty(); }

 private:
  std::size_t window_;
  std::map<std::uint64_t, std::uint64_t> wanted_;  // from -> to, disjoint, not adjacent
  std::deque<std::uint64_t> in_flight_;            // last seq of each unacknowledged batch
};

}  // namespace netmon::agent
