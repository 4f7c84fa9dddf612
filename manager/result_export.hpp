#pragma once
// `netmon-manager export` (and the manager's ctl `export FILE`): prints stored
// records from DIR/netmon.db, opened read-only, so it works while the manager
// runs (WAL) and while it does not. Ordered by monitor name, epoch, seq
// (records whose monitor_id has no monitors row last, with monitor null).
// Each record has the keys monitor, epoch, seq, check, type, target,
// timestamp, status, reason, error, latency_ms, timings, details (timestamp
// and timings, as in netmon-probe's and netmon-logger's output: timings is
// {resolve_ms, connect_ms, tls_ms, first_byte_ms, total_ms} with the phases
// reached, {} for a loss and for a row stored before the store kept them).
// jsonl: one object per line; json: one array of the same objects; csv:
// RFC 4180, a header row of those keys (and damaged), timings, details and
// damaged as JSON text, null as an empty field.
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
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::manager {

enum class ExportFormat { kJsonl, kJson, kCsv };

struct ExportOptions {
  std::filesystem::path data_dir;
  // Only records whose timestamp is at or after `since` and before `until`
  // (so consecutive ranges do not overlap). A row whose time cannot be read
  // is never excluded by them.
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<std::chrono::system_clock::time_point> until;
  std::string monitor;  // only this monitor's records; empty: every monitor
  // Only this check id's records (of every monitor unless `monitor`), and
  // every loss record (check "_loss") of the monitors exported: a loss may
  // hide any check's results. Empty: every check.
  std::string check;
  ExportFormat format = ExportFormat::kJsonl;
};

// The export flags as typed, before they are checked: what the command line
// binds and parse_export_flags fills.
struct ExportFlags {
  std::string since, until, monitor, check;
  std::string format = "jsonl";
};

// Checks the flags (times relative to `now`) into options without a data_dir.
// Errors name the flag, the value and what is allowed.
Expected<ExportOptions> make_export_options(const ExportFlags& flags,
                                            std::chrono::system_clock::time_point now);

// The export flags in words, as a ctl command receives them after its FILE:
// --since TIME, --until TIME, --monitor NAME, --check ID, --format
// jsonl|json|csv, each also as --flag=VALUE. Anything else is an error naming it.
Expected<ExportOptions> parse_export_flags(std::span<const std::string> args,
                                           std::chrono::system_clock::time_point now);

// RFC 3339 ("2026-11-21T08:00:00Z", fraction and +hh:mm offset allowed) or a
// duration back from `now` ("90s", "15m", "1h", "2d"). `flag` names the
// option in errors ("--since").
Expected<std::chrono::system_clock::time_point> parse_export_time(
    std::string_view flag, std::string_view text, std::chrono::system_clock::time_point now);

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
  StoredValue monitor, epoch, seq, check, type, target, ts_us, status, reason, error, latency_us,
      timings, details;
};

// The exported object of one row; never throws, and every string in it is
// valid UTF-8. Repairs, each named in "damaged" by the exported key: text
// that is not valid UTF-8 and blobs in text columns are printed with every
// invalid byte as \xNN; a NULL, or an integer column that holds no integer,
// is null; a seq below 1 is kept; a ts before 1970 or beyond the clock's
// range is null; timings or details that are not JSON (or nest deeper than
// 64) are printed as their text, a string, and ones that are JSON but not an
// object as that JSON.
nlohmann::json row_to_json(const StoredRow& row) noexcept;

struct ExportCounts {
  std::uint64_t records = 0;
  std::uint64_t damaged = 0;  // records printed with the key "damaged"
};

// Writes the records in options.format. An error (no store, unreadable file, a read failing
// midway) is returned after closing what was written, so the output so far
// stays valid JSON (or CSV).
Expected<ExportCounts> export_records(const ExportOptions& options, std::ostream& out);

}  // namespace netmon::manager
