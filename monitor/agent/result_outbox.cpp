#include "monitor/agent/result_outbox.hpp"

#include <sqlite3.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>

#include "common/protocol/codec.hpp"
#include "common/protocol/topics.hpp"
#include "monitor/agent/random_id.hpp"

namespace netmon::agent {
namespace {

constexpr std::size_t kEpochBytes = 8;

std::int64_t to_us(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

std::int64_t as_int(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

// CRC-32 of a row's seq (8 bytes, little-endian) and body: a flipped byte in
// either shows when the row is read back. SQLite checks its own structure
// (quick_check), not what is inside a blob.
std::int64_t row_crc(std::uint64_t seq, std::string_view body) {
  Bytef key[8];
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<Bytef>(seq >> (8 * i));
  uLong crc = crc32_z(0L, key, sizeof key);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(body.data()), body.size());
  return static_cast<std::int64_t>(crc);
}

[[noreturn]] void corrupt(const std::string& what) {
  throw sqlite::SqliteError("outbox bookkeeping: " + what, SQLITE_CORRUPT);
}

void check_integrity(sqlite::Database& db) {
  auto check = db.prepare("PRAGMA quick_check(1)");
  std::string verdict = check.step() ? std::string(check.column_text(0)) : "no answer";
  check.reset();
  std::replace(verdict.begin(), verdict.end(), '\n', ' ');  // one log line
  if (verdict != "ok") throw sqlite::SqliteError("quick_check: " + verdict, SQLITE_CORRUPT);
}

bool empty_table(sqlite::Database& db, const std::string& table) {
  auto any = db.prepare("SELECT 1 FROM " + table + " LIMIT 1");
  const bool found = any.step();
  any.reset();
  return !found;
}

// Renames a corrupt outbox (and its -wal and -shm) to
// outbox.db.corrupt-<UTC time>, kept for a post-mortem; returns the new name.
std::filesystem::path set_aside_corrupt(const std::filesystem::path& file) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::filesystem::path aside = file.string() + ".corrupt-" + stamp;
  for (int n = 2; std::filesystem::exists(aside); ++n)
    aside = file.string() + ".corrupt-" + stamp + "-" + std::to_string(n);
  std::filesystem::rename(file, aside);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::filesystem::path companion = file.string() + suffix;
    if (std::filesystem::exists(companion)) {
      std::filesystem::rename(companion, aside.string() + suffix);
    }
  }
  return aside;
}

}  // namespace

ResultOutbox::ResultOutbox(const std::filesystem::path& dir, std::string monitor_name,
                           OutboxOptions options)
    : monitor_name_(std::move(monitor_name)), options_(options) {
  const std::filesystem::path file = dir / kFileName;
  try {
    open(file);
  } catch (const sqlite::SqliteError& e) {
    if (!e.corrupt()) throw;
    close();
    corruption_ = e.what();
    set_aside_ = set_aside_corrupt(file);
    open(file);
  }
}

void ResultOutbox::close() {
  insert_ = {};
  delete_through_ = {};
  delete_one_ = {};
  read_from_ = {};
  created_at_ = {};
  save_last_seq_ = {};
  save_acked_through_ = {};
  db_ = {};
}

void ResultOutbox::open(const std::filesystem::path& file) {
  // The agent's commits never wait for a checkpoint (its heartbeats go on).
  db_ = sqlite::Database(file, sqlite::OpenOptions{.synchronous = options_.synchronous,
                                                   .background_checkpoints = true});
  check_integrity(db_);
  // outbox_meta.created_us is the wall clock of the file's creation (data);
  // records.created_us is a row's place on the outbox clock (clock_us).
  db_.exec(
      "CREATE TABLE IF NOT EXISTS outbox_meta ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " epoch TEXT NOT NULL,"
      " last_seq INTEGER NOT NULL,"
      " acked_through INTEGER NOT NULL DEFAULT 0,"
      " created_us INTEGER NOT NULL,"
      " clock_us INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS records ("
      " seq INTEGER PRIMARY KEY,"
      " created_us INTEGER NOT NULL,"
      " body BLOB NOT NULL,"
      " crc INTEGER);");
  {
    sqlite::Transaction transaction(db_);
    auto has_clock = db_.prepare(
        "SELECT count(*) FROM pragma_table_info('outbox_meta') WHERE name = 'clock_us'");
    has_clock.step();
    if (has_clock.column_int64(0) == 0) {
      // An outbox from before the outbox clock: its rows carry wall-clock
      // stamps, which become their places on it, and the clock goes on from
      // the newest, so none of them gets older by the upgrade.
      has_clock.reset();
      db_.exec(
          "ALTER TABLE outbox_meta ADD COLUMN clock_us INTEGER NOT NULL DEFAULT 0;"
          "UPDATE outbox_meta SET clock_us = COALESCE((SELECT MAX(created_us) FROM records), 0);");
    }
    has_clock.reset();
    auto has_crc =
        db_.prepare("SELECT count(*) FROM pragma_table_info('records') WHERE name = 'crc'");
    has_crc.step();
    // Rows from before checksums keep a NULL crc and are checked by decoding.
    if (has_crc.column_int64(0) == 0) db_.exec("ALTER TABLE records ADD COLUMN crc INTEGER");
    has_crc.reset();
    auto meta = db_.prepare(
        "SELECT epoch, last_seq, acked_through, clock_us FROM outbox_meta WHERE id = 1");
    if (meta.step()) {
      epoch_ = std::string(meta.column_text(0));
      last_seq_ = static_cast<std::uint64_t>(meta.column_int64(1));
      acked_through_ = static_cast<std::uint64_t>(meta.column_int64(2));
      clock_at_open_us_ = meta.column_int64(3);
      meta.reset();
    } else {
      meta.reset();
      if (!empty_table(db_, "records")) corrupt("records without an outbox_meta row");
      epoch_ = random_hex(kEpochBytes);
      db_.prepare("INSERT INTO outbox_meta (id, epoch, last_seq, created_us) VALUES (1, ?, 0, ?)")
          .bind(1, epoch_)
          .bind(2, to_us(std::chrono::system_clock::now()))
          .run();
    }
    transaction.commit();
  }
  auto held = db_.prepare("SELECT MIN(seq), MAX(seq) FROM records");
  held.step();
  const bool none = held.column_is_null(0);
  const std::int64_t oldest = held.column_int64(0);
  const std::int64_t newest = held.column_int64(1);
  first_seq_ = none ? last_seq_ + 1 : static_cast<std::uint64_t>(oldest);
  held.reset();
  // Bookkeeping that contradicts itself is damage quick_check cannot see.
  if (epoch_.size() != 2 * kEpochBytes ||
      epoch_.find_first_not_of("0123456789abcdef") != std::string::npos) {
    corrupt("epoch '" + epoch_.substr(0, 32) + "' is not 16 hex digits");
  }
  if (as_int(last_seq_) < 0 || acked_through_ > last_seq_ ||
      (!none && (oldest < 1 || newest > as_int(last_seq_)))) {
    corrupt("seqs out of order (first " + std::to_string(first_seq_) + ", newest " +
            std::to_string(newest) + ", last " + std::to_string(last_seq_) + ", acked " +
            std::to_string(acked_through_) + ")");
  }

  opened_at_ = options_.clock->now();
  insert_ = db_.prepare("INSERT INTO records (seq, created_us, body, crc) VALUES (?, ?, ?, ?)");
  delete_through_ = db_.prepare("DELETE FROM records WHERE seq <= ?");
  delete_one_ = db_.prepare("DELETE FROM records WHERE seq = ?");
  read_from_ =
      db_.prepare("SELECT seq, body, crc FROM records WHERE seq >= ? ORDER BY seq LIMIT ?");
  created_at_ = db_.prepare("SELECT created_us FROM records WHERE seq = ?");
  save_last_seq_ = db_.prepare("UPDATE outbox_meta SET last_seq = ?, clock_us = ? WHERE id = 1");
  save_acked_through_ = db_.prepare("UPDATE outbox_meta SET acked_through = ? WHERE id = 1");
}

std::int64_t ResultOutbox::clock_us() const {
  const auto running =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.clock->now() - opened_at_);
  return clock_at_open_us_ + std::max<std::int64_t>(0, running.count());
}

std::int64_t ResultOutbox::created_us(std::uint64_t seq) {
  created_at_.bind(1, as_int(seq));
  const std::int64_t created = created_at_.step() ? created_at_.column_int64(0) : 0;
  created_at_.reset();
  return created;
}

void ResultOutbox::drop_through(std::uint64_t seq) {
  delete_through_.bind(1, as_int(seq)).run();
  first_seq_ = std::max(first_seq_, seq + 1);
}

void ResultOutbox::insert(std::uint64_t seq, std::int64_t created, const std::string& body) {
  insert_.bind(1, as_int(seq))
      .bind(2, created)
      .bind_blob(3, body)
      .bind(4, row_crc(seq, body))
      .run();
}

bool ResultOutbox::intact(std::uint64_t seq, std::string_view body,
                          std::optional<std::int64_t> crc) const {
  if (crc) return *crc == row_crc(seq, body);
  const auto record = protocol::decode_record(body);
  return record && record->key.seq == seq && record->key.epoch == epoch_ &&
         record->key.monitor == monitor_name_;
}

AppendOutcome ResultOutbox::remove_damaged(const std::vector<std::uint64_t>& seqs,
                                           std::uint64_t monitor_id) {
  AppendOutcome outcome;
  const std::int64_t now_us = clock_us();
  const std::uint64_t seq = last_seq_ + 1;
  protocol::Record loss{
      {monitor_name_, monitor_id, epoch_, seq},
      protocol::LossRange{seqs.front(), seqs.back(), seqs.size(), kCorruptReason}};
  std::string body = protocol::encode_record(loss);
  sqlite::Transaction transaction(db_);
  for (const std::uint64_t damaged : seqs)
    delete_one_.bind(1, as_int(damaged)).run();
  insert(seq, now_us, body);
  save_last_seq_.bind(1, as_int(seq)).bind(2, now_us).run();
  transaction.commit();
  last_seq_ = seq;
  if (seqs.front() == first_seq_) {
    auto oldest = db_.prepare("SELECT MIN(seq) FROM records");
    oldest.step();
    first_seq_ = static_cast<std::uint64_t>(oldest.column_int64(0));  // the loss, at least
  }
  outcome.records.push_back({seq, protocol::loss_topic(monitor_name_), std::move(body)});
  return outcome;
}

std::string ResultOutbox::encode_loss(std::uint64_t seq, std::uint64_t monitor_id, std::uint64_t to,
                                      std::uint64_t count, const char* reason) const {
  // The range starts right after the last acknowledged seq, not at this
  // drop's first record: an earlier loss record may have been dropped too
  // (a long partition), and the manager must find every seq it lacks
  // covered by a loss record it receives.
  protocol::Record loss{{monitor_name_, monitor_id, epoch_, seq},
                        protocol::LossRange{acked_through_ + 1, to, count, reason}};
  return protocol::encode_record(loss);
}

AppendOutcome ResultOutbox::append(std::span<const CheckResult> results, std::uint64_t monitor_id) {
  AppendOutcome outcome;
  const std::int64_t now_us = clock_us();
  const std::uint64_t first_before = first_seq_;
  const std::uint64_t last_before = last_seq_;
  const std::string loss_topic = protocol::loss_topic(monitor_name_);
  sqlite::Transaction transaction(db_);
  try {
    // Age cap: seq order is append order, so the too-old rows are a prefix;
    // a binary search over created_us finds its end in a few lookups.
    const std::int64_t cutoff_us =
        now_us - std::chrono::duration_cast<std::chrono::microseconds>(options_.max_age).count();
    if (size() > 0 && created_us(first_seq_) < cutoff_us) {
      std::uint64_t low = first_seq_;  // known too old
      std::uint64_t high = last_seq_;
      while (low < high) {
        const std::uint64_t middle = low + (high - low + 1) / 2;
        if (created_us(middle) < cutoff_us) {
          low = middle;
        } else {
          high = middle - 1;
        }
      }
      const std::uint64_t from = first_seq_;
      drop_through(low);
      outcome.dropped += low - from + 1;
      const std::uint64_t seq = ++last_seq_;
      std::string body = encode_loss(seq, monitor_id, low, low - from + 1, "outbox_age");
      insert(seq, now_us, body);
      outcome.records.push_back({seq, loss_topic, std::move(body)});
    }

    // Record cap: drop the oldest (held rows first, then the batch's own
    // earliest results, which are never written) down to 1% below the cap,
    // so a full outbox writes one loss record per 1% instead of per batch.
    const std::uint64_t held = size();
    const std::uint64_t total = held + results.size();
    std::uint64_t drop_held = 0;
    std::uint64_t drop_batch = 0;
    if (total > options_.max_records) {
      const std::uint64_t keep =
          std::max<std::uint64_t>(1, options_.max_records - options_.max_records / 100);
      const std::uint64_t drop = total + 1 - keep;
      drop_held = std::min(drop, held);
      drop_batch = drop - drop_held;
    }
    const std::uint64_t drop_from = first_seq_;
    if (drop_held > 0) {
      const std::uint64_t through = first_seq_ + drop_held - 1;
      // A loss record among the dropped rows no longer reaches the manager.
      outcome.records.erase(
          std::remove_if(outcome.records.begin(), outcome.records.end(),
                         [through](const OutboxRecord& record) { return record.seq <= through; }),
          outcome.records.end());
      drop_through(through);
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      const std::uint64_t seq = ++last_seq_;
      if (i < drop_batch) continue;
      const protocol::RecordKey key{monitor_name_, monitor_id, epoch_, seq};
      std::string body = protocol::encode_result_record(key, results[i]);
      if (body.size() > kMaxBodyBytes) {
        CheckResult trimmed = results[i];
        trimmed.details = nlohmann::json{{"truncated", "details over 256 KiB were dropped"}};
        body = protocol::encode_result_record(key, trimmed);
      }
      insert(seq, now_us, body);
      outcome.records.push_back(
          {seq, protocol::result_topic(monitor_name_, results[i].check_id), std::move(body)});
    }
    if (drop_held + drop_batch > 0) {
      const std::uint64_t to = drop_from + drop_held + drop_batch - 1;
      outcome.dropped += drop_held + drop_batch;
      const std::uint64_t seq = ++last_seq_;
      // Every held row went, and the batch's dropped results were never written.
      if (drop_batch > 0) first_seq_ = to + 1;
      std::string body = encode_loss(seq, monitor_id, to, drop_held + drop_batch, "outbox_full");
      insert(seq, now_us, body);
      outcome.records.push_back({seq, loss_topic, std::move(body)});
    }
    if (last_seq_ != last_before) save_last_seq_.bind(1, as_int(last_seq_)).bind(2, now_us).run();
    transaction.commit();
  } catch (...) {
    first_seq_ = first_before;
    last_seq_ = last_before;
    throw;
  }
  return outcome;
}

AppendOutcome ResultOutbox::append_loss(std::uint64_t count, std::uint64_t monitor_id,
                                        const char* reason) {
  AppendOutcome outcome;
  if (count == 0) return outcome;
  const std::int64_t now_us = clock_us();
  const std::uint64_t from = last_seq_ + 1;
  const std::uint64_t seq = last_seq_ + count + 1;
  protocol::Record loss{{monitor_name_, monitor_id, epoch_, seq},
                        protocol::LossRange{from, seq - 1, count, reason}};
  std::string body = protocol::encode_record(loss);
  sqlite::Transaction transaction(db_);
  insert(seq, now_us, body);
  save_last_seq_.bind(1, as_int(seq)).bind(2, now_us).run();
  transaction.commit();
  // Nothing before this record is held when the outbox was empty.
  if (first_seq_ == last_seq_ + 1) first_seq_ = seq;
  last_seq_ = seq;
  outcome.records.push_back({seq, protocol::loss_topic(monitor_name_), std::move(body)});
  return outcome;
}

bool ResultOutbox::checkpoint() {
  try {
    db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return true;
  } catch (const sqlite::SqliteError&) {
    return false;
  }
}

ReadOutcome ResultOutbox::read(std::uint64_t from_seq, std::size_t max_records,
                               std::size_t max_bytes, std::uint64_t monitor_id) {
  ReadOutcome outcome;
  std::size_t bytes = 0;
  read_from_.bind(1, as_int(std::max(from_seq, first_seq_))).bind(2, as_int(max_records));
  while (read_from_.step()) {
    const auto seq = static_cast<std::uint64_t>(read_from_.column_int64(0));
    const std::string_view body = read_from_.column_blob(1);
    const std::optional<std::int64_t> crc =
        read_from_.column_is_null(2) ? std::nullopt
                                     : std::optional<std::int64_t>(read_from_.column_int64(2));
    if (!intact(seq, body, crc)) {
      outcome.damaged.push_back(seq);
      continue;
    }
    if (!outcome.records.empty() && bytes + body.size() > max_bytes) break;
    bytes += body.size();
    outcome.records.push_back({seq, std::string(), std::string(body)});
  }
  read_from_.reset();
  if (outcome.damaged.empty()) return outcome;
  try {
    outcome.loss = remove_damaged(outcome.damaged, monitor_id);
  } catch (const sqlite::SqliteError& e) {
    if (e.corrupt()) throw;
    outcome.damaged.clear();  // left out of this read; the next one tries again
  }
  return outcome;
}

std::uint64_t ResultOutbox::trim(std::uint64_t acked_seq) {
  const std::uint64_t through = std::min(acked_seq, last_seq_);
  if (through <= acked_through_) return 0;
  const std::uint64_t removed = through >= first_seq_ ? through - first_seq_ + 1 : 0;
  const std::uint64_t first_before = first_seq_;
  sqlite::Transaction transaction(db_);
  try {
    if (removed > 0) drop_through(through);
    save_acked_through_.bind(1, as_int(through)).run();
    transaction.commit();
  } catch (...) {
    first_seq_ = first_before;
    throw;
  }
  acked_through_ = through;
  return removed;
}

void ResultOutbox::skip_to(std::uint64_t seq) {
  if (seq <= last_seq_) return;
  sqlite::Transaction transaction(db_);
  save_last_seq_.bind(1, as_int(seq)).bind(2, clock_us()).run();
  transaction.commit();
  last_seq_ = seq;
  (void)trim(seq);
}

}  // namespace netmon::agent
