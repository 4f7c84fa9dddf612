#pragma once
// Read-side queries of the manager's store for the operator console (events,
// stats, last results, size): a connection of their own to DIR/netmon.db,
// opened read-only like export's, so they run on any thread while the loop
// writes (WAL: readers and the writer do not block each other). Each query
// is its own short read: no statement outlives the call, so a reader never
// holds back the writer's checkpoints between calls.
//
// Rows read back are hostile input (a bad disk, an older netmon, a hand
// edit): a query never fails for one bad row. Text that is not valid UTF-8
// (or not text) is repaired as export repairs it (\xNN); a row that cannot be
// used (no known status, an unreadable time, a record of a monitor id without
// a monitors row) is skipped. Both are counted in `damaged`. A query fails
// (an Error naming the file) only when the store itself cannot be read.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::manager {

// What a query covers. Records match on their ts (the monitor's clock),
// events on theirs (the manager's); a row whose ts cannot be read is skipped
// (and counted as damaged). stats reads every record even with `since`:
// there is no index on ts, since one would cost each insert 0.45 us of CPU
// (+17%, tests/bench/store_bench.cpp), so stats takes time in proportion to
// the store (1,000,000 records: 65 ms with a 1 h window, 0.5 s over all).
// The braced defaults let a designated initializer name only what it sets
// ({.monitor = "edge-1"}) under -Wmissing-field-initializers.
struct StoreFilter {
  std::optional<std::chrono::system_clock::time_point> since{};
  std::string monitor{};  // empty: every monitor
  std::string check{};    // empty: every check (of `monitor`, or of all)
};

struct StoredEvent {
  std::chrono::system_clock::time_point time;
  std::string monitor;
  std::string check;  // empty for a monitor's own events (CONNECTED, LOST ...)
  std::string from;
  std::string to;
  std::string text;
};

struct EventList {
  std::vector<StoredEvent> events;  // oldest first
  bool truncated = false;           // older matching events were left out by the limit
  std::uint64_t damaged = 0;
};

// One (monitor, check) over the records that match. Latency figures are over
// the successes (status up) only: a timeout's "latency" is its timeout and a
// refusal's is how fast it failed, neither how fast the service answers.
// They are empty when there is no success. Exact, from every success's
// latency held while the query runs: 8 bytes per success in the window.
struct CheckStats {
  std::string monitor;
  std::string check;
  std::uint64_t results = 0;  // up, down, timeout and error
  std::uint64_t successes = 0;
  double success_pct = 0.0;
  std::optional<double> min_ms, avg_ms, median_ms, p95_ms, max_ms;
  // Changes to DOWN that the manager recorded (events table) in the window.
  // Counted from the events, not derived from the records: they are what the
  // manager decided under the retries it had then, and what `events` shows.
  // (A check with such events but no records in the window has no row.)
  std::uint64_t down_episodes = 0;
};

// The LOSS records of one monitor in the window (check "_loss", never a check's stats).
struct MonitorLoss {
  std::string monitor;
  std::uint64_t loss_records = 0;
  std::uint64_t lost = 0;  // results really lost: the reconciled count where the manager set it
};

// At most this many (monitor, check) rows: results under any check id are
// stored (a forged topic names any), and one row each for a flood of made-up
// ids would fill memory and the reply.
inline constexpr std::size_t kMaxStatsChecks = 10'000;

struct StoreStats {
  std::vector<CheckStats> checks;   // by monitor, then check
  std::vector<MonitorLoss> losses;  // by monitor; monitors without a loss are absent
  std::uint64_t damaged = 0;
  // Records of checks beyond kMaxStatsChecks (the first ones met keep theirs).
  std::uint64_t records_left_out = 0;
};

// The newest stored result of one check: newest as stored (the order the
// manager applied them in), passing over rows without a readable time or
// status.
struct LastResult {
  std::string check;
  std::chrono::system_clock::time_point time;  // the result's ts
  std::string status;                          // up, down, timeout, error
  std::optional<double> latency_ms;            // empty when the row's is unreadable
  std::string reason;
};

struct LastResults {
  std::vector<LastResult> checks;  // by check
  std::uint64_t damaged = 0;
};

class StoreReader {
 public:
  // Opens DIR/netmon.db read-only. An error when there is no store or it
  // cannot be opened.
  static Expected<StoreReader> open(const std::filesystem::path& data_dir);

  // Use from one thread at a time (SQLite's connection is single-threaded here).
  StoreReader(StoreReader&&) noexcept = default;
  StoreReader& operator=(StoreReader&&) noexcept = default;

  // The newest `limit` state-change events that match, oldest first.
  Expected<EventList> events(const StoreFilter& filter, std::size_t limit);
  // Per (monitor, check) with at least one matching record, "_loss" aside.
  Expected<StoreStats> stats(const StoreFilter& filter);
  // The newest result of each of `checks` (the monitor's configured ones)
  // that has one among the newest kNewestRowsRead records (result_store.hpp);
  // an unknown monitor has none. One pass backwards over the records, ending
  // early when every check has its row.
  Expected<LastResults> last_results(const std::string& monitor,
                                     const std::vector<std::string>& checks);
  // The database file and its WAL, in bytes (what the store takes on disk).
  std::uint64_t store_bytes() const;

 private:
  explicit StoreReader(sqlite::Database db) : db_(std::move(db)) {}

  sqlite::Database db_;
};

}  // namespace netmon::manager
