#pragma once
// Writes DIR/outbox.db as a monitor from before the outbox clock did: rows
// stamped with the wall clock, which a forward wall-clock step makes look old.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/sqlite_db.hpp"

namespace netmon::testing {

// Rows 1..count of epoch `epoch`, row n stamped `age_of(n)` before the wall clock's now.
template <class AgeOf>
void write_pre_clock_outbox(const std::filesystem::path& file, const std::string& epoch,
                            std::int64_t count, AgeOf age_of) {
  sqlite::Database db(file, {});
  db.exec(
      "CREATE TABLE outbox_meta (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL,"
      " last_seq INTEGER NOT NULL, acked_through INTEGER NOT NULL DEFAULT 0,"
      " created_us INTEGER NOT NULL);"
      "CREATE TABLE records (seq INTEGER PRIMARY KEY, created_us INTEGER NOT NULL,"
      " body BLOB NOT NULL);");
  db.prepare("INSERT INTO outbox_meta VALUES (1, ?, ?, 0, 0)").bind(1, epoch).bind(2, count).run();
  auto insert = db.prepare("INSERT INTO records VALUES (?, ?, x'00')");
  for (std::int64_t seq = 1; seq <= count; ++seq) {
    const auto stamp = std::chrono::system_clock::now() - age_of(seq);
    insert.bind(1, seq)
        .bind(
            2,
            std::chrono::duration_cast<std::chrono::microseconds>(stamp.time_since_epoch()).count())
        .run();
  }
}

}  // namespace netmon::testing
