#pragma once
// How late ticks fire, in microsecond buckets, for percentiles without
// keeping every sample: 10 µs steps to 10 ms, 1 ms steps to 10 s.

#include <array>
#include <chrono>
#include <cstdint>

namespace netmon {

class LatenessHistogram {
 public:
  void record(std::chrono::microseconds lateness);
  // The smallest bucket bound below which `quantile` (0..1) of samples fall.
  std::chrono::microseconds percentile(double quantile) const;
  std::uint64_t count() const { return count_; }
  std::chrono::microseconds max() const { return max_; }

 private:
  static constexpr std::size_t kFine = 1000;    // 0..10 ms in 10 µs steps
  static constexpr std::size_t kCoarse = 9990;  // 10 ms..10 s in 1 ms steps
  std::array<std::uint64_t, kFine + kCoarse + 1> buckets_{};
  std::uint64_t count_ = 0;
  std::chrono::microseconds max_{0};
};

}  // namespace netmon
