#pragma once
// The monitor's durable outbox (PROTOCOL.md §8): DIR/outbox.db, SQLite in WAL
// mode. Every record (a result or a loss record) gets the next gap-free seq of
// the outbox's epoch and is committed before anyone publishes it; rows go
// only on the manager's cumulative ACK or at the cap, and a cap drop always
// leaves a LOSS record behind. Bodies are stored encoded, so the bus and
// REPLAY carry exactly the committed bytes, each with a CRC-32 of its seq
// and body: a row damaged on disk is never sent, it is deleted and covered
// by a LOSS record. Owned by one thread.
//
// Ages (--outbox-max-age) are kept on the outbox clock: microseconds the
// outbox has been open, summed over runs and persisted with every append. It
// moves with the monotonic clock while the monitor runs and stands still
// while it is stopped, so no wall-clock step, forward or back, ages a
// record, and a restart never makes one older than the time it has waited
// in a running monitor. (An outbox written before the outbox clock existed
// keeps its rows' wall-clock stamps as their places on it.)

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_result.hpp"
#include "common/monotonic_clock.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::agent {

struct OutboxOptions {
  std::uint64_t max_records = 1'000'000;
  std::chrono::seconds max_age = std::chrono::hours(24 * 7);
  sqlite::Synchronous synchronous = sqlite::Synchronous::kFull;
  const MonotonicClock* clock = &SteadyClock::instance();  // drives the outbox clock
};

struct OutboxRecord {
  std::uint64_t seq = 0;
  std::string topic;  // res/<name>/<check>; filled by append() only
  std::string body;   // protocol::encode_record bytes
};

struct AppendOutcome {
  std::vector<OutboxRecord> records;  // committed and still held: publish these, ascending seq
  std::uint64_t dropped = 0;          // records the cap removed in this transaction
};

struct ReadOutcome {
  std::vector<OutboxRecord> records;  // intact rows, ascending seq
  // Rows whose checksum failed (bytes damaged on disk): deleted, and `loss`
  // holds the committed LOSS record (reason outbox_corrupt) that covers
  // them. Publish it like an append's records.
  std::vector<std::uint64_t> damaged;
  AppendOutcome loss;
};

class ResultOutbox {
 public:
  static constexpr const char* kFileName = "outbox.db";
  // A larger body has its details replaced by a note, so any record fits in
  // a REPLAY message and through the broker's 1 MiB limit.
  static constexpr std::size_t kMaxBodyBytes = 256 * 1024;
  static constexpr const char* kCorruptReason = "outbox_corrupt";

  // Opens or creates DIR/outbox.db; a new file gets a new random epoch. A
  // corrupt file (PRAGMA quick_check, an unreadable header, bookkeeping that
  // contradicts itself) is renamed aside, with its -wal and -shm, to
  // outbox.db.corrupt-<UTC time> and a new one with a new epoch begins:
  // set_aside() names it. Throws sqlite::SqliteError when the file cannot be
  // opened or written, std::filesystem::filesystem_error when a corrupt one
  // cannot be renamed.
  ResultOutbox(const std::filesystem::path& dir, std::string monitor_name, OutboxOptions options);

  // Commits the whole batch in one transaction (group commit), applying the
  // age and record caps first.
  AppendOutcome append(std::span<const CheckResult> results, std::uint64_t monitor_id);

  // `count` results were lost before they could be written (shed from
  // memory while commits failed): gives them the next seqs, which stay
  // empty, and commits one LOSS record (`reason`) covering exactly them.
  AppendOutcome append_loss(std::uint64_t count, std::uint64_t monitor_id, const char* reason);

  // Copies the WAL into the database file and truncates it, so a WAL that
  // filled the disk gives its space back; false when it cannot now.
  bool checkpoint();

  // Records from `from_seq` on, ascending: at most `max_records` rows, and
  // at most `max_bytes` of bodies (always at least one record if any). A
  // damaged row is left out, deleted and covered by a new LOSS record of
  // `monitor_id` in the same call; if that cannot be committed now (a full
  // disk), the row stays and the next read tries again.
  ReadOutcome read(std::uint64_t from_seq, std::size_t max_records, std::size_t max_bytes,
                   std::uint64_t monitor_id = 0);

  // The manager stored everything through acked_seq: deletes those records
  // (returns how many went) and starts later loss ranges after it.
  std::uint64_t trim(std::uint64_t acked_seq);

  // The manager already holds seqs of this epoch up to `seq`, beyond
  // last_seq(): commits lost after it stored them (--sync normal and a power
  // loss, or a data dir restored from a backup). Continues after `seq`, so a
  // new record never reuses a seq the manager would take for a duplicate.
  void skip_to(std::uint64_t seq);

  const std::string& epoch() const { return epoch_; }
  // Oldest seq held; last_seq() + 1 when empty.
  std::uint64_t first_seq() const { return first_seq_; }
  // Newest seq ever assigned in this epoch, 0 if none.
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t size() const { return last_seq_ + 1 - first_seq_; }
  const std::filesystem::path& path() const { return db_.path(); }
  // The corrupt outbox this open renamed aside (empty if none), and why.
  const std::filesystem::path& set_aside() const { return set_aside_; }
  const std::string& corruption() const { return corruption_; }

 private:
  void open(const std::filesystem::path& file);
  void close();
  // Now on the outbox clock.
  std::int64_t clock_us() const;
  std::int64_t created_us(std::uint64_t seq);
  void drop_through(std::uint64_t seq);
  std::string encode_loss(std::uint64_t seq, std::uint64_t monitor_id, std::uint64_t to,
                          std::uint64_t count, const char* reason) const;
  void insert(std::uint64_t seq, std::int64_t created, const std::string& body);
  // Whether a row read back is what was written: its checksum, or, for a
  // row from before checksums, a body that decodes to this outbox's key.
  bool intact(std::uint64_t seq, std::string_view body, std::optional<std::int64_t> crc) const;
  AppendOutcome remove_damaged(const std::vector<std::uint64_t>& seqs, std::uint64_t monitor_id);

  std::string monitor_name_;
  OutboxOptions options_;
  sqlite::Database db_;
  sqlite::Statement insert_;
  sqlite::Statement delete_through_;
  sqlite::Statement delete_one_;
  sqlite::Statement read_from_;
  sqlite::Statement created_at_;
  sqlite::Statement save_last_seq_;
  sqlite::Statement save_acked_through_;
  std::string epoch_;
  std::uint64_t first_seq_ = 1;
  std::uint64_t last_seq_ = 0;
  std::uint64_t acked_through_ = 0;    // highest seq trim() was given: the manager has it
  std::int64_t clock_at_open_us_ = 0;  // the outbox clock when this run opened it
  MonotonicClock::TimePoint opened_at_{};
  std::filesystem::path set_aside_;
  std::string corruption_;
};

}  // namespace netmon::agent
