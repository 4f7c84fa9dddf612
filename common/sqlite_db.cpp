#include "common/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "common/logging.hpp"

namespace netmon::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string text(what);
  text += ": ";
  text += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw SqliteError(text, rc);
}

const char* synchronous_name(Synchronous mode) {
  switch (mode) {
    case Synchronous::kFull:
      return "FULL";
    case Synchronous::kNormal:
      return "NORMAL";
    case Synchronous::kOff:
      return "OFF";
  }
  return "FULL";
}

constexpr mode_t kPrivateFile = 0600;
constexpr mode_t kPrivateDirectory = 0700;

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Tightens `path` to `wanted` if group or others have any access; returns
// what changed, or why it could not ("" when nothing was to do). A file it
// cannot change (another owner's) still opens: the warning says so.
std::string tighten(const std::filesystem::path& path, mode_t wanted) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || (info.st_mode & 077) == 0) return {};
  const std::string what = path.filename().string() + " " + octal(info.st_mode);
  if (::chmod(path.c_str(), wanted) != 0) {
    return what + " (cannot chmod: " + std::strerror(errno) + ")";
  }
  return what + "->" + octal(wanted);
}

// The database file is made before SQLite opens it, so SQLite (which gives a
// new -wal and -shm the database file's mode) never creates anything wider.
void make_private_files(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kPrivateFile);
  if (fd >= 0) ::close(fd);  // an open failure is SQLite's to report, with its own words
  std::string changed;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string one = tighten(path.string() + suffix, kPrivateFile);
    if (!one.empty()) changed += (changed.empty() ? "" : ", ") + one;
  }
  if (!changed.empty()) {
    component_logger("store")->warn("database files were open to others; tightened: {}", changed);
  }
}

}  // namespace

// Woken by a commit that leaves kWakeFrames or more in the WAL (SQLite's own
// autocheckpoint threshold), and every kIdleInterval anyway, so the WAL is
// also copied once writes stop. PASSIVE waits for no reader or writer and
// blocks none. A pass that fails (a full disk) is tried again at the next
// wakeup; a damaged file is the writer's to find.
class Checkpointer {
 public:
  static constexpr int kWakeFrames = 1000;
  static constexpr std::chrono::seconds kIdleInterval{1};

  Checkpointer(const std::filesystem::path& path, int max_wal_frames)
      : max_wal_frames_(max_wal_frames) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string text = "open " + path.string() + " for checkpoints: " +
                         (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      throw SqliteError(text, rc);
    }
    // Its close neither checkpoints nor deletes the WAL: the writer's does.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    thread_ = std::thread([this] { run(); });
  }

  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close(db_);
  }

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The writer's WAL hook: a commit left `frames` in the WAL.
  static int committed(void* self, sqlite3* writer, const char* schema, int frames) {
    auto& checkpointer = *static_cast<Checkpointer*>(self);
    if (frames >= checkpointer.max_wal_frames_) {
      // The passes cannot keep up: wait for the one running, then copy the
      // rest with the writer's connection, so its next transaction restarts
      // the WAL from the beginning.
      std::lock_guard pass(checkpointer.pass_mutex_);
      (void)sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (frames >= kWakeFrames) {
      {
        std::lock_guard lock(checkpointer.mutex_);
        checkpointer.due_ = true;
      }
      checkpointer.wake_.notify_one();
    }
    return SQLITE_OK;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait_for(lock, kIdleInterval, [this] { return stop_ || due_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      {
        std::lock_guard pass(pass_mutex_);
        // A connection learns that the file is in WAL mode only by reading
        // it; until then a checkpoint does nothing.
        (void)sqlite3_exec(db_, "PRAGMA schema_version", nullptr, nullptr, nullptr);
        (void)sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  const int max_wal_frames_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;       // guards stop_ and due_
  std::mutex pass_mutex_;  // held for a checkpoint pass, by either connection
  std::condition_variable wake_;
  bool stop_ = false;
  bool due_ = false;
  std::thread thread_;
};

bool SqliteError::corrupt() const {
  const int primary = code_ & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

void create_private_directory(const std::filesystem::path& dir) {
  if (std::filesystem::create_directories(dir)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    return;
  }
  if (const std::string changed = tighten(dir, kPrivateDirectory); !changed.empty()) {
    component_logger("store")->warn("data dir {} was open to others; tightened: {}", dir.string(),
                                    changed);
  }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "prepare '" + std::string(sql) + "'");
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::check(int rc, const char* what) const {
  if (rc != SQLITE_OK) fail(db_, rc, what);
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(stmt_, index, value), "bind integer");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  check(
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
      "bind text");
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  check(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                          SQLITE_TRANSIENT),
        "bind blob");
  return *this;
}

Statement& Statement::bind_null(int index) {
  check(sqlite3_bind_null(stmt_, index), "bind null");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  fail(db_, rc, "step '" + sql + "'");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string_view Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Statement::column_blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return {static_cast<const char*>(blob),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Database::Database(const std::filesystem::path& path, const OpenOptions& options) : path_(path) {
  if (!options.read_only) make_private_files(path);
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string text = "open " + path.string() + ": " +
                       (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(text, rc);
  }
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  // A constructor that throws runs no destructor: close the handle here (a
  // file that is not a database fails at the first statement, not at open).
  try {
    if (!options.read_only) {
      if (options.wal) exec("PRAGMA journal_mode=WAL");
      exec(std::string("PRAGMA synchronous=") + synchronous_name(options.synchronous));
      if (options.wal && options.background_checkpoints) {
        checkpointer_ = std::make_unique<Checkpointer>(path, options.max_wal_frames);
        // Replaces SQLite's automatic checkpoint, which runs inside the commit.
        sqlite3_wal_hook(db_, &Checkpointer::committed, checkpointer_.get());
      }
    }
  } catch (...) {
    // No checkpoint on this close: a damaged file and its -wal stay exactly
    // as found (the caller may set them aside for a post-mortem).
    checkpointer_.reset();
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::Database() = default;

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      checkpointer_(std::move(other.checkpointer_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    checkpointer_ = std::move(other.checkpointer_);
  }
  return *this;
}

Database::~Database() {
  close();
}

// The checkpointer stops first, so the writer's close is the last one, as
// without it (the close that checkpoints and removes the WAL).
void Database::close() noexcept {
  checkpointer_.reset();
  sqlite3_close(db_);
  db_ = nullptr;
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what =
        "exec '" + text + "': " + (message != nullptr ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    throw SqliteError(what, rc);
  }
}

Statement Database::prepare(std::string_view sql) {
  return Statement(db_, sql);
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Database::changes() const {
  return sqlite3_changes(db_);
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const SqliteError&) {
      // The transaction is already gone (SQLite rolls back on some errors).
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace netmon::sqlite
