#include "manager/store_queries.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "common/text.hpp"
#include "manager/result_store.hpp"

namespace netmon::manager {
namespace {

// The latest time a system_clock::time_point holds: beyond it the
// conversion from stored microseconds would overflow.
constexpr std::int64_t kMaxTsUs = std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::duration::max())
                                      .count();

std::int64_t to_us(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

// The columns of a row selected as `typeof(x), x` pairs: a column may hold any
// type, whatever the schema says. Every repair or refusal marks the row damaged.
class TypedRow {
 public:
  explicit TypedRow(const sqlite::Statement& row) : row_(row) {}

  // Text as export repairs it: invalid UTF-8 and blobs with bad bytes as
  // \xNN, numbers as their text, NULL as empty.
  std::string text(int column) {
    const std::string_view type = row_.column_text(column);
    if (type == "text") {
      const std::string_view value = row_.column_text(column + 1);
      if (is_valid_utf8(value)) return std::string(value);
      damaged_ = true;
      return to_valid_utf8(value);
    }
    damaged_ = true;
    if (type == "blob") return to_valid_utf8(row_.column_blob(column + 1));
    if (type == "null") return {};
    return std::string(row_.column_text(column + 1));
  }

  std::optional<std::int64_t> integer(int column) {
    if (row_.column_text(column) == "integer") return row_.column_int64(column + 1);
    damaged_ = true;
    return std::nullopt;
  }

  std::optional<std::chrono::system_clock::time_point> time(int column) {
    const auto us = integer(column);
    if (!us) return std::nullopt;
    if (*us < 0 || *us > kMaxTsUs) {
      damaged_ = true;
      return std::nullopt;
    }
    return std::chrono::system_clock::time_point(std::chrono::microseconds(*us));
  }

  // Valid UTF-8 text as it is stored, without a copy; empty for any other
  // value (which text() repairs).
  std::optional<std::string_view> clean_text(int column) const {
    if (row_.column_text(column) != "text") return std::nullopt;
    const std::string_view value = row_.column_text(column + 1);
    if (!is_valid_utf8(value)) return std::nullopt;
    return value;
  }

  std::optional<netmon::CheckStatus> status(int column) {
    const auto clean = clean_text(column);
    const auto status = clean ? parse_check_status(*clean) : parse_check_status(text(column));
    if (!status) damaged_ = true;
    return status;
  }

  void mark_damaged() { damaged_ = true; }
  bool damaged() const { return damaged_; }

 private:
  const sqlite::Statement& row_;
  bool damaged_ = false;
};

// The names of the stored monitors by id, repaired like any text read back.
std::map<std::int64_t, std::string> monitor_names(sqlite::Database& db, std::uint64_t& damaged) {
  std::map<std::int64_t, std::string> names;
  auto select = db.prepare("SELECT typeof(id), id, typeof(name), name FROM monitors");
  while (select.step()) {
    TypedRow row(select);
    const auto id = row.integer(0);
    std::string name = row.text(2);
    if (row.damaged()) ++damaged;
    if (id) names.emplace(*id, std::move(name));
  }
  return names;
}

// "monitor_id IN (...)" for the ids named `monitor` ("1" for every monitor,
// "0" for none: no id matches).
std::string monitor_condition(const std::map<std::int64_t, std::string>& names,
                              const std::string& monitor) {
  if (monitor.empty()) return "1";
  std::string ids;
  for (const auto& [id, name] : names) {
    if (name != monitor) continue;
    if (!ids.empty()) ids += ", ";
    ids += std::to_string(id);
  }
  return ids.empty() ? "0" : "monitor_id IN (" + ids + ")";
}

// How many results a LOSS row's details say were lost: the reconciled
// "lost_count" once the manager set it, else the reported "count".
std::optional<std::uint64_t> lost_count(std::string_view details_text) {
  const nlohmann::json details = nlohmann::json::parse(details_text, nullptr, false);
  if (!details.is_object()) return std::nullopt;
  for (const char* key : {"lost_count", "count"}) {
    if (const auto it = details.find(key); it != details.end()) {
      if (!it->is_number_unsigned()) return std::nullopt;
      return it->get<std::uint64_t>();
    }
  }
  return std::nullopt;
}

// The nearest-rank percentile (a latency that was measured, never an
// interpolation) of `values`, which it partially reorders.
double percentile_ms(std::vector<std::int64_t>& values, double fraction) {
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  const auto nth = values.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
  std::nth_element(values.begin(), nth, values.end());
  return static_cast<double>(*nth) / 1000.0;
}

struct CheckTally {
  std::uint64_t results = 0;
  std::uint64_t successes = 0;
  std::vector<std::int64_t> latencies_us;  // of the successes
};

Error store_error(const sqlite::Database& db, const sqlite::SqliteError& e) {
  return Error{db.path().string() + ": " + e.what()};
}

}  // namespace

Expected<StoreReader> StoreReader::open(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = ResultStore::file_in(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return Error{file.string() + ": no store here (check --data-dir: the manager's data dir)"};
  }
  try {
    sqlite::OpenOptions options;
    options.read_only = true;
    sqlite::Database db(file, options);
    // A file that is not a database opens: it fails at its first statement.
    db.prepare("SELECT 1 FROM sqlite_master LIMIT 1").step();
    return StoreReader(std::move(db));
  } catch (const sqlite::SqliteError& e) {
    return Error{file.string() + ": " + e.what()};
  }
}

Expected<EventList> StoreReader::events(const StoreFilter& filter, std::size_t limit) {
  try {
    EventList list;
    std::string sql =
        R"sql(SELECT typeof(ts_us), ts_us, typeof(monitor), monitor, typeof("check"), "check",
                     typeof(from_state), from_state, typeof(to_state), to_state,
                     typeof(text), text FROM events WHERE 1)sql";
    if (filter.since) sql += " AND ts_us >= ?1";
    if (!filter.monitor.empty()) sql += " AND monitor = ?2";
    if (!filter.check.empty()) sql += R"sql( AND "check" = ?3)sql";
    // One more than the limit tells whether older ones were left out.
    sql += " ORDER BY id DESC LIMIT ?4";
    auto select = db_.prepare(sql);
    if (filter.since) select.bind(1, to_us(*filter.since));
    if (!filter.monitor.empty()) select.bind(2, filter.monitor);
    if (!filter.check.empty()) select.bind(3, filter.check);
    const std::size_t wanted =
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max() - 1);
    select.bind(4, static_cast<std::int64_t>(wanted) + 1);
    std::size_t rows = 0;
    while (select.step()) {
      if (++rows > wanted) {
        list.truncated = true;
        break;
      }
      TypedRow row(select);
      StoredEvent event;
      const auto time = row.time(0);
      event.monitor = row.text(2);
      event.check = row.text(4);
      event.from = row.text(6);
      event.to = row.text(8);
      event.text = row.text(10);
      if (row.damaged()) ++list.damaged;
      if (!time) continue;  // its place in the window is unknown
      event.time = *time;
      list.events.push_back(std::move(event));
    }
    std::reverse(list.events.begin(), list.events.end());
    return list;
  } catch (const sqlite::SqliteError& e) {
    return store_error(db_, e);
  }
}

Expected<StoreStats> StoreReader::stats(const StoreFilter& filter) {
  try {
    StoreStats stats;
    const auto names = monitor_names(db_, stats.damaged);
    // One pass over the matching records; the details only of LOSS rows.
    std::string sql =
        R"sql(SELECT typeof(monitor_id), monitor_id, typeof("check"), "check",
                     typeof(status), status, typeof(latency_us), latency_us, typeof(ts_us), ts_us,
                     CASE WHEN "check" = ?4 THEN typeof(details) END,
                     CASE WHEN "check" = ?4 THEN details END FROM records WHERE )sql" +
        monitor_condition(names, filter.monitor);
    if (filter.since) sql += " AND ts_us >= ?1";
    if (!filter.check.empty()) sql += R"sql( AND "check" = ?3)sql";
    auto select = db_.prepare(sql);
    if (filter.since) select.bind(1, to_us(*filter.since));
    if (!filter.check.empty()) select.bind(3, filter.check);
    select.bind(4, kLossCheckId);

    // By monitor id, then check: a row's check is looked up as it is stored,
    // without a copy (a million rows are a million lookups).
    std::map<std::int64_t, std::map<std::string, CheckTally, std::less<>>> tallies;
    std::size_t tallied_checks = 0;
    std::map<std::string, MonitorLoss> losses;
    const auto tally_row = [&](TypedRow& row) {
      const auto monitor_id = row.integer(0);
      // A text ts passes `ts_us >= ?1` (text sorts after numbers): it is
      // unreadable, not recent.
      const auto name = monitor_id ? names.find(*monitor_id) : names.end();
      if (!row.time(8) || name == names.end()) return row.mark_damaged();
      const auto clean = row.clean_text(2);
      const std::string repaired = clean ? std::string() : row.text(2);
      const std::string_view check = clean ? *clean : std::string_view(repaired);
      if (check == kLossCheckId) {
        MonitorLoss& loss = losses[name->second];
        ++loss.loss_records;
        const auto lost =
            select.column_text(10) == "text" ? lost_count(select.column_text(11)) : std::nullopt;
        if (!lost) return row.mark_damaged();
        loss.lost += *lost;
        return;
      }
      const auto status = row.status(4);
      if (!status) return;
      auto& checks = tallies[*monitor_id];
      auto tally = checks.find(check);
      if (tally == checks.end()) {
        if (tallied_checks == kMaxStatsChecks) {
          ++stats.records_left_out;
          return;
        }
        ++tallied_checks;
        tally = checks.emplace(std::string(check), CheckTally{}).first;
      }
      ++tally->second.results;
      if (*status != netmon::CheckStatus::kUp) return;
      ++tally->second.successes;
      const auto latency_us = row.integer(6);
      if (!latency_us || *latency_us < 0) return row.mark_damaged();
      tally->second.latencies_us.push_back(*latency_us);
    };
    while (select.step()) {
      TypedRow row(select);
      tally_row(row);
      if (row.damaged()) ++stats.damaged;
    }
    // Two monitor ids whose names read back the same (repaired) are one monitor.
    std::map<std::pair<std::string, std::string>, CheckTally> by_name;
    for (auto& [monitor_id, checks] : tallies) {
      for (auto& [check, tally] : checks) {
        CheckTally& merged = by_name[{names.at(monitor_id), check}];
        merged.results += tally.results;
        merged.successes += tally.successes;
        merged.latencies_us.insert(merged.latencies_us.end(), tally.latencies_us.begin(),
                                   tally.latencies_us.end());
      }
    }

    std::map<std::pair<std::string, std::string>, std::uint64_t> episodes;
    std::string down_sql =
        R"sql(SELECT typeof(monitor), monitor, typeof("check"), "check", typeof(ts_us), ts_us
              FROM events WHERE to_state = 'DOWN' AND "check" != '')sql";
    if (filter.since) down_sql += " AND ts_us >= ?1";
    if (!filter.monitor.empty()) down_sql += " AND monitor = ?2";
    if (!filter.check.empty()) down_sql += R"sql( AND "check" = ?3)sql";
    auto downs = db_.prepare(down_sql);
    if (filter.since) downs.bind(1, to_us(*filter.since));
    if (!filter.monitor.empty()) downs.bind(2, filter.monitor);
    if (!filter.check.empty()) downs.bind(3, filter.check);
    while (downs.step()) {
      TypedRow row(downs);
      std::string monitor = row.text(0);
      std::string check = row.text(2);
      if (row.time(4)) ++episodes[{std::move(monitor), std::move(check)}];
      if (row.damaged()) ++stats.damaged;
    }

    for (auto& [key, tally] : by_name) {
      CheckStats check;
      check.monitor = key.first;
      check.check = key.second;
      check.results = tally.results;
      check.successes = tally.successes;
      check.success_pct =
          100.0 * static_cast<double>(tally.successes) / static_cast<double>(tally.results);
      if (auto& latencies = tally.latencies_us; !latencies.empty()) {
        const auto [min, max] = std::minmax_element(latencies.begin(), latencies.end());
        check.min_ms = static_cast<double>(*min) / 1000.0;
        check.max_ms = static_cast<double>(*max) / 1000.0;
        double sum_us = 0.0;
        for (const std::int64_t latency : latencies)
          sum_us += static_cast<double>(latency);
        check.avg_ms = sum_us / static_cast<double>(latencies.size()) / 1000.0;
        check.median_ms = percentile_ms(latencies, 0.5);
        check.p95_ms = percentile_ms(latencies, 0.95);
      }
      if (const auto it = episodes.find(key); it != episodes.end()) {
        check.down_episodes = it->second;
      }
      stats.checks.push_back(std::move(check));
    }
    for (auto& [monitor, loss] : losses) {
      loss.monitor = monitor;
      stats.losses.push_back(std::move(loss));
    }
    return stats;
  } catch (const sqlite::SqliteError& e) {
    return store_error(db_, e);
  }
}

Expected<LastResults> StoreReader::last_results(const std::string& monitor,
                                                const std::vector<std::string>& checks) {
  try {
    LastResults last;
    std::uint64_t ignored = 0;  // a damaged name elsewhere is not this monitor's
    std::set<std::int64_t> ids;
    for (const auto& [id, name] : monitor_names(db_, ignored)) {
      if (name == monitor) ids.insert(id);
    }
    std::map<std::string, std::optional<LastResult>, std::less<>> wanted;
    for (const std::string& check : checks) {
      if (check != kLossCheckId) wanted.emplace(check, std::nullopt);
    }
    std::size_t missing = wanted.size();
    if (ids.empty() || missing == 0) return last;
    // Newest first in stored order, the table walked backwards as
    // ResultStore::newest_results walks it, as far back as it does: the
    // monitor is matched here so that the LIMIT counts every row read.
    auto select = db_.prepare(
        R"sql(SELECT typeof(ts_us), ts_us, typeof(status), status, typeof(latency_us), latency_us,
                     typeof(reason), reason, typeof("check"), "check", monitor_id
              FROM records NOT INDEXED ORDER BY rowid DESC LIMIT ?1)sql");
    select.bind(1, static_cast<std::int64_t>(kNewestRowsRead));
    while (missing > 0 && select.step()) {
      if (select.column_text(8) != "text" || !ids.contains(select.column_int64(10))) continue;
      const auto found = wanted.find(select.column_text(9));
      if (found == wanted.end() || found->second) continue;
      TypedRow row(select);
      const auto time = row.time(0);
      const auto status = row.status(2);
      const auto latency_us = row.integer(4);
      LastResult result;
      result.reason = row.text(6);
      if (latency_us && *latency_us >= 0) {
        result.latency_ms = static_cast<double>(*latency_us) / 1000.0;
      } else {
        row.mark_damaged();
      }
      if (row.damaged()) ++last.damaged;
      if (!time || !status) continue;
      result.check = found->first;
      result.time = *time;
      result.status = std::string(to_string(*status));
      found->second = std::move(result);
      --missing;
    }
    for (auto& [check, result] : wanted) {
      if (result) last.checks.push_back(std::move(*result));
    }
    return last;
  } catch (const sqlite::SqliteError& e) {
    return store_error(db_, e);
  }
}

std::uint64_t StoreReader::store_bytes() const {
  std::uint64_t bytes = 0;
  for (const std::filesystem::path& file :
       {db_.path(), std::filesystem::path(db_.path().string() + "-wal")}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (!ec) bytes += size;
  }
  return bytes;
}

}  // namespace netmon::manager
