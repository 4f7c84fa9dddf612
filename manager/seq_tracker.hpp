#pragma once
// Which seqs of one (monitor, epoch) are stored: the contiguous run from 1 and
// the ranges stored beyond it (records that overtook a gap). Small however
// out of order the records come: ranges, not single seqs.

#include <cstdint>
#include <map>
#include <optional>

#include "manager/result_store.hpp"

namespace netmon::manager {

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  bool operator==(const SeqRange&) const = default;
};

class SeqTracker {
 public:
  SeqTracker() = default;
  explicit SeqTracker(const EpochProgress& progress);

  bool contains(std::uint64_t seq) const;
  void add(std::uint64_t seq);
  // Every seq 1..contiguous() is stored.
  std::uint64_t contiguous() const { return contiguous_; }
  // The first missing range below a stored seq, if any.
  std::optional<SeqRange> first_gap() const;

 private:
  std::uint64_t contiguous_ = 0;
  std::map<std::uint64_t, std::uint64_t> ranges_;  // first -> last, all > contiguous_ + 1
};

}  // namespace netmon::manager
