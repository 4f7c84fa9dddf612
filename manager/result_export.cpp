#include "manager/result_export.hpp"

#include <charconv>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/check_result.hpp"
#include "common/duration.hpp"
#include "common/sqlite_db.hpp"
#include "common/text.hpp"
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

std::optional<std::chrono::sys_time<std::chrono::microseconds>> parse_rfc3339(
    std::string_view text) {
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

constexpr int kMaxDetailsDepth = 64;
// The latest time a system_clock::time_point holds (2262-04-11 with
// libstdc++'s nanoseconds): beyond it the conversion would overflow.
constexpr std::int64_t kMaxTsUs = std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::duration::max())
                                      .count();
// How much of a bad value a "damaged" note quotes.
constexpr std::size_t kQuotedBytes = 32;

std::string real_text(double real) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, real);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

// Converts the columns of one row and collects what it had to repair.
class RowConverter {
 public:
  nlohmann::json text(std::string_view column, const StoredValue& value) {
    switch (value.kind) {
      case StoredValue::Kind::kText:
        if (is_valid_utf8(value.bytes)) return value.bytes;
        note(column, "not valid UTF-8 (bad bytes printed as \\xNN)");
        return to_valid_utf8(value.bytes);
      case StoredValue::Kind::kBlob:
        note(column, "a blob, not text (bad bytes printed as \\xNN)");
        return to_valid_utf8(value.bytes);
      case StoredValue::Kind::kInteger:
        note(column, "an integer, not text");
        return std::to_string(value.integer);
      case StoredValue::Kind::kReal:
        note(column, "a real number, not text");
        return real_text(value.real);
      case StoredValue::Kind::kNull:
        break;
    }
    note(column, "NULL");
    return nullptr;
  }

  std::optional<std::int64_t> integer(std::string_view column, const StoredValue& value) {
    switch (value.kind) {
      case StoredValue::Kind::kInteger:
        return value.integer;
      case StoredValue::Kind::kReal:
        note(column, "a real number (" + real_text(value.real) + "), not an integer");
        break;
      case StoredValue::Kind::kText:
        note(column, "text '" + loggable(value.bytes, kQuotedBytes) + "', not an integer");
        break;
      case StoredValue::Kind::kBlob:
        note(column, "a blob of " + std::to_string(value.bytes.size()) + " bytes, not an integer");
        break;
      case StoredValue::Kind::kNull:
        note(column, "NULL");
        break;
    }
    return std::nullopt;
  }

  // The stored JSON of `column` (details, timings), or when it is none, its
  // text as a string.
  nlohmann::json object(std::string_view column, const StoredValue& value) {
    nlohmann::json text_value = text(column, value);
    if (!text_value.is_string()) return text_value;
    // The parser keeps its nesting on the heap, but dump() recurses: cap it.
    bool too_deep = false;
    const auto limit_depth = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
      const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                         event == nlohmann::json::parse_event_t::array_start;
      if (opens && depth >= kMaxDetailsDepth) too_deep = true;
      return !too_deep;
    };
    nlohmann::json parsed =
        nlohmann::json::parse(text_value.get_ref<const std::string&>(), limit_depth, false);
    if (parsed.is_discarded() || too_deep) {
      note(column, "not valid JSON or nested deeper than " + std::to_string(kMaxDetailsDepth) +
                       " (printed as its text)");
      return text_value;
    }
    if (!parsed.is_object()) note(column, "not a JSON object");
    return parsed;
  }

  void note(std::string_view column, const std::string& what) {
    damaged_.push_back(std::string(column) + ": " + what);
  }

  nlohmann::json take_damaged() { return std::move(damaged_); }

 private:
  nlohmann::json damaged_ = nlohmann::json::array();
};

// The exported keys in their CSV column order (JSON objects sort them).
constexpr const char* kExportedKeys[] = {"monitor",    "epoch",     "seq",    "check",  "type",
                                         "target",     "timestamp", "status", "reason", "error",
                                         "latency_ms", "timings",   "details"};
// The exported keys printed as JSON text in CSV, whatever they hold.
bool csv_as_json(std::string_view key) {
  return key == "details" || key == "timings";
}

// The row's column `column` as `typeof(x), x` selected it (two columns).
StoredValue stored_value(const sqlite::Statement& row, int column) {
  const std::string_view type = row.column_text(column);
  StoredValue value;
  if (type == "integer") {
    value.kind = StoredValue::Kind::kInteger;
    value.integer = row.column_int64(column + 1);
  } else if (type == "real") {
    // As text SQLite gives a real 15 significant digits: enough to show it.
    value.kind = StoredValue::Kind::kReal;
    const std::string_view text = row.column_text(column + 1);
    if (std::from_chars(text.data(), text.data() + text.size(), value.real).ec != std::errc{}) {
      value.real = std::numeric_limits<double>::quiet_NaN();
    }
  } else if (type == "text") {
    value.kind = StoredValue::Kind::kText;
    value.bytes = row.column_text(column + 1);
  } else if (type == "blob") {
    value.kind = StoredValue::Kind::kBlob;
    value.bytes = row.column_blob(column + 1);
  }
  return value;
}

StoredRow stored_row(const sqlite::Statement& row) {
  StoredRow stored;
  int column = 0;
  for (StoredValue* value :
       {&stored.monitor, &stored.epoch, &stored.seq, &stored.check, &stored.type, &stored.target,
        &stored.ts_us, &stored.status, &stored.reason, &stored.error, &stored.latency_us,
        &stored.timings, &stored.details}) {
    *value = stored_value(row, column);
    column += 2;
  }
  return stored;
}

// Every string is valid UTF-8 already; replace keeps dump() from ever throwing.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// RFC 4180: a field with a comma, a quote or a line break is quoted, its
// quotes doubled; records end in CRLF.
void write_csv_field(std::string_view text, std::ostream& out) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << text;
    return;
  }
  out << '"';
  for (const char c : text) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

constexpr std::string_view kDamagedKey = "damaged";

void write_csv_header(std::ostream& out) {
  for (const char* key : kExportedKeys)
    out << key << ',';
  out << kDamagedKey << "\r\n";
}

// The row's values in kExportedKeys order: text as it is, null empty, and
// numbers, timings, details and damaged as their JSON text.
void write_csv_row(const nlohmann::json& object, std::ostream& out) {
  const auto field = [&](std::string_view key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    if (it->is_string() && !csv_as_json(key)) {
      write_csv_field(it->get_ref<const std::string&>(), out);
    } else {
      write_csv_field(dump(*it), out);
    }
  };
  for (const char* key : kExportedKeys) {
    field(key);
    out << ',';
  }
  field(kDamagedKey);
  out << "\r\n";
}

}  // namespace

Expected<std::chrono::system_clock::time_point> parse_export_time(
    std::string_view flag, std::string_view text, std::chrono::system_clock::time_point now) {
  using std::chrono::microseconds;
  const std::string quoted = std::string(flag) + " '" + std::string(text) + "'";
  if (auto absolute = parse_rfc3339(text)) {
    // Microseconds reach far beyond the clock's nanoseconds: converting would overflow.
    const auto first = std::chrono::sys_time<microseconds>(microseconds(0));
    const auto last =
        std::chrono::time_point_cast<microseconds>(std::chrono::system_clock::time_point::max());
    if (*absolute < first || *absolute > last) {
      return Error{quoted + " is outside 1970-01-01 to " + format_timestamp(last) +
                   " (use a time in that range)"};
    }
    return std::chrono::system_clock::time_point(*absolute);
  }
  if (auto back = parse_duration(text)) {
    // Further back than 1970 is everything (and now - back would overflow).
    if (*back >= std::chrono::floor<std::chrono::milliseconds>(now.time_since_epoch())) {
      return std::chrono::system_clock::time_point{};
    }
    return now - *back;
  }
  return Error{quoted +
               " is neither an RFC 3339 time (2026-11-21T08:00:00Z) nor a duration back from "
               "now (90s, 15m, 1h, 2d)"};
}

Expected<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "jsonl") return ExportFormat::kJsonl;
  if (text == "json") return ExportFormat::kJson;
  if (text == "csv") return ExportFormat::kCsv;
  return Error{"--format '" + std::string(text) + "' is unknown (allowed: jsonl, json, csv)"};
}

Expected<ExportOptions> make_export_options(const ExportFlags& flags,
                                            std::chrono::system_clock::time_point now) {
  ExportOptions options;
  auto format = parse_export_format(flags.format);
  if (!format) return format.error();
  options.format = *format;
  if (!flags.since.empty()) {
    auto since = parse_export_time("--since", flags.since, now);
    if (!since) return since.error();
    options.since = *since;
  }
  if (!flags.until.empty()) {
    auto until = parse_export_time("--until", flags.until, now);
    if (!until) return until.error();
    options.until = *until;
  }
  if (options.since && options.until && *options.since >= *options.until) {
    return Error{"--since '" + flags.since + "' is not before --until '" + flags.until +
                 "': nothing can match (give --since the earlier time)"};
  }
  options.monitor = flags.monitor;
  options.check = flags.check;
  return options;
}

Expected<ExportOptions> parse_export_flags(std::span<const std::string> args,
                                           std::chrono::system_clock::time_point now) {
  ExportFlags flags;
  struct Flag {
    std::string_view name;
    std::string* value;
    std::string_view example;  // for "needs a value"
  };
  const Flag known[] = {
      {"--since", &flags.since, "1h"},         {"--until", &flags.until, "1h"},
      {"--monitor", &flags.monitor, "edge-1"}, {"--check", &flags.check, "web"},
      {"--format", &flags.format, "csv"},
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const std::string_view name = arg.substr(0, arg.find('='));
    const Flag* flag = nullptr;
    for (const Flag& candidate : known) {
      if (name == candidate.name) flag = &candidate;
    }
    if (flag == nullptr) {
      return Error{"export: unknown argument '" + std::string(arg) +
                   "' (allowed: --since TIME, --until TIME, --monitor NAME, --check ID, --format "
                   "jsonl|json|csv)"};
    }
    if (name.size() < arg.size()) {
      *flag->value = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < args.size()) {
      *flag->value = args[++i];
    } else {
      return Error{std::string(name) + " needs a value (e.g. " + std::string(name) + " " +
                   std::string(flag->example) + ")"};
    }
  }
  return make_export_options(flags, now);
}

nlohmann::json row_to_json(const StoredRow& row) noexcept {
  try {
    RowConverter convert;
    nlohmann::json object;
    object["monitor"] = convert.text("monitor", row.monitor);
    object["epoch"] = convert.text("epoch", row.epoch);
    const auto seq = convert.integer("seq", row.seq);
    if (seq && *seq < 1) {
      convert.note("seq", std::to_string(*seq) + " is not a sequence number (1..2^63-1)");
    }
    object["seq"] = seq ? nlohmann::json(*seq) : nlohmann::json(nullptr);
    object["check"] = convert.text("check", row.check);
    object["type"] = convert.text("type", row.type);
    object["target"] = convert.text("target", row.target);
    object["timestamp"] = nullptr;
    if (const auto ts_us = convert.integer("timestamp", row.ts_us)) {
      if (*ts_us < 0 || *ts_us > kMaxTsUs) {
        convert.note("timestamp",
                     std::to_string(*ts_us) + " us is before 1970 or beyond what a time holds");
      } else {
        object["timestamp"] = format_timestamp(
            std::chrono::system_clock::time_point(std::chrono::microseconds(*ts_us)));
      }
    }
    object["status"] = convert.text("status", row.status);
    object["reason"] = convert.text("reason", row.reason);
    object["error"] = convert.text("error", row.error);
    const auto latency_us = convert.integer("latency_ms", row.latency_us);
    object["latency_ms"] = latency_us ? nlohmann::json(static_cast<double>(*latency_us) / 1000.0)
                                      : nlohmann::json(nullptr);
    object["timings"] = convert.object("timings", row.timings);
    object["details"] = convert.object("details", row.details);
    if (nlohmann::json damaged = convert.take_damaged(); !damaged.empty()) {
      object["damaged"] = std::move(damaged);
    }
    return object;
  } catch (const std::exception& e) {
    // Only allocation can fail above; the row is still printed, as a row.
    nlohmann::json object;
    for (const char* key : kExportedKeys)
      object[key] = nullptr;
    object["damaged"] = {"row: not converted: " + loggable(e.what())};
    return object;
  }
}

Expected<ExportCounts> export_records(const ExportOptions& options, std::ostream& out) {
  const std::filesystem::path file = ResultStore::file_in(options.data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return Error{file.string() + ": no store here (check --data-dir: the manager's data dir)"};
  }
  const bool array = options.format == ExportFormat::kJson;
  const bool csv = options.format == ExportFormat::kCsv;
  ExportCounts counts;
  bool started = false;
  std::optional<Error> failure;
  try {
    sqlite::OpenOptions open;
    open.read_only = true;
    sqlite::Database db(file, open);
    // typeof() beside each value: a column may hold any type, whatever the
    // schema says. --since and --until cannot exclude a row whose time is
    // unreadable. Records of known monitors stream in index order (no sort
    // of the whole store); those whose monitor_id has no monitors row follow,
    // monitor NULL (and match no --monitor).
    // A store no manager of this version has opened yet lacks timings: its
    // rows read '{}', as the column's default gives them once it is added.
    const std::string columns =
        std::string(R"sql(typeof(r.epoch), r.epoch, typeof(r.seq), r.seq,
              typeof(r."check"), r."check", typeof(r.type), r.type,
              typeof(r.target), r.target, typeof(r.ts_us), r.ts_us,
              typeof(r.status), r.status, typeof(r.reason), r.reason,
              typeof(r.error), r.error, typeof(r.latency_us), r.latency_us, )sql") +
        (has_column(db, "records", "timings") ? "typeof(r.timings), r.timings, "
                                              : "'text', '{}', ") +
        "typeof(r.details), r.details";
    // ?1 since, ?2 until (µs), ?4 check: NULL when not given.
    const std::string filter =
        R"sql((?1 IS NULL OR typeof(r.ts_us) != 'integer' OR r.ts_us >= ?1)
          AND (?2 IS NULL OR typeof(r.ts_us) != 'integer' OR r.ts_us < ?2)
          AND (?4 IS NULL OR r."check" = ?4 OR r."check" = ')sql" +
        std::string(kLossCheckId) + "')";
    auto known =
        db.prepare("SELECT typeof(m.name), m.name, " + columns +
                   " FROM monitors m JOIN records r ON r.monitor_id = m.id WHERE " + filter +
                   " AND (?3 IS NULL OR m.name = ?3)" + " ORDER BY m.name, r.epoch, r.seq");
    auto orphans = db.prepare(
        "SELECT 'null', NULL, " + columns +
        " FROM records r WHERE NOT EXISTS (SELECT 1 FROM monitors m WHERE m.id = r.monitor_id) "
        "AND " +
        filter + " AND ?3 IS NULL ORDER BY r.monitor_id, r.epoch, r.seq");
    const auto bind_time = [](sqlite::Statement& rows, int index,
                              const std::optional<std::chrono::system_clock::time_point>& time) {
      if (time) {
        rows.bind(index,
                  std::chrono::duration_cast<std::chrono::microseconds>(time->time_since_epoch())
                      .count());
      } else {
        rows.bind_null(index);
      }
    };
    const auto bind_text = [](sqlite::Statement& rows, int index, const std::string& text) {
      if (text.empty()) {
        rows.bind_null(index);
      } else {
        rows.bind(index, std::string_view(text));
      }
    };
    for (sqlite::Statement* rows : {&known, &orphans}) {
      bind_time(*rows, 1, options.since);
      bind_time(*rows, 2, options.until);
      bind_text(*rows, 3, options.monitor);
      bind_text(*rows, 4, options.check);
    }
    if (array) out << '[';
    if (csv) write_csv_header(out);
    started = true;
    for (sqlite::Statement* rows : {&known, &orphans}) {
      while (rows->step()) {
        const nlohmann::json object = row_to_json(stored_row(*rows));
        if (csv) {
          write_csv_row(object, out);
        } else {
          if (array) out << (counts.records == 0 ? "\n" : ",\n");
          out << dump(object);
          if (!array) out << '\n';
        }
        ++counts.records;
        if (object.contains("damaged")) ++counts.damaged;
      }
    }
  } catch (const sqlite::SqliteError& e) {
    failure = Error{file.string() + ": " + e.what() +
                    (started ? " (after " + std::to_string(counts.records) + " records)" : "")};
  }
  if (array && started) out << (counts.records == 0 ? "]\n" : "\n]\n");
  out.flush();
  if (failure) return *failure;
  if (!out) return Error{"export: writing the output failed"};
  return counts;
}

}  // namespace netmon::manager
