#pragma once
// `netmon-manager export`: prints stored records from DIR/netmon.db, opened
// read-only, so it works while the manager runs (WAL) and while it does not.
// Ordered by monitor name, epoch, seq (records whose monitor_id has no
// monitors row last, with monitor null). jsonl: one object per line with the
// keys monitor, epoch, seq, check, type, target, ts, status, reason,
// latency_ms, details; json: one array of the same objects.
//
// Rows read back are hostile input (a bad disk, an older netmon, another
// program or a hand edit may have written them): every row is printed, as
// valid JSON, and a row that is not what the schema says also carries the
// key "damaged", one "column: what was wrong" string per repair.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::manager {

enum class ExportFormat { kJsonl, kJson };

struct ExportOptions {
  std::filesystem::path data_dir;
  // Only records whose ts is at or after this.
  std::optional<std::chrono::system_clock::time_point> since;
  ExportFormat format = ExportFormat::kJsonl;
};

// RFC 3339 ("2026-11-21T08:00:00Z", fraction and +hh:mm offset allowed) or a
// duration back from `now` ("90s", "15m", "1h", "2d").
Expected<std::chrono::system_clock::time_point> parse_since(
    std::string_view text, std::chrono::system_clock::time_point now);

Expected<ExportFormat> parse_export_format(std::string_view text);

// One column of a stored row as SQLite returned it.
struct StoredValue {
  enum class Kind { kNull, kInteger, kReal, kText, kBlob };
  Kind kind = Kind::kNull;
  std::int64_t integer = 0;  // kInteger
  double real = 0.0;         // kReal
  std::string bytes;         // kText, kBlob: as stored, not necessarily UTF-8
};

// The columns export reads of one record, with its monitor's name (NULL
// when the record's monitor_id has no row in `monitors`).
struct StoredRow {
  StoredValue monitor, epoch, seq, check, type, target, ts_us, status, reason, latency_us, details;
};

// The exported object of one row; never throws, and every string in it is
// valid UTF-8. Repairs, each named in "damaged" by the exported key: text
// that is not valid UTF-8 and blobs in text columns are printed with every
// invalid byte as \xNN; a NULL, or an integer column that holds no integer,
// is null; a seq below 1 is kept; a ts before 1970 or beyond the clock's
// range is null; details that are not JSON (or nest deeper than 64) are
// printed as their text, a string.
nlohmann::json row_to_json(const StoredRow& row) noexcept;

struct ExportCounts {
  std::uint64_t records = 0;
  std::uint64_t damaged = 0;  // records printed with the key "damaged"
};

// Writes the records. An error (no store, unreadable file, a read failing
// midway) is returned after closing what was written, so the output so far
// stays valid JSON.
Expected<ExportCounts> export_records(const ExportOptions& options, std::ostream& out);

}  // namespace netmon::manager
