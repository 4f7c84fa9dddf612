#pragma once
// Synthetic mode (--synthetic RATE): instead of running checks, emits RATE
// small, realistic results per second on the engine's loop, through the same
// queue real results take. The bus benchmark uses it to load the system
// without depending on targets.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/check_result.hpp"

namespace netmon::agent {

class SyntheticGenerator {
 public:
  using BatchSink = std::function<void(std::vector<CheckResult>&)>;
  // Results handed over but not yet taken by the consumer.
  using Backlog = std::function<std::size_t()>;
  // Above this backlog a tick emits nothing: synthetic load beyond what the
  // agent commits would only pile up in memory. Skipped results are counted.
  static constexpr std::size_t kMaxBacklog = 100'000;
  // Batches are emitted every 2 ms, or once per result at low rates (at most
  // once a second), so a nearly idle generator does not wake 500 times a second.
  static constexpr std::chrono::milliseconds kMinTick{2};
  static constexpr std::chrono::milliseconds kMaxTick{1000};
  static constexpr int kCheckCount = 4;

  SyntheticGenerator(asio::io_context& io, double rate_per_second, BatchSink sink, Backlog backlog);
  // Loop thread only.
  void start();
  void stop();
  std::uint64_t emitted() const { return emitted_ - skipped_; }
  std::uint64_t skipped() const { return skipped_; }

  // The n-th synthetic result (check synthetic-<n mod 4>), timestamped so that
  // it completes now.
  static CheckResult make_result(std::uint64_t n);

 private:
  void arm();
  void tick();

  asio::steady_timer timer_;
  double rate_;
  std::chrono::microseconds tick_;
  BatchSink sink_;
  Backlog backlog_;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t emitted_ = 0;  // emitted or skipped: what the rate asked for so far
  std::uint64_t skipped_ = 0;
  std::vector<CheckResult> batch_;
  bool running_ = false;
};

}  // namespace netmon::agent
