#include "monitor/engine/lateness_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace netmon {

void LatenessHistogram::record(std::chrono::microseconds lateness) {
  const std::int64_t us = std::max<std::int64_t>(0, lateness.count());
  std::size_t bucket = 0;
  if (us < 10'000) {
    bucket = static_cast<std::size_t>(us / 10);
  } else {
    bucket = std::min(kFine + static_cast<std::size_t>((us - 10'000) / 1000), kFine + kCoarse);
  }
  ++buckets_[bucket];
  ++count_;
  max_ = std::max(max_, std::chrono::microseconds(us));
}

std::chrono::microseconds LatenessHistogram::percentile(double quantile) const {
  if (count_ == 0) return std::chrono::microseconds{0};
  const auto wanted = static_cast<std::uint64_t>(
      std::ceil(std::clamp(quantile, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) {
      const std::int64_t upper = i < kFine
                                     ? static_cast<std::int64_t>(i + 1) * 10
                                     : 10'000 + static_cast<std::int64_t>(i - kFine + 1) * 1000;
      return std::min(std::chrono::microseconds(upper), max_);
    }
  }
  return max_;
}

}  // namespace netmon
