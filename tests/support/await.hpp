#pragma once
// The one way a test waits for something: poll a condition until it holds or
// a deadline passes. Gtest-free, so the benchmarks use it too.

#include <algorithm>
#include <chrono>
#include <thread>

namespace netmon::testing {

// Generous for ASan on a loaded 2-core machine; a passing test never waits it out.
inline constexpr std::chrono::milliseconds kAwaitDeadline{20'000};

// Polls `condition` until it returns true or `timeout` passes; returns whether
// it held (looking once more at the deadline). The pause between looks starts
// at 1 ms and doubles up to 16 ms: it only bounds how often we look, so a
// condition that already holds costs nothing and a long wait does not spin.
template <class Condition>
[[nodiscard]] bool await(Condition&& condition,
                         std::chrono::milliseconds timeout = kAwaitDeadline) {
  constexpr std::chrono::milliseconds kLongestPause{16};
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::chrono::milliseconds pause{1};
  while (!condition()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return condition();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, end - now));
    pause = std::min(pause * 2, kLongestPause);
  }
  return true;
}

}  // namespace netmon::testing
