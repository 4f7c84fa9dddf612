// The store-queries benchmark (scripts/bench.sh store): the console's reads
// of the manager's store (StoreReader) and the restore of check states at
// start, on one store of 1,000,000 records built once per run in a temporary
// directory through ResultStore, as the loop writes it: 4 monitors x 25
// checks x 10,000 results at 60 s (about a week), every check down for 5
// results in every 1,000 (the events of it stored too), 1% of the latencies
// an order of magnitude slower. Then ingest: batches of 1,000 results, and
// what an index on (monitor_id, check) or on ts_us would add to them (the
// store has neither).
//
//   stats/all, stats/since_24h, stats/since_1h    every check, over a window
//   stats/one_check, stats/one_check_since_1h     one monitor's one check
//   events/newest_100, events/monitor_since_24h
//   last_results/monitor                          one monitor's 25 checks
//   last_results/with_a_silent_check              25 checks and one without results
//   restore/all_checks/silent_check:0|1           CheckStates::restore, 100 checks, and
//                                                 one more without results
//   insert/batch_1000/index:0|1|2                 results/s (synchronous=NORMAL): as the
//                                                 store is, with an index on the check,
//                                                 with one on ts_us

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "manager/check_state.hpp"
#include "manager/result_store.hpp"
#include "manager/store_queries.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::manager {
namespace {

using Clock = std::chrono::system_clock;

constexpr int kMonitors = 4;
constexpr int kChecksPerMonitor = 25;
constexpr int kResultsPerCheck = 10'000;
constexpr auto kInterval = std::chrono::seconds(60);
constexpr int kRetries = 3;
constexpr Clock::time_point kStart{std::chrono::seconds(1'795'000'000)};
constexpr Clock::time_point kEnd = kStart + kResultsPerCheck * kInterval;

std::string monitor_name(int m) {
  return "edge-" + std::to_string(m);
}

std::string check_name(int c) {
  return "web-" + std::to_string(c);
}

std::vector<CheckSpec> check_specs() {
  std::vector<CheckSpec> specs;
  for (int c = 0; c < kChecksPerMonitor; ++c) {
    CheckSpec spec;
    spec.id = check_name(c);
    spec.type = "tcp";
    spec.retries = kRetries;
    specs.push_back(spec);
  }
  return specs;
}

protocol::Record make_record(const std::string& epoch, std::uint64_t seq, const std::string& check,
                             netmon::CheckStatus status, Clock::time_point ts,
                             std::chrono::microseconds latency) {
  protocol::Record record;
  record.key = {"", 0, epoch, seq};
  CheckResult result;
  result.check_id = check;
  result.type = "tcp";
  result.target = "192.0.2.10:443";
  result.timestamp = ts;
  result.status = status;
  result.reason = status == netmon::CheckStatus::kUp ? "" : "connect_refused";
  result.latency = latency;
  result.details = {{"port", 443}};
  record.body = result;
  return record;
}

// The 1,000,000-record store, built on first use.
struct BigStore {
  netmon::testing::TempDir dir{"netmon-store-bench-"};

  BigStore() {
    ResultStore store(dir.path(), sqlite::Synchronous::kOff);
    std::vector<std::uint64_t> ids;
    ids.reserve(kMonitors);
    for (int m = 0; m < kMonitors; ++m)
      ids.push_back(store.register_monitor(monitor_name(m), "bench"));
    // The monitors' rounds interleave as they would arrive; one transaction
    // per round of one monitor's checks, as a batch would be.
    for (int round = 0; round < kResultsPerCheck; ++round) {
      const Clock::time_point ts = kStart + round * kInterval;
      const std::int64_t stored_us =
          std::chrono::duration_cast<std::chrono::microseconds>(ts.time_since_epoch()).count();
      const int step = round % 1000;
      const bool down = step >= 500 && step < 505;
      for (int m = 0; m < kMonitors; ++m) {
        auto transaction = store.transaction();
        for (int c = 0; c < kChecksPerMonitor; ++c) {
          const auto latency = std::chrono::microseconds(
              (round + c) % 100 == 0 ? 250'000 : 20'000 + (round * 7 + c * 13) % 5'000);
          const auto seq = static_cast<std::uint64_t>(round * kChecksPerMonitor + c + 1);
          store.insert(ids[static_cast<std::size_t>(m)],
                       make_record("epoch", seq, check_name(c),
                                   down ? netmon::CheckStatus::kDown : netmon::CheckStatus::kUp, ts,
                                   latency),
                       stored_us);
          if (step == 500 + kRetries - 1 || step == 505) {
            const bool to_down = step != 505;
            store.add_event({ts, monitor_name(m), check_name(c), to_down ? "UP" : "DOWN",
                             to_down ? "DOWN" : "UP", "bench"});
          }
        }
        transaction.commit();
      }
    }
  }
};

BigStore& big_store() {
  static BigStore store;
  return store;
}

StoreReader reader() {
  auto reader = StoreReader::open(big_store().dir.path());
  if (!reader) throw std::runtime_error(reader.error().message);
  return std::move(reader).value();
}

void run_stats(benchmark::State& state, const StoreFilter& filter) {
  StoreReader store = reader();
  std::uint64_t results = 0;
  for (auto _ : state) {
    auto stats = store.stats(filter);
    if (!stats) {
      state.SkipWithError(stats.error().message.c_str());
      return;
    }
    results = 0;
    for (const CheckStats& check : stats->checks)
      results += check.results;
    benchmark::DoNotOptimize(stats);
  }
  state.counters["records"] = static_cast<double>(results);
}

void BM_StatsAll(benchmark::State& state) {
  run_stats(state, {});
}
void BM_StatsSince24h(benchmark::State& state) {
  run_stats(state, {.since = kEnd - std::chrono::hours(24)});
}
void BM_StatsSince1h(benchmark::State& state) {
  run_stats(state, {.since = kEnd - std::chrono::hours(1)});
}
void BM_StatsOneCheck(benchmark::State& state) {
  run_stats(state, {.monitor = monitor_name(1), .check = check_name(7)});
}
void BM_StatsOneCheckSince1h(benchmark::State& state) {
  run_stats(
      state,
      {.since = kEnd - std::chrono::hours(1), .monitor = monitor_name(1), .check = check_name(7)});
}

void run_events(benchmark::State& state, const StoreFilter& filter, std::size_t limit) {
  StoreReader store = reader();
  std::size_t events = 0;
  for (auto _ : state) {
    auto list = store.events(filter, limit);
    if (!list) {
      state.SkipWithError(list.error().message.c_str());
      return;
    }
    events = list->events.size();
    benchmark::DoNotOptimize(list);
  }
  state.counters["events"] = static_cast<double>(events);
}

void BM_EventsNewest100(benchmark::State& state) {
  run_events(state, {}, 100);
}
void BM_EventsMonitorSince24h(benchmark::State& state) {
  run_events(state, {.since = kEnd - std::chrono::hours(24), .monitor = monitor_name(2)}, 1000);
}

void BM_LastResults(benchmark::State& state) {
  StoreReader store = reader();
  std::vector<std::string> checks;
  for (const CheckSpec& spec : check_specs())
    checks.push_back(spec.id);
  for (auto _ : state) {
    auto last = store.last_results(monitor_name(3), checks);
    if (!last || last->checks.size() != kChecksPerMonitor) {
      state.SkipWithError("last_results did not find every check");
      return;
    }
    benchmark::DoNotOptimize(last);
  }
}

void BM_LastResultsWithASilentCheck(benchmark::State& state) {
  StoreReader store = reader();
  std::vector<std::string> checks;
  for (const CheckSpec& spec : check_specs())
    checks.push_back(spec.id);
  checks.push_back("never-ran");
  for (auto _ : state) {
    auto last = store.last_results(monitor_name(3), checks);
    if (!last || last->checks.size() != kChecksPerMonitor) {
      state.SkipWithError("last_results did not find every check");
      return;
    }
    benchmark::DoNotOptimize(last);
  }
}

void BM_Restore(benchmark::State& state) {
  ResultStore store(big_store().dir.path(), sqlite::Synchronous::kNormal);
  std::vector<CheckSpec> specs = check_specs();
  if (state.range(0) != 0) {
    specs.push_back(specs.back());
    specs.back().id = "never-ran";
  }
  for (auto _ : state) {
    CheckStates states;
    for (int m = 0; m < kMonitors; ++m)
      states.configure(monitor_name(m), specs);
    states.restore(store);
    benchmark::DoNotOptimize(states);
  }
}

// Batches as the manager commits them, and what an index the store does not
// have would cost them: index:1 on the check (why restore and last_results
// scan instead), index:2 on ts_us (what `--since` could seek with).
void BM_InsertBatch(benchmark::State& state) {
  netmon::testing::TempDir dir("netmon-store-bench-insert-");
  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  if (state.range(0) != 0) {
    sqlite::Database db(ResultStore::file_in(dir.path()), {});
    db.exec(state.range(0) == 1 ? R"sql(CREATE INDEX extra ON records(monitor_id, "check"))sql"
                                : "CREATE INDEX extra ON records(ts_us)");
  }
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto transaction = store.transaction();
    for (int i = 0; i < 1000; ++i) {
      ++seq;
      store.insert(1,
                   make_record("epoch", seq, check_name(static_cast<int>(seq % 100)),
                               netmon::CheckStatus::kUp, kStart + std::chrono::milliseconds(seq),
                               std::chrono::microseconds(20'000)),
                   1);
    }
    transaction.commit();
  }
  state.counters["results_per_s"] =
      benchmark::Counter(static_cast<double>(seq), benchmark::Counter::kIsRate);
  state.counters["rows"] = static_cast<double>(seq);
}

BENCHMARK(BM_StatsAll)->Name("stats/all")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StatsSince24h)->Name("stats/since_24h")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StatsSince1h)->Name("stats/since_1h")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StatsOneCheck)->Name("stats/one_check")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StatsOneCheckSince1h)
    ->Name("stats/one_check_since_1h")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_EventsNewest100)
    ->Name("events/newest_100")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_EventsMonitorSince24h)
    ->Name("events/monitor_since_24h")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_LastResults)
    ->Name("last_results/monitor")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_LastResultsWithASilentCheck)
    ->Name("last_results/with_a_silent_check")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Restore)
    ->Name("restore/all_checks")
    ->ArgName("silent_check")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_InsertBatch)
    ->Name("insert/batch_1000")
    ->ArgName("index")
    ->DenseRange(0, 2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace netmon::manager

BENCHMARK_MAIN();
