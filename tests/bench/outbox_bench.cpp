// Outbox append throughput (netmon_outbox_bench): results committed per
// second by ResultOutbox::append in one transaction per batch, for batch
// sizes 1, 100 and 1000, with synchronous=FULL and NORMAL, on a real file in
// a temporary directory. Group commit is what makes the outbox fast: one
// fsync (FULL) per batch, not per result.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "monitor/agent/result_outbox.hpp"
#include "monitor/agent/synthetic_generator.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

void BM_OutboxAppend(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const auto synchronous =
      state.range(1) == 0 ? sqlite::Synchronous::kFull : sqlite::Synchronous::kNormal;
  testing::TempDir dir("netmon-outbox-bench-");
  ResultOutbox outbox(dir.path(), "bench", {.synchronous = synchronous});
  std::vector<CheckResult> batch;
  for (std::size_t i = 0; i < batch_size; ++i)
    batch.push_back(SyntheticGenerator::make_result(i));
  std::uint64_t appended = 0;
  for (auto _ : state) {
    auto outcome = outbox.append(batch, 1);
    appended += outcome.records.size();
    // What an ACK does in steady state, so the table stays small.
    if (outbox.size() > 100'000) (void)outbox.trim(outbox.last_seq() - 50'000);
  }
  state.counters["results_per_s"] =
      benchmark::Counter(static_cast<double>(appended), benchmark::Counter::kIsRate);
  state.SetLabel(synchronous == sqlite::Synchronous::kFull ? "sync=FULL" : "sync=NORMAL");
}

BENCHMARK(BM_OutboxAppend)
    ->ArgsProduct({{1, 100, 1000}, {0, 1}})
    ->ArgNames({"batch", "normal"})
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
}  // namespace netmon::agent

BENCHMARK_MAIN();
