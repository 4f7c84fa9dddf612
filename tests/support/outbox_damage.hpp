#pragma once
// Bytes damaged on disk inside an outbox row (PROTOCOL.md §8), made with SQL
// rather than at random, so a test hits exactly one body: the file stays
// structurally sound and PRAGMA quick_check still passes.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/sqlite_db.hpp"

namespace netmon::testing {

// Rewrites the body of row `seq` in the outbox `file` (no monitor has it
// open) with what `damage` makes of it; the row's checksum stays as it was.
template <class Damage>
void damage_outbox_row(const std::filesystem::path& file, std::uint64_t seq, Damage damage) {
  sqlite::Database db(file, {});
  auto read = db.prepare("SELECT body FROM records WHERE seq = ?");
  read.bind(1, static_cast<std::int64_t>(seq));
  if (!read.step()) throw std::runtime_error("no outbox row " + std::to_string(seq));
  const std::string body = damage(std::string(read.column_blob(0)));
  read.reset();
  db.prepare("UPDATE records SET body = ? WHERE seq = ?")
      .bind_blob(1, body)
      .bind(2, static_cast<std::int64_t>(seq))
      .run();
}

// The first half of `body`: no longer a msgpack record.
inline std::string truncated(std::string body) {
  body.resize(body.size() / 2);
  return body;
}

// `body` with the last character of the first `text` in it changed: still a
// well-formed record, with wrong content.
inline std::string last_character_changed(std::string body, std::string_view text) {
  const std::size_t at = body.find(text);
  if (at == std::string::npos) throw std::runtime_error("no '" + std::string(text) + "' in body");
  body[at + text.size() - 1] ^= 1;
  return body;
}

}  // namespace netmon::testing
