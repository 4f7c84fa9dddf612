#include "manager/result_store.hpp"

#include <nlohmann/json.hpp>

#include "common/protocol/codec.hpp"

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

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_i64(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
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

}  // namespace

std::filesystem::path ResultStore::file_in(const std::filesystem::path& data_dir) {
  return data_dir / kStoreFileName;
}

ResultStore::ResultStore(const std::filesystem::path& data_dir, sqlite::Synchronous synchronous)
    : db_([&] {
        std::filesystem::create_directories(data_dir);
        sqlite::OpenOptions options;
        options.synchronous = synchronous;
        return sqlite::Database(file_in(data_dir), options);
      }()) {
  db_.exec(kSchema);
  insert_record_ = db_.prepare(
      R"sql(INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us,
            status, reason, error, latency_us, details, stored_us)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            ON CONFLICT(monitor_id, epoch, seq) DO NOTHING)sql");
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

void ResultStore::begin() {
  transaction_.emplace(db_);
}

InsertOutcome ResultStore::insert(std::uint64_t monitor_id, const protocol::Record& record,
                                  std::int64_t stored_us) {
  sqlite::Statement& s = insert_record_;
  s.bind(1, to_i64(monitor_id)).bind(2, record.key.epoch).bind(3, to_i64(record.key.seq));
  if (const auto* loss = std::get_if<protocol::LossRange>(&record.body)) {
    const nlohmann::json details = {{"from_seq", loss->from_seq},
                                    {"to_seq", loss->to_seq},
                                    {"count", loss->count},
                                    {"reason", loss->reason}};
    s.bind(4, kLossCheckId).bind(5, kLossCheckId).bind(6, std::string_view(""));
    s.bind(7, stored_us).bind(8, std::string_view("loss")).bind(9, loss->reason);
    s.bind(10, "dropped " + std::to_string(loss->count) + " records at the monitor's outbox cap");
    s.bind(11, std::int64_t{0}).bind(12, details.dump());
  } else {
    const auto& result = std::get<CheckResult>(record.body);
    s.bind(4, result.check_id).bind(5, result.type).bind(6, result.target);
    s.bind(7, std::chrono::duration_cast<std::chrono::microseconds>(
                  result.timestamp.time_since_epoch())
                  .count());
    s.bind(8, to_string(result.status)).bind(9, result.reason).bind(10, result.error);
    s.bind(11, static_cast<std::int64_t>(result.latency.count()));
    s.bind(12, result.details.dump());
  }
  s.bind(13, stored_us);
  s.run();
  return db_.changes() > 0 ? InsertOutcome::kInserted : InsertOutcome::kDuplicate;
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

void ResultStore::commit() {
  transaction_->commit();
  transaction_.reset();
}

void ResultStore::rollback() {
  transaction_.reset();
}

}  // namespace netmon::manager
