#include "monitor/agent/monitor_state.hpp"

#include "common/protocol/codec.hpp"
#include "monitor/agent/random_id.hpp"

namespace netmon::agent {
namespace {

constexpr std::size_t kInstanceBytes = 16;

}  // namespace

MonitorState::MonitorState(const std::filesystem::path& dir, sqlite::Synchronous synchronous)
    : db_(dir / kFileName, sqlite::OpenOptions{.synchronous = synchronous}) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS monitor_state ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " instance TEXT NOT NULL,"
      " monitor_id INTEGER NOT NULL,"
      " config BLOB)");
  db_.exec(
      "CREATE TABLE IF NOT EXISTS outbox_mark ("
      " id INTEGER PRIMARY KEY CHECK (id = 1),"
      " epoch TEXT NOT NULL,"
      " last_seq INTEGER NOT NULL)");
  sqlite::Transaction transaction(db_);
  auto mark = db_.prepare("SELECT epoch, last_seq FROM outbox_mark WHERE id = 1");
  if (mark.step() && mark.column_int64(1) >= 0) {
    outbox_mark_ = OutboxMark{std::string(mark.column_text(0)),
                              static_cast<std::uint64_t>(mark.column_int64(1))};
  }
  mark.reset();
  auto row = db_.prepare("SELECT instance, monitor_id, config FROM monitor_state WHERE id = 1");
  if (row.step()) {
    instance_ = std::string(row.column_text(0));
    monitor_id_ = static_cast<std::uint64_t>(row.column_int64(1));
    if (!row.column_is_null(2)) {
      // Rows read back are untrusted input like any other.
      auto decoded = protocol::decode_control(row.column_blob(2));
      if (decoded && std::holds_alternative<protocol::Config>(*decoded)) {
        config_ = std::get<protocol::Config>(std::move(decoded).value());
      } else {
        config_error_ = decoded ? "stored config is not a CONFIG message"
                                : "stored config does not decode: " + decoded.error().message;
      }
    }
    row.reset();
  } else {
    row.reset();
    instance_ = random_hex(kInstanceBytes);
    db_.prepare("INSERT INTO monitor_state (id, instance, monitor_id) VALUES (1, ?, 0)")
        .bind(1, instance_)
        .run();
  }
  transaction.commit();
}

void MonitorState::save_outbox_mark(const std::string& epoch, std::uint64_t last_seq) {
  db_.prepare("INSERT OR REPLACE INTO outbox_mark (id, epoch, last_seq) VALUES (1, ?, ?)")
      .bind(1, epoch)
      .bind(2, static_cast<std::int64_t>(last_seq))
      .run();
  outbox_mark_ = OutboxMark{epoch, last_seq};
}

void MonitorState::save_monitor_id(std::uint64_t monitor_id) {
  if (monitor_id == monitor_id_) return;
  db_.prepare("UPDATE monitor_state SET monitor_id = ? WHERE id = 1")
      .bind(1, static_cast<std::int64_t>(monitor_id))
      .run();
  monitor_id_ = monitor_id;
}

void MonitorState::save_config(const protocol::Config& config) {
  db_.prepare("UPDATE monitor_state SET config = ? WHERE id = 1")
      .bind_blob(1, protocol::encode(config))
      .run();
  config_ = config;
}

}  // namespace netmon::agent
