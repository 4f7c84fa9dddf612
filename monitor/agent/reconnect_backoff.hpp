#pragma once
// Exponential reconnect backoff with ±20 % jitter (PROTOCOL.md §8): min,
// 2 × min, 4 × min ... up to max; reset after a successful WELCOME. Jitter
// keeps a fleet of monitors from reconnecting in lockstep after an outage.

#include <chrono>
#include <cstdint>
#include <random>

namespace netmon::agent {

class ReconnectBackoff {
 public:
  static constexpr double kJitter = 0.2;

  ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
                   std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; each call doubles the base up to max.
  std::chrono::milliseconds next();
  void reset() { base_ = min_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds base_;
  std::mt19937_64 random_;
};

}  // namespace netmon::agent
