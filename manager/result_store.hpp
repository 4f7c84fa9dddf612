#pragma once
// The manager's SQLite store, DIR/netmon.db (WAL): monitors (ids kept
// forever), versioned configs per monitor name, every stored record and the
// state-change events. Owned by the manager's loop thread; export opens the
// file separately, read-only.
//
// `records` has UNIQUE(monitor_id, epoch, seq): inserts are idempotent (ON
// CONFLICT DO NOTHING on that key only), so a replayed record is stored once;
// a different body under a stored key is a conflict, and the first one stays.
// LOSS records live in the same table (check "_loss", status "loss", details
// {from_seq, to_seq, count, reason}), so the seqs of an epoch are 1..N
// without holes. A result's phase timings are the column `timings`, the
// JSON object netmon-probe prints as "timings" ('{}' in loss rows and in
// rows stored before the column existed: opening an older store adds it).
// `stored_us` is the wall clock when the batch's transaction starts; its
// COMMIT follows after the batch's inserts and one fsync, so stored_us is
// early by those.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "common/protocol/messages.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::manager {

inline constexpr std::string_view kStoreFileName = "netmon.db";
inline constexpr std::string_view kLossCheckId = "_loss";
// How far back a search for a check's newest rows reads (newest_results, and
// the console's last results): a configured check without any result would
// otherwise make it read the whole store, about 0.35 s of CPU per million
// records, at every manager start. At 1,000 results/s this is the last half
// hour; a check silent for longer is stale and starts UNKNOWN.
inline constexpr std::size_t kNewestRowsRead = 2'000'000;

struct StoredConfig {
  std::uint64_t version = 0;
  std::vector<CheckSpec> checks;
};

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  bool operator==(const SeqRange&) const = default;
};

// A stored LOSS record (its own seq) and the seqs it really lost: its range
// less what was stored anyway (details "lost", written by set_lost_ranges).
struct StoredLoss {
  std::uint64_t loss_seq = 0;
  std::vector<SeqRange> lost;
};

// What is stored of one (monitor, epoch): the highest seq up to which every
// seq is stored, the stored seqs beyond it (ascending), and the losses.
struct EpochProgress {
  std::uint64_t contiguous = 0;
  std::vector<std::uint64_t> above;
  std::vector<StoredLoss> losses;
};

enum class InsertOutcome { kInserted, kDuplicate, kConflict };

// One stored result as check states see it.
struct StoredStatus {
  std::string epoch;
  std::uint64_t seq = 0;
  netmon::CheckStatus status = netmon::CheckStatus::kError;
  bool operator==(const StoredStatus&) const = default;
};

// Whether `table` of `db` has the column `column` (an older store may lack
// one that this netmon writes).
bool has_column(sqlite::Database& db, std::string_view table, std::string_view column);

class ResultStore {
 public:
  // Creates DIR and the schema if needed. Throws sqlite::SqliteError or
  // std::filesystem::filesystem_error.
  ResultStore(const std::filesystem::path& data_dir, sqlite::Synchronous synchronous);

  static std::filesystem::path file_in(const std::filesystem::path& data_dir);

  // Monitors: an id is assigned on the first registration of a name and kept.
  std::optional<std::uint64_t> monitor_id(std::string_view name);
  std::uint64_t register_monitor(std::string_view name, std::string_view instance);
  std::map<std::string, std::uint64_t> monitor_ids();

  // Configs: save_config stores a new version (latest + 1) only when the
  // check list differs from the latest; returns the current version.
  std::optional<StoredConfig> latest_config(std::string_view name);
  std::uint64_t save_config(std::string_view name, const std::vector<CheckSpec>& checks);

  EpochProgress epoch_progress(std::uint64_t monitor_id, std::string_view epoch);

  // For each wanted check (monitor id -> check id -> how many): its newest
  // results, oldest first, in the order they were stored (the order the loop
  // applied them to check states in). Rows that are not a result (a status
  // that is none, an epoch or seq of another type) are passed over, not
  // counted. One pass backwards over the newest `max_rows` records, ending
  // early when every check has its count. No index serves it: one on the
  // check would make every insert dearer (see tests/bench/store_bench.cpp).
  std::map<std::uint64_t, std::map<std::string, std::vector<StoredStatus>, std::less<>>>
  newest_results(
      const std::map<std::uint64_t, std::map<std::string, std::size_t, std::less<>>>& wanted,
      std::size_t max_rows = kNewestRowsRead);

  // One batch = one transaction: insert()/add_event()/set_lost_ranges() while
  // the returned transaction lives, then its commit(). Destroyed uncommitted
  // (an error, an exception), it rolls the batch back.
  [[nodiscard]] sqlite::Transaction transaction() { return sqlite::Transaction(db_); }
  // kInserted when stored. When the key (monitor, epoch, seq) is already
  // there the stored row stays: kDuplicate when it holds the same body (a
  // replay), kConflict when the body (timings included) differs. Text that
  // is not valid UTF-8 (columns and details) is stored escaped as \xNN, never
  // thrown about; the key's epoch is stored as given, since the other calls
  // look it up by it.
  InsertOutcome insert(std::uint64_t monitor_id, const protocol::Record& record,
                       std::int64_t stored_us);
  void add_event(const protocol::Event& event);
  // Records in the loss row `loss_seq` which of its seqs are really lost
  // (details "lost": [[from, to], ...] and "lost_count"): the manager
  // reconciles a reported loss with what arrived.
  void set_lost_ranges(std::uint64_t monitor_id, std::string_view epoch, std::uint64_t loss_seq,
                       const std::vector<SeqRange>& lost);

 private:
  sqlite::Database db_;
  sqlite::Statement insert_record_;
  sqlite::Statement select_body_;
  sqlite::Statement insert_event_;
};

}  // namespace netmon::manager
