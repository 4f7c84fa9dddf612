#include "manager/result_export.hpp"

#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/check_result.hpp"
#include "common/duration.hpp"
#include "common/sqlite_db.hpp"
#include "manager/result_store.hpp"

namespace netmon::manager {
namespace {

// Reads exactly `digits` digits at `pos`.
std::optional<int> digits_at(std::string_view text, std::size_t pos, std::size_t digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  const char* begin = text.data() + pos;
  const auto [end, ec] = std::from_chars(begin, begin + digits, value);
  if (ec != std::errc{} || end != begin + digits) return std::nullopt;
  return value;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  const auto year = digits_at(text, 0, 4);
  const auto month = digits_at(text, 5, 2);
  const auto day = digits_at(text, 8, 2);
  const auto hour = digits_at(text, 11, 2);
  const auto minute = digits_at(text, 14, 2);
  const auto second = digits_at(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t pos = 19;
  std::chrono::microseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += std::chrono::microseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto off_hour = digits_at(text, pos + 1, 2);
    const auto off_minute = digits_at(text, pos + 4, 2);
    if (!off_hour || !off_minute || text[pos + 3] != ':') return std::nullopt;
    offset = std::chrono::hours(*off_hour) + std::chrono::minutes(*off_minute);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;  // RFC 3339 requires the offset
  }
  if (pos != text.size()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second) + fraction - offset;
}

nlohmann::json row_to_json(const sqlite::Statement& row) {
  nlohmann::json details = nlohmann::json::parse(row.column_text(10), nullptr, false);
  if (details.is_discarded()) details = nlohmann::json::object();
  const std::int64_t ts_us = row.column_int64(6);
  nlohmann::json object;
  object["monitor"] = row.column_text(0);
  object["epoch"] = row.column_text(1);
  object["seq"] = row.column_int64(2);
  object["check"] = row.column_text(3);
  object["type"] = row.column_text(4);
  object["target"] = row.column_text(5);
  object["ts"] =
      format_timestamp(std::chrono::system_clock::time_point(std::chrono::microseconds(ts_us)));
  object["status"] = row.column_text(7);
  object["reason"] = row.column_text(8);
  object["latency_ms"] = static_cast<double>(row.column_int64(9)) / 1000.0;
  object["details"] = std::move(details);
  return object;
}

}  // namespace

Expected<std::chrono::system_clock::time_point> parse_since(
    std::string_view text, std::chrono::system_clock::time_point now) {
  if (auto absolute = parse_rfc3339(text)) return *absolute;
  if (auto back = parse_duration(text)) return now - *back;
  return Error{"--since '" + std::string(text) +
               "' is neither an RFC 3339 time (2026-11-21T08:00:00Z) nor a duration back from "
               "now (90s, 15m, 1h, 2d)"};
}

Expected<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "jsonl") return ExportFormat::kJsonl;
  if (text == "json") return ExportFormat::kJson;
  return Error{"--format '" + std::string(text) + "' is unknown (allowed: json, jsonl)"};
}

Expected<std::uint64_t> export_records(const ExportOptions& options, std::ostream& out) {
  const std::filesystem::path file = ResultStore::file_in(options.data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return Error{file.string() + ": no store here (check --data-dir: the manager's data dir)"};
  }
  std::uint64_t count = 0;
  try {
    sqlite::OpenOptions open;
    open.read_only = true;
    sqlite::Database db(file, open);
    auto rows = db.prepare(
        R"sql(SELECT m.name, r.epoch, r.seq, r."check", r.type, r.target, r.ts_us, r.status,
                     r.reason, r.latency_us, r.details
              FROM records r JOIN monitors m ON m.id = r.monitor_id
              WHERE r.ts_us >= ?1
              ORDER BY m.name, r.epoch, r.seq)sql");
    const std::int64_t since_us = options.since
                                      ? std::chrono::duration_cast<std::chrono::microseconds>(
                                            options.since->time_since_epoch())
                                            .count()
                                      : INT64_MIN;
    rows.bind(1, since_us);
    if (options.format == ExportFormat::kJson) out << '[';
    while (rows.step()) {
      if (options.format == ExportFormat::kJson) {
        out << (count == 0 ? "\n" : ",\n") << row_to_json(rows).dump();
      } else {
        out << row_to_json(rows).dump() << '\n';
      }
      ++count;
    }
    if (options.format == ExportFormat::kJson) out << (count == 0 ? "]\n" : "\n]\n");
  } catch (const sqlite::SqliteError& e) {
    return Error{file.string() + ": " + e.what()};
  }
  out.flush();
  if (!out) return Error{"export: writing the output failed"};
  return count;
}

}  // namespace netmon::manager
