#pragma once
// A thin RAII layer over SQLite for the monitor's outbox and the manager's
// store: one Database per owner thread, prepared Statements, and a
// Transaction that rolls back unless committed. Errors throw SqliteError
// (disk full, corruption, misuse): the layers above catch at their boundary.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace netmon::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  // SQLITE_CORRUPT or SQLITE_NOTADB: the file itself is damaged.
  bool corrupt() const;

 private:
  int code_;
};

enum class Synchronous { kFull, kNormal, kOff };

// Creates `dir` (and any missing parents) for database files, or tightens an
// existing one: owner only (0700); a wider mode found is logged. Throws
// std::filesystem::filesystem_error.
void create_private_directory(const std::filesystem::path& dir);

struct OpenOptions {
  bool read_only = false;
  // WAL lets readers (export) work while the owner writes.
  bool wal = true;
  Synchronous synchronous = Synchronous::kFull;
  // How long a statement waits for another connection's lock.
  int busy_timeout_ms = 5000;
  // Checkpoints (copying the WAL into the database file, then an fsync of
  // that file) run on a thread of their own, with a connection of their own,
  // instead of inside the commit that fills the WAL: on a saturated disk
  // that fsync takes seconds, and the owner's loop must keep answering
  // heartbeats meanwhile. Only a WAL of max_wal_frames pages makes a commit
  // wait for a checkpoint (a disk slower than the writes, for long): the WAL
  // stays bounded (128 MiB at 4 KiB pages). Needs wal and not read_only.
  bool background_checkpoints = false;
  int max_wal_frames = 32768;
};

class Checkpointer;

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text and blobs are copied.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // True while a row is available; false when done.
  bool step();
  // step() for statements that return no rows; then reset().
  void run();
  void reset();

  // Columns are 0-based. Views stay valid until the next step/reset.
  std::int64_t column_int64(int column) const;
  std::string_view column_text(int column) const;
  std::string_view column_blob(int column) const;
  bool column_is_null(int column) const;

 private:
  void check(int rc, const char* what) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  Database();  // none open (to close one: assign a default Database)
  // Creates the file if needed (unless read_only) and applies the options.
  // Unless read_only, the file, its -wal and its -shm are made 0600 (a wider
  // mode found is tightened and logged).
  Database(const std::filesystem::path& path, const OpenOptions& options);
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  int changes() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void close() noexcept;

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::unique_ptr<Checkpointer> checkpointer_;  // with background_checkpoints
};

// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless commit()
// ran. Immediate: a writer takes the lock up front instead of failing later.
class Transaction {
 public:
  explicit Transaction(Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace netmon::sqlite
