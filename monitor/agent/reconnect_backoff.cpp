#include "monitor/agent/reconnect_backoff.hpp"

#include <algorithm>

namespace netmon::agent {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
                                   std::uint64_t seed)
    : min_(min), max_(std::max(min, max)), base_(min), random_(seed) {}

std::chrono::milliseconds ReconnectBackoff::next() {
  std::uniform_real_distribution<double> jitter(1.0 - kJitter, 1.0 + kJitter);
  const auto delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(base_.count()) * jitter(random_)));
  base_ = std::min(max_, base_ * 2);
  return delay;
}

}  // namespace netmon::agent
