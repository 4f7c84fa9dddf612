#include "manager/result_store.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/protocol/codec.hpp"
#include "common/text.hpp"

namespace netmon::manager {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS monitors(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  instance TEXT NOT NULL,
  first_seen_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS configs(
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  checks BLOB NOT NULL,
  created_us INTEGER NOT NULL,
  PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS records(
  monitor_id INTEGER NOT NULL,
  epoch TEXT NOT NULL,
  seq INTEGER NOT NULL,
  "check" TEXT NOT NULL,
  type TEXT NOT NULL,
  target TEXT NOT NULL,
  ts_us INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  error TEXT NOT NULL,
  latency_us INTEGER NOT NULL,
  details TEXT NOT NULL,
  stored_us INTEGER NOT NULL,
  timings TEXT NOT NULL DEFAULT '{}',
  UNIQUE(monitor_id, epoch, seq));
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  ts_us INTEGER NOT NULL,
  monitor TEXT NOT NULL,
  "check" TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  text TEXT NOT NULL);
)sql";

// Stores made before records had timings gain the column (last, as ADD
// COLUMN puts it) when they are opened: their rows read '{}', no phase known.
// ADD COLUMN with a constant default rewrites no row, so it costs nothing on
// a large store.
constexpr std::string_view kAddTimings =
    "ALTER TABLE records ADD COLUMN timings TEXT NOT NULL DEFAULT '{}'";

// The timings of a loss row and of a row stored before the column existed.
constexpr std::string_view kNoTimings = "{}";

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_i64(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

// The error text of a loss row: what its reason token (PROTOCOL.md §6) means.
std::string loss_cause(std::string_view reason) {
  if (reason == "outbox_full") return "at the monitor's outbox cap";
  if (reason == "outbox_age") return "older than the monitor's outbox age limit";
  if (reason == "outbox_error") return "shed from memory while the monitor's outbox failed";
  if (reason == "outbox_corrupt") return "damaged in or set aside with the monitor's outbox";
  return "(reason " + to_valid_utf8(reason) + ")";
}

// A loss row's lost seqs: details "lost" once the manager reconciled it, else
// its whole from_seq..to_seq. A row that cannot be read claims nothing.
std::vector<SeqRange> lost_ranges_of(std::string_view details_text) {
  const nlohmann::json details = nlohmann::json::parse(details_text, nullptr, false);
  if (!details.is_object()) return {};
  auto seq_at = [](const nlohmann::json& value) -> std::optional<std::uint64_t> {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) return std::nullopt;
    return value.get<std::uint64_t>();
  };
  std::vector<SeqRange> lost;
  if (const auto it = details.find("lost"); it != details.end() && it->is_array()) {
    for (const nlohmann::json& range : *it) {
      if (!range.is_array() || range.size() != 2) continue;
      const auto from = seq_at(range[0]), to = seq_at(range[1]);
      if (from && to && *from <= *to) lost.push_back({*from, *to});
    }
    return lost;
  }
  const auto from = seq_at(details.value("from_seq", nlohmann::json()));
  const auto to = seq_at(details.value("to_seq", nlohmann::json()));
  if (from && to && *from <= *to) lost.push_back({*from, *to});
  return lost;
}

// True when every string and key in `value` is valid UTF-8.
bool strings_are_utf8(const nlohmann::json& value) {
  if (value.is_string()) return is_valid_utf8(value.get_ref<const std::string&>());
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!is_valid_utf8(it.key()) || !strings_are_utf8(it.value())) return false;
    }
  } else if (value.is_array()) {
    for (const nlohmann::json& item : value) {
      if (!strings_are_utf8(item)) return false;
    }
  }
  return true;
}

// `value` with every string and key escaped by to_valid_utf8.
nlohmann::json with_valid_utf8(const nlohmann::json& value) {
  if (value.is_string()) return to_valid_utf8(value.get_ref<const std::string&>());
  if (value.is_object()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it)
      object[to_valid_utf8(it.key())] = with_valid_utf8(it.value());
    return object;
  }
  if (value.is_array()) {
    nlohmann::json array = nlohmann::json::array();
    for (const nlohmann::json& item : value)
      array.push_back(with_valid_utf8(item));
    return array;
  }
  return value;
}

// Details as stored: invalid UTF-8 escaped as \xNN like every decoded text, so
// that dump() (whose strict mode throws type_error.316 on it) cannot fail.
std::string details_text(const nlohmann::json& details) {
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (strings_are_utf8(details)) return details.dump(-1, ' ', false, kReplace);
  return with_valid_utf8(details).dump(-1, ' ', false, kReplace);
}

// The columns insert writes for a record's body (the key and stored_us aside).
struct RecordColumns {
  std::string check, type, target;
  std::int64_t ts_us = 0;
  std::string status, reason, error;
  std::int64_t latency_us = 0;
  std::string details;
  std::string timings = std::string(kNoTimings);
};

// A result's timings as stored: the object netmon-probe prints as "timings"
// (to_json's, so the shapes cannot drift apart), which export prints as it is.
// Milliseconds as doubles lose nothing: a count of µs below 2^53 / 1000
// comes back exactly as round(ms * 1000).
std::string timings_text(const PhaseTimings& timings) {
  CheckResult only;
  only.timings = timings;
  return to_json(only).at("timings").dump();
}

RecordColumns columns_of(const protocol::Record& record, std::int64_t stored_us) {
  RecordColumns columns;
  if (const auto* loss = std::get_if<protocol::LossRange>(&record.body)) {
    columns.check = kLossCheckId;
    columns.type = kLossCheckId;
    columns.ts_us = stored_us;
    columns.status = "loss";
    columns.reason = to_valid_utf8(loss->reason);
    columns.error = "lost " + std::to_string(loss->count) + " records " + loss_cause(loss->reason);
    const nlohmann::json details = {{"from_seq", loss->from_seq},
                                    {"to_seq", loss->to_seq},
                                    {"count", loss->count},
                                    {"reason", columns.reason}};
    columns.details = details.dump();
    return columns;
  }
  const auto& result = std::get<CheckResult>(record.body);
  columns.check = to_valid_utf8(result.check_id);
  columns.type = to_valid_utf8(result.type);
  columns.target = to_valid_utf8(result.target);
  columns.ts_us =
      std::chrono::duration_cast<std::chrono::microseconds>(result.timestamp.time_since_epoch())
          .count();
  columns.status = to_string(result.status);
  columns.reason = to_valid_utf8(result.reason);
  columns.error = to_valid_utf8(result.error);
  columns.latency_us = static_cast<std::int64_t>(result.latency.count());
  columns.details = details_text(result.details);
  columns.timings = timings_text(result.timings);
  return columns;
}

// Whether the stored row `stored` (select_body_'s columns) holds the body
// `arriving` would have written. A loss row's ts is when it was stored and
// its details gain "lost" when the manager reconciles it, so for a loss only
// the reported range, count and reason count (a loss has no timings). A
// result's timings are part of its body: a replay carries the same ones, and
// a result under a stored key with other timings is another measurement.
// Only a row stored before the store kept timings has '{}' (a result's have
// total_ms at least): its timings are unknown, so they match any, or every
// record a monitor replays across the upgrade would be a conflict.
bool same_body(const sqlite::Statement& stored, const RecordColumns& arriving,
               const protocol::Record& record) {
  if (stored.column_text(0) != arriving.check || stored.column_text(1) != arriving.type ||
      stored.column_text(2) != arriving.target || stored.column_text(4) != arriving.status ||
      stored.column_text(5) != arriving.reason || stored.column_text(6) != arriving.error ||
      stored.column_int64(7) != arriving.latency_us) {
    return false;
  }
  const auto* loss = std::get_if<protocol::LossRange>(&record.body);
  if (loss == nullptr) {
    return stored.column_int64(3) == arriving.ts_us && stored.column_text(8) == arriving.details &&
           (stored.column_text(9) == arriving.timings || stored.column_text(9) == kNoTimings);
  }
  const nlohmann::json details = nlohmann::json::parse(stored.column_text(8), nullptr, false);
  return details.is_object() && details.value("from_seq", nlohmann::json()) == loss->from_seq &&
         details.value("to_seq", nlohmann::json()) == loss->to_seq &&
         details.value("count", nlohmann::json()) == loss->count &&
         details.value("reason", nlohmann::json()) == arriving.reason;
}

}  // namespace

bool has_column(sqlite::Database& db, std::string_view table, std::string_view column) {
  auto columns = db.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
  columns.bind(1, table).bind(2, column);
  return columns.step();
}

std::filesystem::path ResultStore::file_in(const std::filesystem::path& data_dir) {
  return data_dir / kStoreFileName;
}

ResultStore::ResultStore(const std::filesystem::path& data_dir, sqlite::Synchronous synchronous)
    : db_([&] {
        std::filesystem::create_directories(data_dir);
        sqlite::OpenOptions options;
        options.synchronous = synchronous;
        options.background_checkpoints = true;  // the loop's commits never wait for one
        return sqlite::Database(file_in(data_dir), options);
      }()) {
  db_.exec(kSchema);
  if (!has_column(db_, "records", "timings")) db_.exec(kAddTimings);
  insert_record_ = db_.prepare(
      R"sql(INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us,
            status, reason, error, latency_us, details, stored_us, timings)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            ON CONFLICT(monitor_id, epoch, seq) DO NOTHING)sql");
  select_body_ = db_.prepare(
      R"sql(SELECT "check", type, target, ts_us, status, reason, error, latency_us, details,
            timings FROM records WHERE monitor_id = ?1 AND epoch = ?2 AND seq = ?3)sql");
  insert_event_ = db_.prepare(
      R"sql(INSERT INTO events(ts_us, monitor, "check", from_state, to_state, text)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6))sql");
}

std::optional<std::uint64_t> ResultStore::monitor_id(std::string_view name) {
  auto select = db_.prepare("SELECT id FROM monitors WHERE name = ?1");
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  return static_cast<std::uint64_t>(select.column_int64(0));
}

std::uint64_t ResultStore::register_monitor(std::string_view name, std::string_view instance) {
  const std::int64_t now = wall_us();
  if (const auto id = monitor_id(name)) {
    auto update = db_.prepare("UPDATE monitors SET instance = ?1, last_seen_us = ?2 WHERE id = ?3");
    update.bind(1, instance).bind(2, now).bind(3, to_i64(*id)).run();
    return *id;
  }
  auto insert = db_.prepare(
      "INSERT INTO monitors(name, instance, first_seen_us, last_seen_us) VALUES(?1, ?2, ?3, ?3)");
  insert.bind(1, name).bind(2, instance).bind(3, now).run();
  return static_cast<std::uint64_t>(db_.last_insert_rowid());
}

std::map<std::string, std::uint64_t> ResultStore::monitor_ids() {
  std::map<std::string, std::uint64_t> ids;
  auto select = db_.prepare("SELECT name, id FROM monitors");
  while (select.step()) {
    ids.emplace(std::string(select.column_text(0)),
                static_cast<std::uint64_t>(select.column_int64(1)));
  }
  return ids;
}

std::optional<StoredConfig> ResultStore::latest_config(std::string_view name) {
  auto select = db_.prepare(
      "SELECT version, checks FROM configs WHERE name = ?1 ORDER BY version DESC LIMIT 1");
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  StoredConfig config;
  config.version = static_cast<std::uint64_t>(select.column_int64(0));
  // Stored as the CONFIG message it is delivered as: one codec for both.
  auto decoded = protocol::decode_control(select.column_blob(1));
  if (!decoded || !std::holds_alternative<protocol::Config>(*decoded)) {
    throw sqlite::SqliteError("configs: version " + std::to_string(config.version) + " of '" +
                                  std::string(name) + "' is unreadable",
                              0);
  }
  config.checks = std::get<protocol::Config>(*decoded).checks;
  return config;
}

std::uint64_t ResultStore::save_config(std::string_view name,
                                       const std::vector<CheckSpec>& checks) {
  const auto latest = latest_config(name);
  if (latest && latest->checks == checks) return latest->version;
  const std::uint64_t version = latest ? latest->version + 1 : 1;
  auto insert =
      db_.prepare("INSERT INTO configs(name, version, checks, created_us) VALUES(?1, ?2, ?3, ?4)");
  insert.bind(1, name)
      .bind(2, to_i64(version))
      .bind_blob(3, protocol::encode(protocol::Config{version, checks}))
      .bind(4, wall_us())
      .run();
  return version;
}

EpochProgress ResultStore::epoch_progress(std::uint64_t monitor_id, std::string_view epoch) {
  EpochProgress progress;
  // The first stored seq whose successor is missing ends the contiguous run,
  // provided the run starts at 1.
  auto first =
      db_.prepare("SELECT 1 FROM records WHERE monitor_id = ?1 AND epoch = ?2 AND seq = 1");
  first.bind(1, to_i64(monitor_id)).bind(2, epoch);
  if (first.step()) {
    auto end = db_.prepare(
        "SELECT MIN(r.seq) FROM records r WHERE r.monitor_id = ?1 AND r.epoch = ?2 AND NOT EXISTS "
        "(SELECT 1 FROM records n WHERE n.monitor_id = ?1 AND n.epoch = ?2 AND n.seq = r.seq + 1)");
    end.bind(1, to_i64(monitor_id)).bind(2, epoch);
    if (end.step()) progress.contiguous = static_cast<std::uint64_t>(end.column_int64(0));
  }
  auto above = db_.prepare(
      "SELECT seq FROM records WHERE monitor_id = ?1 AND epoch = ?2 AND seq > ?3 ORDER BY seq");
  above.bind(1, to_i64(monitor_id)).bind(2, epoch).bind(3, to_i64(progress.contiguous));
  while (above.step())
    progress.above.push_back(static_cast<std::uint64_t>(above.column_int64(0)));
  auto losses = db_.prepare(
      R"sql(SELECT seq, details FROM records WHERE monitor_id = ?1 AND epoch = ?2
            AND "check" = ?3 ORDER BY seq)sql");
  losses.bind(1, to_i64(monitor_id)).bind(2, epoch).bind(3, kLossCheckId);
  while (losses.step()) {
    StoredLoss loss;
    loss.loss_seq = static_cast<std::uint64_t>(losses.column_int64(0));
    loss.lost = lost_ranges_of(losses.column_text(1));
    progress.losses.push_back(std::move(loss));
  }
  return progress;
}

std::map<std::uint64_t, std::map<std::string, std::vector<StoredStatus>, std::less<>>>
ResultStore::newest_results(
    const std::map<std::uint64_t, std::map<std::string, std::size_t, std::less<>>>& wanted,
    std::size_t max_rows) {
  std::map<std::uint64_t, std::map<std::string, std::vector<StoredStatus>, std::less<>>> newest;
  std::size_t missing = 0;
  for (const auto& [monitor_id, checks] : wanted) {
    for (const auto& [check, count] : checks)
      missing += count;
  }
  if (missing == 0) return newest;
  // Newest first in rowid order, which is the order rows were stored in (no
  // row is ever deleted). NOT INDEXED: the table's own b-tree walked
  // backwards, never the (monitor_id, epoch, seq) index plus a sort of all
  // its rows.
  auto select = db_.prepare(
      R"sql(SELECT monitor_id, "check", epoch, seq, status FROM records NOT INDEXED
            WHERE typeof(monitor_id) = 'integer' AND typeof("check") = 'text'
            AND typeof(epoch) = 'text' AND typeof(seq) = 'integer' AND seq > 0
            ORDER BY rowid DESC LIMIT ?1)sql");
  select.bind(1, static_cast<std::int64_t>(
                     std::min<std::size_t>(max_rows, std::numeric_limits<std::int64_t>::max())));
  while (missing > 0 && select.step()) {
    const auto monitor_it = wanted.find(static_cast<std::uint64_t>(select.column_int64(0)));
    if (monitor_it == wanted.end()) continue;
    const auto check_it = monitor_it->second.find(select.column_text(1));
    if (check_it == monitor_it->second.end()) continue;
    const auto status = parse_check_status(select.column_text(4));
    if (!status) continue;
    auto& results = newest[monitor_it->first][check_it->first];
    if (results.size() == check_it->second) continue;
    results.push_back({std::string(select.column_text(2)),
                       static_cast<std::uint64_t>(select.column_int64(3)), *status});
    --missing;
  }
  for (auto& [monitor_id, checks] : newest) {
    for (auto& [check, results] : checks)
      std::reverse(results.begin(), results.end());
  }
  return newest;
}

void ResultStore::set_lost_ranges(std::uint64_t monitor_id, std::string_view epoch,
                                  std::uint64_t loss_seq, const std::vector<SeqRange>& lost) {
  nlohmann::json ranges = nlohmann::json::array();
  std::uint64_t count = 0;
  for (const SeqRange& range : lost) {
    ranges.push_back({range.from, range.to});
    count += range.to - range.from + 1;
  }
  auto update = db_.prepare(
      R"sql(UPDATE records SET details = json_set(details, '$.lost', json(?4), '$.lost_count', ?5)
            WHERE monitor_id = ?1 AND epoch = ?2 AND seq = ?3 AND "check" = ?6)sql");
  update.bind(1, to_i64(monitor_id))
      .bind(2, epoch)
      .bind(3, to_i64(loss_seq))
      .bind(4, ranges.dump())
      .bind(5, to_i64(count))
      .bind(6, kLossCheckId)
      .run();
}

InsertOutcome ResultStore::insert(std::uint64_t monitor_id, const protocol::Record& record,
                                  std::int64_t stored_us) {
  const RecordColumns columns = columns_of(record, stored_us);
  sqlite::Statement& s = insert_record_;
  s.bind(1, to_i64(monitor_id)).bind(2, record.key.epoch).bind(3, to_i64(record.key.seq));
  s.bind(4, columns.check).bind(5, columns.type).bind(6, columns.target).bind(7, columns.ts_us);
  s.bind(8, columns.status).bind(9, columns.reason).bind(10, columns.error);
  s.bind(11, columns.latency_us).bind(12, columns.details).bind(13, stored_us);
  s.bind(14, columns.timings);
  s.run();
  if (db_.changes() > 0) return InsertOutcome::kInserted;

  // The key is taken: one lookup on its unique index tells a replay from a conflict.
  sqlite::Statement& select = select_body_;
  select.bind(1, to_i64(monitor_id)).bind(2, record.key.epoch).bind(3, to_i64(record.key.seq));
  const bool same = select.step() && same_body(select, columns, record);
  select.reset();
  return same ? InsertOutcome::kDuplicate : InsertOutcome::kConflict;
}

void ResultStore::add_event(const protocol::Event& event) {
  insert_event_
      .bind(1, std::chrono::duration_cast<std::chrono::microseconds>(event.ts.time_since_epoch())
                   .count())
      .bind(2, event.monitor)
      .bind(3, event.check)
      .bind(4, event.from)
      .bind(5, event.to)
      .bind(6, event.text)
      .run();
}

}  // namespace netmon::manager
