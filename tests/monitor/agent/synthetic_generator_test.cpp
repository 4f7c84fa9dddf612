#include "monitor/agent/synthetic_generator.hpp"

#include <gtest/gtest.h>

#include <set>

namespace netmon::agent {
namespace {

using namespace std::chrono_literals;

TEST(SyntheticGenerator, EmitsRealisticSmallResultsForAFewChecksAtTheRequestedRate) {
  asio::io_context io;
  std::vector<CheckResult> received;
  SyntheticGenerator generator(
      io, 10'000,
      [&](std::vector<CheckResult>& batch) {
        for (auto& result : batch)
          received.push_back(std::move(result));
      },
      [] { return std::size_t{0}; });
  const auto started = std::chrono::steady_clock::now();
  generator.start();
  io.run_for(200ms);
  generator.stop();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Never ahead of the rate; behind only by what a loaded machine delays.
  EXPECT_LE(static_cast<double>(received.size()), 10'000 * elapsed_s + 1);
  EXPECT_GT(received.size(), 200u);
  EXPECT_EQ(generator.emitted(), received.size());
  std::set<std::string> checks;
  for (const CheckResult& result : received) {
    checks.insert(result.check_id);
    EXPECT_EQ(result.type, "synthetic");
    EXPECT_GE(result.latency, 200us);
    EXPECT_TRUE(result.details.contains("rtt_us"));
  }
  EXPECT_EQ(checks.size(), static_cast<std::size_t>(SyntheticGenerator::kCheckCount));
}

TEST(SyntheticGenerator, SkipsAndCountsResultsWhileTheConsumerIsTooFarBehind) {
  asio::io_context io;
  std::size_t handed_over = 0;
  SyntheticGenerator generator(
      io, 10'000, [&](std::vector<CheckResult>& batch) { handed_over += batch.size(); },
      [] { return SyntheticGenerator::kMaxBacklog + 1; });
  generator.start();
  io.run_for(100ms);
  generator.stop();
  EXPECT_EQ(handed_over, 0u);
  EXPECT_GT(generator.skipped(), 0u);
  EXPECT_EQ(generator.emitted(), 0u);
}

}  // namespace
}  // namespace netmon::agent
