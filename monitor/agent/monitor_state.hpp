#pragma once
// What a monitor remembers across restarts besides its outbox (DIR/monitor.db):
// its instance id, the monitor id the manager assigned, and the last config it
// accepted, so it resumes checking even while the manager is away. Kept apart
// from outbox.db so that re-creating the outbox (a new epoch) keeps identity
// and config. Owned by one thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/protocol/messages.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::agent {

class MonitorState {
 public:
  static constexpr const char* kFileName = "monitor.db";

  // Opens or creates DIR/monitor.db; a new file gets a new random instance
  // id. Throws sqlite::SqliteError when the file cannot be opened or written.
  // A stored config that no longer decodes is reported by config_error().
  MonitorState(const std::filesystem::path& dir, sqlite::Synchronous synchronous);

  const std::string& instance() const { return instance_; }
  std::uint64_t monitor_id() const { return monitor_id_; }
  // Version 0 with no checks until a config was saved.
  const protocol::Config& config() const { return config_; }
  // Non-empty when the stored config could not be read back (then config() is empty).
  const std::string& config_error() const { return config_error_; }

  // The outbox's epoch and newest seq at the last clean stop: if that outbox
  // is later found corrupt and set aside, the manager learns (HELLO's
  // ended_epoch) which seqs went with it.
  struct OutboxMark {
    std::string epoch;
    std::uint64_t last_seq = 0;
  };
  std::optional<OutboxMark> outbox_mark() const { return outbox_mark_; }
  void save_outbox_mark(const std::string& epoch, std::uint64_t last_seq);

  void save_monitor_id(std::uint64_t monitor_id);
  // Durable when it returns: the caller acknowledges the config only afterwards.
  void save_config(const protocol::Config& config);

 private:
  sqlite::Database db_;
  std::string instance_;
  std::uint64_t monitor_id_ = 0;
  protocol::Config config_;
  std::string config_error_;
  std::optional<OutboxMark> outbox_mark_;
};

}  // namespace netmon::agent
