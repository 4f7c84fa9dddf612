// `netmon-manager export` on hostile store rows: the rows are written into a
// real store file with any value in any column (text that is not UTF-8,
// blobs, integers where text belongs and back: what a damaged or foreign
// file holds), then exported in every format. Export must succeed and print
// valid JSON with one object per row, and CSV of a header and one record per
// row, each with every column, whatever quotes, commas and line breaks the
// text holds.
//
// Input: the monitor's name, a row count (0..3), then per row the 11
// exported columns (epoch, seq, check, type, target, ts_us, status, reason,
// error, latency_us, details), then per row its timings (after every row, so
// that inputs made before records had timings keep their rows; a row whose
// timings the input does not reach has '{}'); each value is a tag byte (0
// integer: 8 bytes; 1 text, 2 blob: a length byte and the bytes).

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/sqlite_db.hpp"
#include "manager/result_export.hpp"
#include "manager/result_store.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

namespace {

constexpr int kColumns = 11;
// monitor, epoch, seq, check, type, target, timestamp, status, reason, error, latency_ms,
// timings, details.
constexpr std::size_t kExportedKeys = 13;

struct Store {
  Store() {
    // In TMPDIR: a run that crashes leaves its store behind (fuzz.sh points TMPDIR into build/).
    std::string pattern = (std::filesystem::temp_directory_path() / "netmon-export-fuzz-XXXXXX");
    fuzz::require(::mkdtemp(pattern.data()) != nullptr, "a temp dir for the store");
    dir = pattern;
    { manager::ResultStore schema(dir, sqlite::Synchronous::kOff); }
    sqlite::OpenOptions options;
    options.synchronous = sqlite::Synchronous::kOff;
    db.emplace(manager::ResultStore::file_in(dir), options);
  }
  ~Store() {
    db.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
  std::optional<sqlite::Database> db;
};

Store& store() {
  static Store instance;
  return instance;
}

// One column's value as the input gives it.
struct Value {
  int tag = 1;  // 0 integer, 1 text, 2 blob
  std::int64_t integer = 0;
  std::string bytes;
};

Value read_value(fuzz::ByteReader& reader) {
  Value value;
  value.tag = reader.u8() % 3;
  if (value.tag == 0) {
    value.integer = static_cast<std::int64_t>(reader.u64());
  } else {
    value.bytes = reader.short_bytes();
  }
  return value;
}

void bind_value(sqlite::Statement& statement, int index, const Value& value) {
  switch (value.tag) {
    case 0:
      statement.bind(index, value.integer);
      break;
    case 1:
      statement.bind(index, std::string_view(value.bytes));
      break;
    default:
      statement.bind_blob(index, value.bytes);
      break;
  }
}

void bind_value(sqlite::Statement& statement, int index, fuzz::ByteReader& reader) {
  bind_value(statement, index, read_value(reader));
}

std::string run_export(manager::ExportFormat format, std::uint64_t rows) {
  manager::ExportOptions options;
  options.data_dir = store().dir;
  options.format = format;
  std::ostringstream out;
  auto count = manager::export_records(options, out);
  fuzz::require(count.ok(), "export succeeds on any stored row");
  fuzz::require(count->records == rows, "export prints every row");
  return out.str();
}

// The number of fields of each CSV record (RFC 4180: quoted fields may hold
// commas, doubled quotes and line breaks; records end in CRLF); empty when
// the text is not well-formed CSV.
std::vector<std::size_t> csv_shape(const std::string& text) {
  std::vector<std::size_t> fields;
  std::size_t count = 1;
  bool quoted = false;
  bool field_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') continue;
      if (i + 1 < text.size() && text[i + 1] == '"') {
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      if (!field_start) return {};
      quoted = true;
    } else if (c == ',') {
      ++count;
      field_start = true;
      continue;
    } else if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return {};
      ++i;
      fields.push_back(count);
      count = 1;
      field_start = true;
      continue;
    } else if (c == '\n') {
      return {};
    }
    field_start = false;
  }
  if (quoted || count != 1 || !field_start) return {};
  return fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::ByteReader reader(data, size);
  sqlite::Database& db = *store().db;
  db.exec("DELETE FROM records; DELETE FROM monitors;");
  auto monitor = db.prepare(
      "INSERT INTO monitors(id, name, instance, first_seen_us, last_seen_us) VALUES(1, ?1, 'i', 0, "
      "0)");
  bind_value(monitor, 1, reader);
  monitor.run();
  auto insert = db.prepare(
      R"sql(INSERT OR IGNORE INTO records(monitor_id, epoch, seq, "check", type, target, ts_us,
            status, reason, error, latency_us, details, timings, stored_us)
            VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0))sql");
  std::vector<std::vector<Value>> values(reader.u8() % 4);
  for (auto& row : values) {
    for (int column = 1; column <= kColumns; ++column)
      row.push_back(read_value(reader));
  }
  for (auto& row : values)
    row.push_back(reader.empty() ? Value{1, 0, "{}"} : read_value(reader));
  std::uint64_t rows = 0;
  for (const auto& row : values) {
    for (int column = 1; column <= kColumns + 1; ++column)
      bind_value(insert, column, row[static_cast<std::size_t>(column - 1)]);
    insert.run();
    rows += static_cast<std::uint64_t>(db.changes());
  }

  const std::string jsonl = run_export(manager::ExportFormat::kJsonl, rows);
  std::istringstream lines(jsonl);
  std::uint64_t objects = 0;
  for (std::string line; std::getline(lines, line); ++objects) {
    const auto object = nlohmann::json::parse(line, nullptr, false);
    // A repaired row carries one more key, "damaged", naming each repair.
    fuzz::require(
        object.is_object() && object.size() == kExportedKeys + (object.contains("damaged") ? 1 : 0),
        "each jsonl line is one object with the 13 documented keys (+ damaged)");
  }
  fuzz::require(objects == rows, "one jsonl line per row");

  const auto array =
      nlohmann::json::parse(run_export(manager::ExportFormat::kJson, rows), nullptr, false);
  fuzz::require(array.is_array() && array.size() == rows, "json is one array of every row");

  const auto shape = csv_shape(run_export(manager::ExportFormat::kCsv, rows));
  fuzz::require(shape == std::vector<std::size_t>(rows + 1, kExportedKeys + 1),
                "csv is a header and one record per row, each with every key and damaged");
  return 0;
}
