// The engine benchmark behind `scripts/bench.sh engine`.
//
// One CheckEngine on one thread pinned to one core runs 10,000 scheduled
// checks of one type against loopback servers (bench_servers.hpp) that run on
// the other core. Each figure is one Google Benchmark run of a bounded
// scenario: schedule, warm up, measure over a fixed window, stop, drain. The
// engine is used only through its public API (set_checks, stats(),
// missed_ticks() and the result sink).
//
//   throughput/<type>   10,000 checks at 100 ms: demand 100,000/s saturates the
//                       engine; completed results/s over the window, the share
//                       that was up, overruns and missed ticks. When fewer than
//                       99% of those results are up (an overloaded loop turns
//                       everything into timeouts, which is no throughput), a
//                       binary search over longer intervals (demand down in
//                       steps of 15%) finds the highest demand the engine
//                       sustains with >= 99% up: the "sustained" row.
//   lateness/tcp_10pct_dead, lateness/udp_echo_10pct_dead
//                       10,000 checks at 1 s, every tenth aimed at a target
//                       that never answers (a listener that drops SYNs, a UDP
//                       port that swallows datagrams): p50/p99 of how late
//                       ticks fire (stats().lateness), and RSS per check.
//   memory/<type>       10,000 checks at 1 s: resident memory per scheduled check
//                       (RSS delta from /proc/self/statm while they run).
//
// Own flags (mixed with Google Benchmark's): --warmup_ms=N --window_ms=N
// --search_window_ms=N --memory_window_ms=N --lateness_window_ms=N --checks=N --ports=N
// --engine_cpu=N --server_cpu=N --types=tcp,dns,... --no_search

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/logging.hpp"
#include "monitor/engine/check_engine.hpp"
#include "tests/bench/bench_servers.hpp"

namespace netmon::bench {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct Options {
  milliseconds warmup{1000};
  milliseconds window{3000};
  milliseconds lateness_window{5000};
  milliseconds search_window{1500};
  milliseconds memory_window{1000};
  bool search = true;
  int checks = 10'000;
  int ports = 16;
  int engine_cpu = -1;  // -1: first allowed CPU
  int server_cpu = -1;  // -1: last allowed CPU
  std::vector<std::string> types{"tcp", "icmp", "dns", "ntp", "udp_echo", "http"};
};

Options g_options;

// ---------------------------------------------------------------------------
// What one scenario is and what it measured.

struct Scenario {
  std::string figure;  // row label
  std::string type;
  milliseconds interval{100};
  milliseconds timeout{90};
  int dead_every = 0;  // every Nth check aims at a dead target (0: none)
  double target = 0;   // the target for this figure
  bool lower_is_better = false;
  bool memory_figure = false;  // judged by RSS per check instead
  int round_trips_per_check = 1;
  std::function<ParamMap(int index, bool dead)> params;
};

struct Measured {
  std::string error;  // set when the scenario could not run (type not built yet ...)
  double demand_per_s = 0;
  double seconds = 0;
  std::uint64_t results = 0;
  std::uint64_t up = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t down = 0;
  std::uint64_t errors = 0;
  std::uint64_t runs_started = 0;
  std::uint64_t overruns = 0;
  std::uint64_t missed = 0;
  std::string top_reason;  // most frequent reason among results that were not up
  std::uint64_t top_reason_count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double engine_user_s = 0;
  double engine_sys_s = 0;
  double server_cpu_s = 0;
  long rss_delta_bytes = 0;
  int checks = 0;
  int per_check = 1;  // round trips per check (icmp count); rates below are in these units

  double per_s() const {
    return seconds > 0 ? static_cast<double>(results) * per_check / seconds : 0;
  }
  double up_per_s() const { return per_s() * up_share(); }
  double up_share() const {
    return results > 0 ? static_cast<double>(up) / static_cast<double>(results) : 0;
  }
  double rss_per_check() const {
    return checks > 0 ? static_cast<double>(rss_delta_bytes) / checks : 0;
  }
};

struct Row {
  std::string label;
  Scenario scenario;  // as run (interval included)
  Measured measured;
};

std::vector<Row> g_rows;
BenchServers* g_servers = nullptr;

// ---------------------------------------------------------------------------
// Process measurements.

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

struct ThreadCpu {
  double user_s = 0;
  double sys_s = 0;
};

ThreadCpu thread_cpu() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

double to_ms(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1000.0;
}

// ---------------------------------------------------------------------------
// The sink: counts statuses always, reasons only inside the window.

struct Tally {
  std::uint64_t up = 0;
  std::uint64_t down = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t errors = 0;
  bool in_window = false;
  std::map<std::string, std::uint64_t, std::less<>> reasons;

  void add(const CheckResult& result) {
    switch (result.status) {
      case CheckStatus::kUp:
        ++up;
        return;
      case CheckStatus::kDown:
        ++down;
        break;
      case CheckStatus::kTimeout:
        ++timeouts;
        break;
      case CheckStatus::kError:
        ++errors;
        break;
    }
    if (!in_window) return;
    const auto found = reasons.find(result.reason);
    if (found != reasons.end()) {
      ++found->second;
    } else {
      reasons.emplace(result.reason.empty() ? std::string("(none)") : result.reason, 1);
    }
  }
};

struct Snapshot {
  Clock::time_point at;
  std::uint64_t results = 0;
  std::uint64_t up = 0;
  std::uint64_t down = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t errors = 0;
  std::uint64_t runs_started = 0;
  std::uint64_t overruns = 0;
  std::uint64_t missed = 0;
  ThreadCpu cpu;
  double server_cpu_s = 0;
};

Snapshot snapshot(const CheckEngine& engine, const Tally& tally) {
  Snapshot s;
  s.at = Clock::now();
  s.results = engine.stats().results;
  s.up = tally.up;
  s.down = tally.down;
  s.timeouts = tally.timeouts;
  s.errors = tally.errors;
  s.runs_started = engine.stats().runs_started;
  s.overruns = engine.stats().overruns;
  s.missed = engine.missed_ticks();
  s.cpu = thread_cpu();
  s.server_cpu_s = g_servers ? g_servers->cpu_seconds() : 0;
  return s;
}

std::vector<CheckSpec> make_specs(const Scenario& scenario, int count) {
  std::vector<CheckSpec> specs;
  specs.reserve(static_cast<std::size_t>(count));
  char id[48];
  for (int i = 0; i < count; ++i) {
    const bool dead = scenario.dead_every > 0 && i % scenario.dead_every == 0;
    std::snprintf(id, sizeof(id), "%s-%05d%s", scenario.type.c_str(), i, dead ? "-dead" : "");
    CheckSpec spec;
    spec.id = id;
    spec.type = scenario.type;
    spec.interval = scenario.interval;
    spec.timeout = scenario.timeout;
    spec.params = scenario.params(i, dead);
    specs.push_back(std::move(spec));
  }
  return specs;
}

// Runs one scenario to the end: schedule, warm up, measure, stop, drain.
Measured run_scenario(const Scenario& scenario, milliseconds warmup, milliseconds window) {
  Measured measured;
  measured.checks = g_options.checks;
  measured.per_check = scenario.round_trips_per_check;
  measured.demand_per_s = g_options.checks * scenario.round_trips_per_check * 1000.0 /
                          static_cast<double>(scenario.interval.count());

  std::vector<CheckSpec> specs = make_specs(scenario, g_options.checks);
  malloc_trim(0);
  const long rss_before = resident_bytes();

  asio::io_context io(1);
  Tally tally;
  std::optional<Snapshot> start;
  std::optional<Snapshot> end;
  long rss_after = rss_before;
  {
    CheckEngine engine(io, component_logger("bench"),
                       [&tally](CheckResult result) { tally.add(result); });
    if (auto ok = engine.set_checks(specs); !ok) {
      measured.error = ok.error().message;
      return measured;
    }
    specs.clear();
    specs.shrink_to_fit();

    asio::steady_timer phase(io);
    phase.expires_after(warmup);
    phase.async_wait([&](const std::error_code&) {
      start = snapshot(engine, tally);
      tally.in_window = true;
      phase.expires_after(window);
      phase.async_wait([&](const std::error_code&) {
        end = snapshot(engine, tally);
        tally.in_window = false;
        rss_after = resident_bytes();
        // Stop scheduling; runs in flight still report and are drained below.
        if (auto stopped = engine.set_checks({}); !stopped) measured.error = "could not stop";
      });
    });

    // Bounded: warm-up + window, then at most the timeout plus a margin to drain.
    const auto measure_deadline = Clock::now() + warmup + window + milliseconds(30'000);
    while (!end && Clock::now() < measure_deadline) {
      io.run_for(milliseconds(50));
    }
    const auto drain_deadline = Clock::now() + scenario.timeout + milliseconds(2000);
    while (engine.stats().results < engine.stats().runs_started && Clock::now() < drain_deadline) {
      io.run_for(milliseconds(10));
    }
    if (!end) {
      measured.error = "the measurement window never closed (loop stalled)";
      return measured;
    }
    measured.p50_ms = to_ms(engine.stats().lateness.percentile(0.50));
    measured.p99_ms = to_ms(engine.stats().lateness.percentile(0.99));
    measured.max_ms = to_ms(engine.stats().lateness.max());
  }

  measured.seconds = std::chrono::duration<double>(end->at - start->at).count();
  measured.results = end->results - start->results;
  measured.up = end->up - start->up;
  measured.down = end->down - start->down;
  measured.timeouts = end->timeouts - start->timeouts;
  measured.errors = end->errors - start->errors;
  measured.runs_started = end->runs_started - start->runs_started;
  measured.overruns = end->overruns - start->overruns;
  measured.missed = end->missed - start->missed;
  measured.engine_user_s = end->cpu.user_s - start->cpu.user_s;
  measured.engine_sys_s = end->cpu.sys_s - start->cpu.sys_s;
  measured.server_cpu_s = end->server_cpu_s - start->server_cpu_s;
  measured.rss_delta_bytes = rss_after - rss_before;
  for (const auto& [reason, count] : tally.reasons) {
    if (count > measured.top_reason_count) {
      measured.top_reason = reason;
      measured.top_reason_count = count;
    }
  }
  return measured;
}

// ---------------------------------------------------------------------------
// The scenarios.

std::string loopback_url(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/";
}

std::uint16_t pick(const std::vector<std::uint16_t>& ports, int index) {
  return ports[static_cast<std::size_t>(index) % ports.size()];
}

std::vector<Scenario> throughput_scenarios(const ServerPorts& ports) {
  std::vector<Scenario> all;
  const auto base = [](std::string type, double target) {
    Scenario s;
    s.figure = "throughput/" + type;
    s.type = std::move(type);
    s.interval = milliseconds(100);
    s.timeout = milliseconds(90);
    s.target = target;
    return s;
  };
  Scenario tcp = base("tcp", 20'000);
  tcp.params = [&ports](int i, bool) {
    return ParamMap{{"host", "127.0.0.1"}, {"port", std::to_string(pick(ports.tcp, i))}};
  };
  all.push_back(tcp);

  Scenario icmp = base("icmp", 100'000);
  // Two echoes per check, sent back to back: 10,000 checks can then ask for
  // 200,000 round trips/s, above the 100,000/s target.
  icmp.round_trips_per_check = 2;
  icmp.params = [](int, bool) {
    return ParamMap{{"host", "127.0.0.1"}, {"count", "2"}, {"spacing", "0ms"}};
  };
  all.push_back(icmp);

  Scenario dns = base("dns", 40'000);
  dns.params = [&ports](int i, bool) {
    return ParamMap{{"server", "127.0.0.1"},
                    {"port", std::to_string(pick(ports.dns, i))},
                    {"name", "bench.example.test"},
                    {"record", "A"}};
  };
  all.push_back(dns);

  Scenario ntp = base("ntp", 40'000);
  ntp.params = [&ports](int i, bool) {
    return ParamMap{{"server", "127.0.0.1"}, {"port", std::to_string(pick(ports.ntp, i))}};
  };
  all.push_back(ntp);

  Scenario echo = base("udp_echo", 40'000);
  echo.params = [&ports](int i, bool) {
    return ParamMap{{"host", "127.0.0.1"}, {"port", std::to_string(pick(ports.udp_echo, i))}};
  };
  all.push_back(echo);

  Scenario http = base("http", 12'000);
  http.params = [&ports](int i, bool) {
    return ParamMap{{"url", loopback_url(pick(ports.http, i))}};
  };
  all.push_back(http);
  return all;
}

// Resident memory per scheduled check of each type: 10,000 checks at 1 s
// (a brisk but ordinary monitoring cadence), RSS delta while they run.
std::vector<Scenario> memory_scenarios(const std::vector<Scenario>& throughput) {
  std::vector<Scenario> all;
  for (Scenario s : throughput) {
    s.figure = "memory/" + s.type;
    s.interval = milliseconds(1000);
    s.timeout = milliseconds(800);
    s.target = 2048;
    s.memory_figure = true;
    all.push_back(std::move(s));
  }
  return all;
}

// 10,000 checks at 1 s while every tenth target never answers: tcp to a
// listener that drops SYNs, and udp_echo to a port that swallows datagrams.
std::vector<Scenario> lateness_scenarios(const ServerPorts& ports) {
  Scenario s;
  s.interval = milliseconds(1000);
  s.timeout = milliseconds(800);
  s.dead_every = 10;
  s.target = 5.0;  // ms, p99
  s.lower_is_better = true;

  Scenario tcp = s;
  tcp.figure = "lateness/tcp_10pct_dead";
  tcp.type = "tcp";
  tcp.params = [&ports](int i, bool dead) {
    const std::uint16_t port = dead ? ports.dead_tcp : pick(ports.tcp, i);
    return ParamMap{{"host", "127.0.0.1"}, {"port", std::to_string(port)}};
  };
  Scenario udp = s;
  udp.figure = "lateness/udp_echo_10pct_dead";
  udp.type = "udp_echo";
  udp.params = [&ports](int i, bool dead) {
    const std::uint16_t port = dead ? ports.dead_udp : pick(ports.udp_echo, i);
    return ParamMap{{"host", "127.0.0.1"}, {"port", std::to_string(port)}};
  };
  return {tcp, udp};
}

// ---------------------------------------------------------------------------
// Google Benchmark glue: one iteration per figure, manual time = its window.

// Intervals for the sustained-demand search: 10,000 checks at these make
// 100k, 85k, 72k, 61k, 52k, 44k, 37k, 32k, 27k, 23k, 19.5k, 16.6k, 14k, 12k, 10k /s.
constexpr std::array<int, 15> kLadderMs{100, 118, 139, 164, 193, 227, 267, 314,
                                        370, 435, 512, 602, 708, 833, 980};
constexpr double kSustainedUpShare = 0.99;

bool sustained(const Measured& m) {
  return m.error.empty() && m.results > 0 && m.up_share() >= kSustainedUpShare;
}

void set_counters(benchmark::State& state, const Measured& m) {
  state.counters["checks_per_s"] = m.per_s();
  state.counters["up_pct"] = 100.0 * m.up_share();
  state.counters["overruns"] = static_cast<double>(m.overruns);
  state.counters["missed_ticks"] = static_cast<double>(m.missed);
  state.counters["late_p50_ms"] = m.p50_ms;
  state.counters["late_p99_ms"] = m.p99_ms;
  state.counters["rss_B_per_check"] = m.rss_per_check();
  state.counters["engine_cpu_pct"] = 100.0 * (m.engine_user_s + m.engine_sys_s) / m.seconds;
  state.counters["server_cpu_pct"] = 100.0 * m.server_cpu_s / m.seconds;
}

// One run of a scenario with a fixed interval (lateness and memory figures).
void run_single(benchmark::State& state, const Scenario& scenario, milliseconds warmup,
                milliseconds window) {
  Measured measured;
  for (auto _ : state) {
    measured = run_scenario(scenario, warmup, window);
    if (!measured.error.empty()) {
      state.SkipWithError(measured.error.c_str());
      break;
    }
    state.SetIterationTime(measured.seconds);
  }
  g_rows.push_back({scenario.figure, scenario, measured});
  if (measured.error.empty()) set_counters(state, measured);
}

// The saturated run at 100 ms, then (if it is not >= 99% up) a binary search
// over kLadderMs for the shortest interval that is. Counters describe the
// sustained run; sat_* the saturated one.
void run_throughput(benchmark::State& state, const Scenario& base) {
  Measured saturated;
  std::optional<Row> best;
  int search_runs = 0;
  for (auto _ : state) {
    Scenario run = base;
    run.interval = milliseconds(kLadderMs[0]);
    saturated = run_scenario(run, g_options.warmup, g_options.window);
    if (!saturated.error.empty()) {
      state.SkipWithError(saturated.error.c_str());
      break;
    }
    double seconds = saturated.seconds;
    const auto consider = [&](const Scenario& ran, const Measured& m) {
      if (sustained(m) && (!best || m.up_per_s() > best->measured.up_per_s())) {
        best = Row{base.type + " sustained", ran, m};
      }
    };
    consider(run, saturated);
    if (!sustained(saturated) && g_options.search) {
      int lo = 1;
      int hi = static_cast<int>(kLadderMs.size()) - 1;
      while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        run.interval = milliseconds(kLadderMs[static_cast<std::size_t>(mid)]);
        const milliseconds warmup = std::max(milliseconds(700), run.interval + milliseconds(300));
        Measured step = run_scenario(run, warmup, g_options.search_window);
        ++search_runs;
        seconds += step.seconds;
        consider(run, step);
        if (sustained(step)) {
          hi = mid - 1;
        } else {
          lo = mid + 1;
        }
      }
    }
    state.SetIterationTime(seconds);
  }
  Scenario saturated_scenario = base;
  saturated_scenario.interval = milliseconds(kLadderMs[0]);
  g_rows.push_back({base.type + " saturated", saturated_scenario, saturated});
  if (!saturated.error.empty()) return;
  if (best) {
    g_rows.push_back(*best);
    set_counters(state, best->measured);
  } else {
    Scenario none = base;
    none.interval = milliseconds(kLadderMs.back());
    Measured failed;
    failed.checks = g_options.checks;
    failed.demand_per_s = g_options.checks * base.round_trips_per_check * 1000.0 / kLadderMs.back();
    failed.error = g_options.search ? "below 99% up even at the lowest demand tried"
                                    : "not searched (--no_search)";
    g_rows.push_back({base.type + " sustained", none, failed});
  }
  state.counters["sat_checks_per_s"] = saturated.per_s();
  state.counters["sat_up_pct"] = 100.0 * saturated.up_share();
  state.counters["search_runs"] = search_runs;
}

// ---------------------------------------------------------------------------
// The table.

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string thousands(double value) {
  std::string digits = std::to_string(static_cast<long long>(value + 0.5));
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
    digits.insert(static_cast<std::size_t>(at), ",");
  }
  return digits;
}

std::string verdict_of(const Row& row) {
  const Scenario& s = row.scenario;
  const Measured& m = row.measured;
  if (s.memory_figure) return m.rss_per_check() <= s.target ? "ok" : "MISSED";
  if (s.lower_is_better) return m.p99_ms <= s.target ? "ok" : "MISSED";
  const double up_per_s = m.up_per_s();
  if (!sustained(m)) return "overloaded (< 99% up)";
  if (up_per_s >= s.target) return "ok";
  return m.per_s() >= 0.97 * m.demand_per_s ? "MISSED (demand-capped)" : "MISSED";
}

void print_table(std::ostream& out, const std::string& load_note) {
  out << "\n## netmon engine benchmark\n\n"
      << "engine: 1 thread pinned to cpu " << g_options.engine_cpu << "; loopback servers: 1 thread"
      << " pinned to cpu " << g_options.server_cpu << "; " << g_options.checks
      << " checks per run (throughput: timeout 90 ms; lateness and memory: 1 s interval, 800 ms "
         "timeout); warm-up "
      << g_options.warmup.count() << " ms, window " << g_options.window.count()
      << " ms (search steps " << g_options.search_window.count() << " ms, lateness "
      << g_options.lateness_window.count() << " ms)\n"
      << load_note << "\n\n";
  out << "| figure | interval | demand/s | completed/s | up % | target | verdict |"
         " not up: top reason | overruns | missed ticks | late p50 / p99 ms |"
         " engine cpu % (usr/sys) | server cpu % | RSS B/check |\n"
      << "|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|---|---:|---:|\n";
  for (const Row& row : g_rows) {
    const Scenario& s = row.scenario;
    const Measured& m = row.measured;
    const std::string target = s.memory_figure     ? "<= " + thousands(s.target) + " B/check"
                               : s.lower_is_better ? "p99 <= " + fixed(s.target, 0) + " ms"
                                                   : ">= " + thousands(s.target) + "/s up";
    std::string label = row.label;
    if (s.round_trips_per_check > 1) {
      label += " (echo round trips, " + std::to_string(s.round_trips_per_check) + "/check)";
    }
    out << "| " << label << " | " << s.interval.count() << " ms | " << thousands(m.demand_per_s)
        << " | ";
    if (!m.error.empty()) {
      const bool not_built = m.error.find("not built yet") != std::string::npos;
      out << "- | - | " << target << " | " << (not_built ? "NOT BUILT YET" : "FAILED") << " | "
          << m.error << " | | | | | | |\n";
      continue;
    }
    std::string not_up = "-";
    if (m.top_reason_count > 0) {
      not_up = m.top_reason + " (" + fixed(100.0 * m.top_reason_count / m.results, 1) + "%)";
    }
    const double engine_pct = 100.0 * (m.engine_user_s + m.engine_sys_s) / m.seconds;
    out << thousands(m.per_s()) << " | " << fixed(100.0 * m.up_share(), 1) << " | " << target
        << " | " << verdict_of(row) << " | " << not_up << " | " << m.overruns << " | " << m.missed
        << " | " << fixed(m.p50_ms, 2) << " / " << fixed(m.p99_ms, 2) << " | "
        << fixed(engine_pct, 0) << " (" << fixed(100.0 * m.engine_user_s / m.seconds, 0) << "/"
        << fixed(100.0 * m.engine_sys_s / m.seconds, 0) << ") | "
        << fixed(100.0 * m.server_cpu_s / m.seconds, 0) << " | " << thousands(m.rss_per_check())
        << " |\n";
  }
  out << "\nmemory/<type>: RSS delta (/proc/self/statm) per scheduled check, 10,000 checks at 1 s,"
         " measured while they run (the lateness rows' RSS column: the same with 10% dead"
         " targets).\n"
         "saturated: 10,000 checks at 100 ms (the most demand 10,000 checks can make);"
         " 'overloaded' = under 99% up.\n"
         "sustained: the highest demand (15% steps) at which >= 99% of results were up;"
         " its completed/s is the throughput figure.\n"
         "completed/s counts every result (up, down, timeout); targets count up results.\n"
         "late p50/p99: CheckEngine::stats().lateness over the whole run (warm-up included);"
         " the other columns cover the window only.\n";
}

std::string load_note() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return "load average: unknown";
  return "load average at the end: " + fixed(load[0], 2) + " " + fixed(load[1], 2) + " " +
         fixed(load[2], 2) + " (2 cores; anything above ~0.2 means other work shared the cores)";
}

// ---------------------------------------------------------------------------
// Flags.

bool take_flag(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

// Removes our own flags from argv; returns false (with a message) on a bad one.
bool parse_own_flags(int* argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    std::string value;
    try {
      if (take_flag(arg, "warmup_ms", &value)) {
        g_options.warmup = milliseconds(std::stoi(value));
      } else if (take_flag(arg, "window_ms", &value)) {
        g_options.window = milliseconds(std::stoi(value));
      } else if (take_flag(arg, "search_window_ms", &value)) {
        g_options.search_window = milliseconds(std::stoi(value));
      } else if (arg == "--no_search") {
        g_options.search = false;
      } else if (take_flag(arg, "memory_window_ms", &value)) {
        g_options.memory_window = milliseconds(std::stoi(value));
      } else if (take_flag(arg, "lateness_window_ms", &value)) {
        g_options.lateness_window = milliseconds(std::stoi(value));
      } else if (take_flag(arg, "checks", &value)) {
        g_options.checks = std::stoi(value);
      } else if (take_flag(arg, "ports", &value)) {
        g_options.ports = std::stoi(value);
      } else if (take_flag(arg, "engine_cpu", &value)) {
        g_options.engine_cpu = std::stoi(value);
      } else if (take_flag(arg, "server_cpu", &value)) {
        g_options.server_cpu = std::stoi(value);
      } else if (take_flag(arg, "types", &value)) {
        g_options.types.clear();
        std::stringstream list(value);
        for (std::string type; std::getline(list, type, ',');)
          g_options.types.push_back(type);
      } else {
        argv[kept++] = argv[i];
        continue;
      }
    } catch (const std::exception&) {
      std::cerr << "engine_bench: bad value in " << arg << "\n";
      return false;
    }
  }
  *argc = kept;
  const bool sane =
      g_options.warmup.count() >= 0 && g_options.window.count() >= 100 &&
      g_options.window.count() <= 60'000 && g_options.checks > 0 && g_options.checks <= 100'000 &&
      g_options.ports > 0 && g_options.ports <= 256 && g_options.lateness_window.count() >= 1000 &&
      g_options.search_window.count() >= 100 && g_options.search_window.count() <= 60'000 &&
      g_options.lateness_window.count() <= 60'000;
  if (!sane) {
    std::cerr << "engine_bench: allowed: window_ms, search_window_ms, memory_window_ms "
                 "100..60000, "
                 "lateness_window_ms 1000..60000, "
                 "checks 1..100000, ports 1..256\n";
  }
  return sane;
}

void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace
}  // namespace netmon::bench

int main(int argc, char** argv) {
  using namespace netmon::bench;
  if (!parse_own_flags(&argc, argv)) return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  netmon::setup_logging("error");
  raise_descriptor_limit();
  const std::vector<int> cpus = allowed_cpus();
  if (g_options.engine_cpu < 0) g_options.engine_cpu = cpus.empty() ? -1 : cpus.front();
  if (g_options.server_cpu < 0) g_options.server_cpu = cpus.empty() ? -1 : cpus.back();
  if (g_options.engine_cpu == g_options.server_cpu) {
    std::cerr << "engine_bench: warning: engine and servers share cpu " << g_options.engine_cpu
              << " (only one CPU available)\n";
  }

  try {
    BenchServers servers(g_options.ports, g_options.server_cpu);
    g_servers = &servers;
    if (!pin_current_thread(g_options.engine_cpu)) {
      std::cerr << "engine_bench: warning: could not pin the engine to cpu " << g_options.engine_cpu
                << "\n";
    }

    const auto selected = [](const Scenario& scenario) {
      return std::find(g_options.types.begin(), g_options.types.end(), scenario.type) !=
             g_options.types.end();
    };
    // Lateness and memory first, before the saturated runs have grown the heap.
    static const std::vector<Scenario> lateness = lateness_scenarios(servers.ports());
    for (const Scenario& scenario : lateness) {
      if (!selected(scenario)) continue;
      benchmark::RegisterBenchmark(scenario.figure.c_str(),
                                   [&scenario](benchmark::State& state) {
                                     run_single(state, scenario, g_options.warmup,
                                                g_options.lateness_window);
                                   })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
    static const std::vector<Scenario> scenarios = throughput_scenarios(servers.ports());
    static const std::vector<Scenario> memory = memory_scenarios(scenarios);
    for (const Scenario& scenario : memory) {
      if (!selected(scenario)) continue;
      benchmark::RegisterBenchmark(scenario.figure.c_str(),
                                   [&scenario](benchmark::State& state) {
                                     run_single(state, scenario, milliseconds(1500),
                                                g_options.memory_window);
                                   })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (const Scenario& scenario : scenarios) {
      if (!selected(scenario)) continue;
      benchmark::RegisterBenchmark(
          scenario.figure.c_str(),
          [&scenario](benchmark::State& state) { run_throughput(state, scenario); })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_table(std::cout, load_note());
    g_servers = nullptr;
  } catch (const std::exception& error) {
    std::cerr << "engine_bench: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
