#include "manager/result_export.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"
#include "tests/support/child_process.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using testing::loss_record;
using testing::result_record;

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class ResultExport : public ::testing::Test {
 protected:
  // edge-2 registered first (id 1) so that ordering by name differs from ordering by id.
  void SetUp() override {
    ResultStore store(dir_.path(), sqlite::Synchronous::kNormal);
    const auto edge2 = store.register_monitor("edge-2", "i2");
    const auto edge1 = store.register_monitor("edge-1", "i1");
    auto transaction = store.transaction();
    store.insert(edge2, result_record("edge-2", "b", 1, "dns", netmon::CheckStatus::kUp, now_ - 1h),
                 1);
    auto down = result_record("edge-1", "a", 2, "web", netmon::CheckStatus::kDown, now_);
    std::get<CheckResult>(down.body).error = "connect: Connection refused";
    std::get<CheckResult>(down.body).details = {{"port", 9}, {"note", "a \"quoted\", text"}};
    std::get<CheckResult>(down.body).timings.resolve = 250us;
    std::get<CheckResult>(down.body).timings.connect = 1'200us;
    std::get<CheckResult>(down.body).timings.total = 1'500us;
    down_ = std::get<CheckResult>(down.body);
    store.insert(edge1, down, 1);
    store.insert(edge1, result_record("edge-1", "a", 1, "web", netmon::CheckStatus::kUp, now_ - 2h),
                 1);
    store.insert(edge1, loss_record("edge-1", "a", 3, 1, 1), 1);
    transaction.commit();
  }

  std::string run(ExportOptions options) {
    options.data_dir = dir_.path();
    std::ostringstream out;
    auto count = export_records(options, out);
    EXPECT_TRUE(count) << count.error().message;
    return out.str();
  }

  netmon::testing::TempDir dir_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
  CheckResult down_;  // edge-1 seq 2 as the monitor sent it
};

TEST_F(ResultExport, JsonlHasExactlyTheDocumentedKeysOrderedByMonitorEpochSeq) {
  const auto lines = lines_of(run({}));
  ASSERT_EQ(lines.size(), 4u);
  const std::vector<std::string> keys = {"check",     "details", "epoch", "error",  "latency_ms",
                                         "monitor",   "reason",  "seq",   "status", "target",
                                         "timestamp", "timings", "type"};
  for (const auto& line : lines) {
    std::vector<std::string> got;
    for (const auto& [key, value] : line.items())
      got.push_back(key);
    EXPECT_EQ(got, keys) << line.dump();
  }
  EXPECT_EQ(lines[0]["monitor"], "edge-1");
  EXPECT_EQ(lines[0]["seq"], 1);
  EXPECT_EQ(lines[1]["seq"], 2);
  EXPECT_EQ(lines[1]["status"], "down");
  EXPECT_EQ(lines[1]["reason"], "connect_refused");
  EXPECT_DOUBLE_EQ(lines[1]["latency_ms"].get<double>(), 1.5);
  EXPECT_EQ(lines[1]["details"]["port"], 9);
  EXPECT_EQ(lines[1]["error"], "connect: Connection refused");
  EXPECT_EQ(lines[1]["timestamp"], format_timestamp(now_));
  EXPECT_EQ(lines[2]["check"], "_loss");
  EXPECT_EQ(lines[2]["status"], "loss");
  EXPECT_EQ(lines[2]["details"]["count"], 1);
  EXPECT_EQ(lines[3]["monitor"], "edge-2");
}

TEST_F(ResultExport, PrintsTheTimingsOfEachResultAsNetmonProbePrintsThem) {
  const auto lines = lines_of(run({}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1]["timings"], to_json(down_).at("timings")) << lines[1].dump();
  EXPECT_EQ(lines[1]["timings"],
            (nlohmann::json{{"resolve_ms", 0.25}, {"connect_ms", 1.2}, {"total_ms", 1.5}}));
  EXPECT_EQ(lines[0]["timings"], (nlohmann::json{{"total_ms", 0.0}}))
      << "a result that reached no phase has its total";
  EXPECT_EQ(lines[2]["timings"], nlohmann::json::object()) << "a loss has none";
  for (const auto& line : lines)
    EXPECT_FALSE(line.contains("damaged")) << line.dump();
}

TEST_F(ResultExport, SinceKeepsOnlyNewerResults) {
  ExportOptions options;
  options.since = now_ - 90min;
  const auto lines = lines_of(run(options));
  // edge-1 seq 2, the loss record (stamped when stored, long ago: stored_us 1) is older
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["seq"], 2);
  EXPECT_EQ(lines[1]["monitor"], "edge-2");
}

TEST_F(ResultExport, JsonIsOneArrayOfTheSameObjects) {
  ExportOptions options;
  options.format = ExportFormat::kJson;
  const auto array = nlohmann::json::parse(run(options));
  ASSERT_TRUE(array.is_array());
  EXPECT_EQ(array.size(), 4u);
  EXPECT_EQ(array[0], lines_of(run({}))[0]);
}

TEST_F(ResultExport, UntilKeepsOnlyOlderResultsAndTilesWithSince) {
  ExportOptions older;
  older.until = now_ - 90min;
  const auto before = lines_of(run(older));
  // edge-1 seq 1 (2 h ago) and the loss record (stored_us 1).
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0]["seq"], 1);
  EXPECT_EQ(before[1]["check"], "_loss");
  ExportOptions newer;
  newer.since = now_ - 90min;
  EXPECT_EQ(before.size() + lines_of(run(newer)).size(), lines_of(run({})).size())
      << "--until T and --since T split the records without overlap";
  ExportOptions window;
  window.since = now_ - 90min;
  window.until = now_;
  const auto inside = lines_of(run(window));
  ASSERT_EQ(inside.size(), 1u) << "until excludes a record at exactly that time";
  EXPECT_EQ(inside[0]["monitor"], "edge-2");
}

TEST_F(ResultExport, MonitorAndCheckSelectRecordsAndACheckKeepsItsMonitorsLosses) {
  ExportOptions monitor;
  monitor.monitor = "edge-2";
  const auto edge2 = lines_of(run(monitor));
  ASSERT_EQ(edge2.size(), 1u);
  EXPECT_EQ(edge2[0]["check"], "dns");

  ExportOptions check;
  check.check = "web";
  const auto web = lines_of(run(check));
  ASSERT_EQ(web.size(), 3u);
  EXPECT_EQ(web[0]["check"], "web");
  EXPECT_EQ(web[1]["check"], "web");
  EXPECT_EQ(web[2]["check"], "_loss") << "a loss may hide any check's results";

  check.monitor = "edge-2";
  EXPECT_TRUE(lines_of(run(check)).empty());
  monitor.monitor = "edge-3";
  EXPECT_TRUE(lines_of(run(monitor)).empty());
}

// Splits CSV text into records of fields (RFC 4180, CRLF), checking quoting.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    std::string& field = records.back().back();
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "a quote inside an unquoted field at " << i;
      quoted = true;
    } else if (c == ',') {
      records.back().emplace_back();
    } else if (c == '\r') {
      EXPECT_EQ(text.substr(i, 2), "\r\n") << "records end in CRLF";
      ++i;
      records.emplace_back(1);
    } else {
      EXPECT_NE(c, '\n') << "a bare LF at " << i;
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_EQ(records.back(), std::vector<std::string>(1)) << "the last record ends in CRLF";
  records.pop_back();
  return records;
}

TEST_F(ResultExport, CsvHasAHeaderRowQuotesAsRfc4180AndDetailsAsJsonText) {
  ExportOptions options;
  options.format = ExportFormat::kCsv;
  const auto records = parse_csv(run(options));
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0],
            (std::vector<std::string>{"monitor", "epoch", "seq", "check", "type", "target",
                                      "timestamp", "status", "reason", "error", "latency_ms",
                                      "timings", "details", "damaged"}));
  const auto& down = records[2];
  ASSERT_EQ(down.size(), 14u);
  EXPECT_EQ(down[0], "edge-1");
  EXPECT_EQ(down[2], "2");
  EXPECT_EQ(down[6], format_timestamp(now_));
  EXPECT_EQ(down[9], "connect: Connection refused");
  EXPECT_EQ(down[10], "1.5");
  EXPECT_EQ(nlohmann::json::parse(down[11]), to_json(down_).at("timings")) << down[11];
  EXPECT_EQ(nlohmann::json::parse(down[12]),
            (nlohmann::json{{"port", 9}, {"note", "a \"quoted\", text"}}));
  EXPECT_EQ(down[13], "") << "no damage: an empty field";
  EXPECT_EQ(records[3][11], "{}") << "the loss row's timings";
  // The same records as jsonl, in the same order.
  const auto lines = lines_of(run({}));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(records[i + 1][3], lines[i]["check"].get<std::string>());
  }
}

TEST(ParseExportFlags, TakesTheFlagsOfTheCommandLineAsWords) {
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + 8h;
  const std::vector<std::string> args{"--since", "2h",          "--until=1h", "--monitor",
                                      "edge-1",  "--check=web", "--format",   "csv"};
  auto options = parse_export_flags(args, now);
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->since, now - 2h);
  EXPECT_EQ(options->until, now - 1h);
  EXPECT_EQ(options->monitor, "edge-1");
  EXPECT_EQ(options->check, "web");
  EXPECT_EQ(options->format, ExportFormat::kCsv);
  EXPECT_TRUE(options->data_dir.empty()) << "the caller's";

  auto defaults = parse_export_flags({}, now);
  ASSERT_TRUE(defaults);
  EXPECT_FALSE(defaults->since);
  EXPECT_FALSE(defaults->until);
  EXPECT_EQ(defaults->format, ExportFormat::kJsonl);
}

TEST(ParseExportFlags, ErrorsNameTheFlagAndTheFix) {
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + 8h;
  const auto error_of = [&](std::vector<std::string> args) {
    auto options = parse_export_flags(args, now);
    EXPECT_FALSE(options) << args[0];
    return options ? std::string() : options.error().message;
  };
  EXPECT_EQ(error_of({"--bogus"}),
            "export: unknown argument '--bogus' (allowed: --since TIME, --until TIME, --monitor "
            "NAME, --check ID, --format jsonl|json|csv)");
  EXPECT_EQ(error_of({"--until"}), "--until needs a value (e.g. --until 1h)");
  EXPECT_EQ(error_of({"--format", "xml"}), "--format 'xml' is unknown (allowed: jsonl, json, csv)");
  EXPECT_NE(error_of({"--until", "soon"}).find("--until 'soon' is neither an RFC 3339 time"),
            std::string::npos);
  EXPECT_EQ(error_of({"--since", "1h", "--until", "2h"}),
            "--since '1h' is not before --until '2h': nothing can match (give --since the "
            "earlier time)");
}

TEST_F(ResultExport, AMissingStoreIsAnErrorNamingTheDataDir) {
  ExportOptions options;
  options.data_dir = dir_ / "nothing-here";
  std::ostringstream out;
  auto count = export_records(options, out);
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("--data-dir"), std::string::npos);
}

// Rows written straight into the store file, as a bad disk, an older netmon,
// another program or a hand edit could leave them. Export reads them back as
// hostile input: every row is printed as valid JSON and says what was wrong.
class ResultExportOfDamagedRows : public ::testing::Test {
 protected:
  void SetUp() override {
    ResultStore store(dir_.path(), sqlite::Synchronous::kNormal);
    monitor_id_ = static_cast<std::int64_t>(store.register_monitor("edge-1", "i1"));
  }

  // Writes one record row with good values, then lets `damage` rebind any of
  // the parameters (?1 monitor_id .. ?13 stored_us, ?14 timings, the INSERT's order).
  void insert_row(std::int64_t seq, const std::function<void(sqlite::Statement&)>& damage) {
    sqlite::Database db(ResultStore::file_in(dir_.path()), {});
    auto insert = db.prepare(
        R"sql(INSERT INTO records(monitor_id, epoch, seq, "check", type, target, ts_us, status,
              reason, error, latency_us, details, stored_us, timings)
              VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14))sql");
    insert.bind(1, monitor_id_).bind(2, std::string_view("e")).bind(3, seq);
    insert.bind(4, std::string_view("web")).bind(5, std::string_view("tcp"));
    insert.bind(6, std::string_view("127.0.0.1:9")).bind(7, kTsUs);
    insert.bind(8, std::string_view("up")).bind(9, std::string_view(""));
    insert.bind(10, std::string_view("")).bind(11, std::int64_t{1500});
    insert.bind(12, std::string_view(R"({"port":9})")).bind(13, std::int64_t{1});
    insert.bind(14, std::string_view(R"({"connect_ms":1.4,"total_ms":1.5})"));
    damage(insert);
    insert.run();
  }

  // Every output line parsed (the test fails on the first one that is not JSON).
  std::vector<nlohmann::json> export_lines(ExportOptions options = {}) {
    options.data_dir = dir_.path();
    std::ostringstream out;
    auto counts = export_records(options, out);
    EXPECT_TRUE(counts) << counts.error().message;
    return lines_of(out.str());
  }

  static constexpr std::int64_t kTsUs = 1'795'000'000'000'000;  // 2026-11-18
  netmon::testing::TempDir dir_;
  std::int64_t monitor_id_ = 0;
};

TEST_F(ResultExportOfDamagedRows, PrintsACheckIdThatIsNotValidUtf8WithItsBadBytesEscaped) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(4, std::string_view("web\xff\xfe-1")); });
  insert_row(2, [](sqlite::Statement&) {});
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["check"], "web\\xff\\xfe-1");
  ASSERT_TRUE(lines[0].contains("damaged")) << lines[0].dump();
  EXPECT_NE(lines[0]["damaged"].dump().find("check: not valid UTF-8"), std::string::npos)
      << lines[0].dump();
  EXPECT_EQ(lines[1]["check"], "web");
  EXPECT_FALSE(lines[1].contains("damaged")) << "a good row is not damaged: " << lines[1].dump();
}

TEST_F(ResultExportOfDamagedRows, EscapesInvalidUtf8InEveryTextColumnAndTheMonitorName) {
  {
    sqlite::Database db(ResultStore::file_in(dir_.path()), {});
    db.prepare("UPDATE monitors SET name = ?1").bind(1, std::string_view("edge\xc0-1")).run();
  }
  insert_row(1, [](sqlite::Statement& s) {
    s.bind(2, std::string_view("e\x80"));
    s.bind(5, std::string_view("tcp\xed\xa0\x80"));  // a surrogate
    s.bind(6, std::string_view("\xf5host"));
    s.bind(8, std::string_view("u\xffp"));
    s.bind(9, std::string_view("refused\xe2\x82"));  // cut short
  });
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto& line = lines[0];
  EXPECT_EQ(line["monitor"], "edge\\xc0-1");
  EXPECT_EQ(line["epoch"], "e\\x80");
  EXPECT_EQ(line["type"], "tcp\\xed\\xa0\\x80");
  EXPECT_EQ(line["target"], "\\xf5host");
  EXPECT_EQ(line["status"], "u\\xffp");
  EXPECT_EQ(line["reason"], "refused\\xe2\\x82");
  ASSERT_TRUE(line.contains("damaged"));
  for (const char* column : {"monitor", "epoch", "type", "target", "status", "reason"}) {
    EXPECT_NE(line["damaged"].dump().find(std::string(column) + ": not valid UTF-8"),
              std::string::npos)
        << column << " in " << line.dump();
  }
}

TEST_F(ResultExportOfDamagedRows, PrintsDetailsThatAreNotJsonAsTheirTextInAString) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(12, std::string_view(R"({"port": 9)")); });
  insert_row(
      2, [](sqlite::Statement& s) { s.bind(12, std::string_view("{\"banner\":\"SSH\xff\"}")); });
  insert_row(3, [](sqlite::Statement& s) { s.bind(12, std::string(100'000, '[')); });
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["details"], R"({"port": 9)");
  EXPECT_EQ(lines[1]["details"], R"({"banner":"SSH\xff"})");
  EXPECT_EQ(lines[2]["details"], std::string(100'000, '['));
  for (const auto& line : lines) {
    EXPECT_EQ(line["check"], "web");
    ASSERT_TRUE(line.contains("damaged")) << line.dump().substr(0, 200);
    EXPECT_NE(line["damaged"].dump().find("details: not valid JSON"), std::string::npos)
        << line["damaged"].dump();
  }
}

TEST_F(ResultExportOfDamagedRows, RepairsTimingsThatAreNotAJsonObjectAndNamesThem) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(14, std::string_view(R"({"total_ms": 1)")); });
  insert_row(2, [](sqlite::Statement& s) { s.bind(14, std::string_view("[1.5]")); });
  insert_row(3, [](sqlite::Statement& s) { s.bind(14, std::string_view("{\"total\xff\":1}")); });
  insert_row(
      4, [](sqlite::Statement& s) { s.bind_blob(14, std::string_view(R"({"total_ms":1.5})")); });
  insert_row(5, [](sqlite::Statement&) {});
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0]["timings"], R"({"total_ms": 1)") << "not JSON: printed as its text";
  EXPECT_EQ(lines[1]["timings"], nlohmann::json::array({1.5}));
  EXPECT_EQ(lines[2]["timings"], R"({"total\xff":1})");
  EXPECT_EQ(lines[3]["timings"], (nlohmann::json{{"total_ms", 1.5}}))
      << "a blob holding JSON is still read";
  EXPECT_EQ(lines[4]["timings"], (nlohmann::json{{"connect_ms", 1.4}, {"total_ms", 1.5}}));
  EXPECT_FALSE(lines[4].contains("damaged")) << lines[4].dump();
  const char* const notes[] = {"timings: not valid JSON", "timings: not a JSON object",
                               "timings: not valid UTF-8", "timings: a blob, not text"};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(lines[i]["check"], "web");
    EXPECT_EQ(lines[i]["details"]["port"], 9) << "the other columns are unharmed";
    ASSERT_TRUE(lines[i].contains("damaged")) << lines[i].dump();
    EXPECT_NE(lines[i]["damaged"].dump().find(notes[i]), std::string::npos)
        << notes[i] << " in " << lines[i]["damaged"].dump();
  }
  ExportOptions csv;
  csv.format = ExportFormat::kCsv;
  csv.data_dir = dir_.path();
  std::ostringstream out;
  ASSERT_TRUE(export_records(csv, out));
  const auto records = parse_csv(out.str());
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(nlohmann::json::parse(records[1][11]), R"({"total_ms": 1)")
      << "as JSON text in csv, a string too";
  EXPECT_EQ(nlohmann::json::parse(records[5][11]), lines[4]["timings"]);
}

TEST_F(ResultExportOfDamagedRows, PrintsBlobsAsTextAndNullForIntegerColumnsThatHoldNoInteger) {
  insert_row(1, [](sqlite::Statement& s) {
    s.bind_blob(4, std::string_view("we\0b\xff", 5));
    s.bind(7, std::string_view("yesterday"));
    s.bind_blob(11, std::string_view("\x01\x02", 2));
    s.bind_blob(12, std::string_view(R"({"port":9})"));
  });
  insert_row(2, [](sqlite::Statement& s) { s.bind(3, std::string_view("two")); });
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["check"], std::string("we\0b\\xff", 8));
  EXPECT_TRUE(lines[0]["timestamp"].is_null()) << lines[0].dump();
  EXPECT_TRUE(lines[0]["latency_ms"].is_null()) << lines[0].dump();
  EXPECT_EQ(lines[0]["details"]["port"], 9) << "a blob holding JSON is still read";
  const std::string damaged = lines[0]["damaged"].dump();
  for (const char* what :
       {"check: a blob", "timestamp: text 'yesterday'", "latency_ms: a blob", "details: a blob"}) {
    EXPECT_NE(damaged.find(what), std::string::npos) << what << " in " << damaged;
  }
  EXPECT_TRUE(lines[1]["seq"].is_null()) << lines[1].dump();
  EXPECT_NE(lines[1]["damaged"].dump().find("seq: text 'two'"), std::string::npos)
      << lines[1].dump();
}

TEST_F(ResultExportOfDamagedRows, PrintsRecordsOfAMonitorIdWithoutAMonitorsRowLast) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(1, std::int64_t{99}); });
  insert_row(2, [](sqlite::Statement&) {});
  const auto lines = export_lines();
  ASSERT_EQ(lines.size(), 2u) << "the record was dropped";
  EXPECT_EQ(lines[0]["monitor"], "edge-1");
  EXPECT_TRUE(lines[1]["monitor"].is_null());
  EXPECT_EQ(lines[1]["seq"], 1);
  EXPECT_NE(lines[1]["damaged"].dump().find("monitor: NULL"), std::string::npos) << lines[1].dump();
}

TEST_F(ResultExportOfDamagedRows, SinceKeepsRowsWhoseTimeCannotBeRead) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(7, std::string_view("noon")); });
  insert_row(2, [](sqlite::Statement& s) { s.bind(7, std::int64_t{1}); });
  insert_row(3, [](sqlite::Statement&) {});
  ExportOptions options;
  options.since = std::chrono::system_clock::time_point(std::chrono::microseconds(kTsUs));
  const auto lines = export_lines(options);
  ASSERT_EQ(lines.size(), 2u) << "an unreadable time is not older than --since";
  EXPECT_EQ(lines[0]["seq"], 1);
  EXPECT_EQ(lines[1]["seq"], 3);
}

TEST_F(ResultExportOfDamagedRows, JsonFormatIsOneValidArrayWithDamagedRows) {
  insert_row(1, [](sqlite::Statement& s) { s.bind(4, std::string_view("\xff")); });
  insert_row(2, [](sqlite::Statement& s) { s.bind(12, std::string_view("not json")); });
  ExportOptions options;
  options.format = ExportFormat::kJson;
  options.data_dir = dir_.path();
  std::ostringstream out;
  ASSERT_TRUE(export_records(options, out));
  const auto array = nlohmann::json::parse(out.str());
  ASSERT_EQ(array.size(), 2u);
  EXPECT_EQ(array[0]["check"], "\\xff");
  EXPECT_EQ(array[1]["details"], "not json");
}

TEST_F(ResultExportOfDamagedRows, TheExportCommandPrintsEveryRowExitsZeroAndCountsTheDamaged) {
  insert_row(1, [](sqlite::Statement&) {});
  insert_row(2, [](sqlite::Statement& s) { s.bind(4, std::string_view("web\xff")); });
  insert_row(3, [](sqlite::Statement&) {});
  netmon::testing::ChildProcess export_command(
      NETMON_MANAGER_BINARY, {"export", "--data-dir", dir_.path().string()}, dir_ / "export.log");
  ASSERT_EQ(export_command.wait_exit(std::chrono::seconds(20)), 0) << export_command.log();
  const std::string log = export_command.log();
  EXPECT_NE(log.find("1 of 3 records are damaged"), std::string::npos) << log;
  std::size_t objects = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() != '{') continue;
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    ++objects;
  }
  EXPECT_EQ(objects, 3u) << log;
}

// A store made by hand (or by another version) without the NOT NULL
// constraints: NULL in every column.
// A store as netmon wrote it before records had timings: export reads it as
// it is (read-only, so nothing adds the column), and once a manager opened
// it and stored a new result, both rows print.
TEST(ResultExportOfAStoreWithoutTimings, PrintsEmptyTimingsBeforeAndAfterTheStoreAddsThem) {
  netmon::testing::TempDir dir;
  {
    sqlite::Database db(ResultStore::file_in(dir.path()), {});
    db.exec(R"sql(
      CREATE TABLE monitors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
        instance TEXT NOT NULL, first_seen_us INTEGER NOT NULL, last_seen_us INTEGER NOT NULL);
      CREATE TABLE records(monitor_id INTEGER NOT NULL, epoch TEXT NOT NULL,
        seq INTEGER NOT NULL, "check" TEXT NOT NULL, type TEXT NOT NULL, target TEXT NOT NULL,
        ts_us INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, error TEXT NOT NULL,
        latency_us INTEGER NOT NULL, details TEXT NOT NULL, stored_us INTEGER NOT NULL,
        UNIQUE(monitor_id, epoch, seq));
      INSERT INTO monitors VALUES(1, 'edge-1', 'i1', 0, 0);
      INSERT INTO records VALUES(1, 'e', 1, 'web', 'tcp', '127.0.0.1:9', 1000000, 'up', '', '',
        1500, '{"port":9}', 5);)sql");
  }
  ExportOptions options;
  options.data_dir = dir.path();
  const auto exported = [&] {
    std::ostringstream out;
    EXPECT_TRUE(export_records(options, out));
    return lines_of(out.str());
  };
  const auto before = exported();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0]["timings"], nlohmann::json::object());
  EXPECT_FALSE(before[0].contains("damaged")) << before[0].dump();
  {
    sqlite::OpenOptions read_only;
    read_only.read_only = true;
    sqlite::Database db(ResultStore::file_in(dir.path()), read_only);
    EXPECT_FALSE(has_column(db, "records", "timings")) << "export changed the store";
  }

  ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
  auto record = result_record("edge-1", "e", 2, "web", netmon::CheckStatus::kUp,
                              std::chrono::system_clock::time_point(2s));
  std::get<CheckResult>(record.body).timings.connect = 1'400us;
  std::get<CheckResult>(record.body).timings.total = 1'500us;
  auto transaction = store.transaction();
  ASSERT_EQ(store.insert(1, record, 6), InsertOutcome::kInserted);
  transaction.commit();
  const auto after = exported();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0], before[0]) << "the old row prints as it did";
  EXPECT_EQ(after[1]["timings"], (nlohmann::json{{"connect_ms", 1.4}, {"total_ms", 1.5}}));
}

TEST(ResultExportOfAHandMadeStore, PrintsNullColumnsAsNullAndNamesEachOne) {
  netmon::testing::TempDir dir;
  {
    sqlite::Database db(ResultStore::file_in(dir.path()), {});
    db.exec(R"sql(
      CREATE TABLE monitors(id INTEGER PRIMARY KEY, name TEXT);
      CREATE TABLE records(monitor_id, epoch, seq, "check", type, target, ts_us, status, reason,
                           error, latency_us, details, stored_us);
      INSERT INTO monitors(id, name) VALUES(1, NULL);
      INSERT INTO records(monitor_id) VALUES(1);
      INSERT INTO records(monitor_id, epoch, seq, "check", ts_us, latency_us, details)
        VALUES(1, 'e', 1.5, 42, 1e300, -7, '[1,2]');)sql");
  }
  ExportOptions options;
  options.data_dir = dir.path();
  std::ostringstream out;
  ASSERT_TRUE(export_records(options, out));
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 2u);
  const auto& nulls = lines[0];
  for (const char* key : {"monitor", "epoch", "seq", "check", "type", "target", "timestamp",
                          "status", "reason", "error", "latency_ms", "details"}) {
    EXPECT_TRUE(nulls[key].is_null()) << key << " in " << nulls.dump();
    EXPECT_NE(nulls["damaged"].dump().find(std::string(key) + ": NULL"), std::string::npos)
        << key << " in " << nulls.dump();
  }
  EXPECT_EQ(nulls["timings"], nlohmann::json::object())
      << "a store without the column: no timings known, not damage";
  EXPECT_EQ(nulls["damaged"].dump().find("timings"), std::string::npos) << nulls.dump();
  const auto& odd = lines[1];
  EXPECT_TRUE(odd["seq"].is_null()) << odd.dump();
  EXPECT_EQ(odd["check"], "42");
  EXPECT_TRUE(odd["timestamp"].is_null()) << odd.dump();
  EXPECT_DOUBLE_EQ(odd["latency_ms"].get<double>(), -0.007);
  EXPECT_EQ(odd["details"], nlohmann::json::array({1, 2}));
  const std::string damaged = odd["damaged"].dump();
  for (const char* what : {"seq: a real number", "check: an integer", "timestamp: a real number",
                           "details: not a JSON object"}) {
    EXPECT_NE(damaged.find(what), std::string::npos) << what << " in " << damaged;
  }
}

TEST_F(ResultExportOfDamagedRows, CountsTheRecordsAndTheDamagedOnes) {
  insert_row(1, [](sqlite::Statement&) {});
  insert_row(2, [](sqlite::Statement& s) { s.bind(9, std::string_view("\xff")); });
  insert_row(3, [](sqlite::Statement& s) { s.bind(12, std::string_view("{")); });
  ExportOptions options;
  options.data_dir = dir_.path();
  std::ostringstream out;
  const auto counts = export_records(options, out);
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(counts->records, 3u);
  EXPECT_EQ(counts->damaged, 2u);
}

TEST(ResultExportOfACorruptStore, ReturnsAnErrorAndLeavesTheOutputValidJson) {
  netmon::testing::TempDir dir;
  {
    ResultStore store(dir.path(), sqlite::Synchronous::kNormal);
    const auto id = store.register_monitor("edge-1", "i1");
    auto transaction = store.transaction();
    for (std::uint64_t seq = 1; seq <= 2000; ++seq)
      store.insert(id, result_record("edge-1", "e", seq, "web"), 1);
    transaction.commit();
  }
  // The records' pages (beyond the first few: header, schema, monitors) overwritten.
  const auto file = ResultStore::file_in(dir.path());
  const auto size = std::filesystem::file_size(file);
  {
    std::fstream bytes(file, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(static_cast<std::streamoff>(size / 2));
    const std::string garbage(size / 4, '\x5a');
    bytes.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  ExportOptions options;
  options.data_dir = dir.path();
  options.format = ExportFormat::kJson;
  std::ostringstream out;
  const auto counts = export_records(options, out);
  ASSERT_FALSE(counts) << "a corrupt store was read without an error";
  EXPECT_NE(counts.error().message.find(file.string()), std::string::npos)
      << counts.error().message;
  EXPECT_TRUE(nlohmann::json::accept(out.str())) << out.str().substr(0, 200);
}

StoredValue text_value(std::string bytes) {
  StoredValue value;
  value.kind = StoredValue::Kind::kText;
  value.bytes = std::move(bytes);
  return value;
}

StoredValue integer_value(std::int64_t integer) {
  StoredValue value;
  value.kind = StoredValue::Kind::kInteger;
  value.integer = integer;
  return value;
}

StoredRow good_row() {
  StoredRow row;
  row.monitor = text_value("edge-1");
  row.epoch = text_value("e");
  row.seq = integer_value(1);
  row.check = text_value("web");
  row.type = text_value("tcp");
  row.target = text_value("127.0.0.1:9");
  row.ts_us = integer_value(1'795'000'000'000'000);
  row.status = text_value("up");
  row.reason = text_value("");
  row.error = text_value("");
  row.latency_us = integer_value(1500);
  row.details = text_value(R"({"port":9})");
  row.timings = text_value(R"({"connect_ms":1.25,"total_ms":1.5})");
  return row;
}

std::string damaged_of(const nlohmann::json& object) {
  return object.contains("damaged") ? object["damaged"].dump() : std::string();
}

TEST(RowToJson, AGoodRowHasTheDocumentedKeysAndNoDamagedKey) {
  const auto object = row_to_json(good_row());
  EXPECT_FALSE(object.contains("damaged")) << object.dump();
  EXPECT_EQ(object["timestamp"], "2026-11-18T11:06:40.000Z");
  EXPECT_DOUBLE_EQ(object["latency_ms"].get<double>(), 1.5);
  EXPECT_EQ(object["details"]["port"], 9);
  EXPECT_EQ(object["timings"], (nlohmann::json{{"connect_ms", 1.25}, {"total_ms", 1.5}}));
}

TEST(RowToJson, KeepsASeqBelowOneAndNullsATimeBefore1970OrBeyondTheClock) {
  for (const std::int64_t ts_us : {std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                                   std::numeric_limits<std::int64_t>::min()}) {
    StoredRow row = good_row();
    row.ts_us = integer_value(ts_us);
    row.seq = integer_value(-1);  // seq 2^64-1 as an older manager stored it
    row.latency_us = integer_value(std::numeric_limits<std::int64_t>::min());
    const auto object = row_to_json(row);
    EXPECT_TRUE(object["timestamp"].is_null()) << object.dump();
    EXPECT_EQ(object["seq"], -1);
    EXPECT_NE(damaged_of(object).find("timestamp: " + std::to_string(ts_us)), std::string::npos)
        << object.dump();
    EXPECT_NE(damaged_of(object).find("seq: -1 is not a sequence number"), std::string::npos)
        << object.dump();
    EXPECT_NO_THROW(static_cast<void>(object.dump()));
  }
  StoredRow last = good_row();
  last.ts_us = integer_value(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::duration::max())
                                 .count());
  const auto object = row_to_json(last);
  EXPECT_FALSE(object.contains("damaged")) << object.dump();
  EXPECT_EQ(object["timestamp"],
            format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(
                std::chrono::system_clock::time_point::max())));
}

TEST(RowToJson, PrintsDetailsNestedDeeperThan64AsText) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  StoredRow row = good_row();
  row.details = text_value(nested(64));
  EXPECT_TRUE(row_to_json(row)["details"].is_array());
  row.details = text_value(nested(65));
  const auto object = row_to_json(row);
  EXPECT_EQ(object["details"], nested(65));
  EXPECT_NE(damaged_of(object).find("details: not valid JSON or nested deeper than 64"),
            std::string::npos)
      << object.dump();
}

TEST(RowToJson, KeepsHugeTextWhole) {
  StoredRow row = good_row();
  std::string huge(1 << 20, 'x');
  huge[12345] = '\xff';
  row.target = text_value(huge);
  const auto object = row_to_json(row);
  const std::string target = object["target"];
  EXPECT_EQ(target.size(), huge.size() + 3);
  EXPECT_EQ(target.substr(12340, 9), "xxxxx\\xff");
  EXPECT_NO_THROW(static_cast<void>(object.dump()));
}

TEST(RowToJson, QuotesAtMost32BytesOfABadValueEscapedInItsNote) {
  StoredRow row = good_row();
  row.latency_us = text_value(std::string(1000, 'y') + "\n\xff");
  const auto object = row_to_json(row);
  EXPECT_TRUE(object["latency_ms"].is_null());
  const std::string damaged = damaged_of(object);
  EXPECT_NE(damaged.find("latency_ms: text '" + std::string(32, 'y') + "...'"), std::string::npos)
      << damaged;
  EXPECT_LT(damaged.size(), 200u);
}

TEST(RowToJson, TurnsEveryKindOfValueInEveryColumnIntoValidJson) {
  std::vector<StoredValue> values = {StoredValue{}, integer_value(-5), text_value("\xc3\x28"),
                                     text_value("{\"a\":\"\xfe\"}")};
  StoredValue real;
  real.kind = StoredValue::Kind::kReal;
  real.real = std::numeric_limits<double>::infinity();
  values.push_back(real);
  StoredValue blob;
  blob.kind = StoredValue::Kind::kBlob;
  blob.bytes = std::string("\0\x80\x01", 3);
  values.push_back(blob);
  for (const StoredValue& value : values) {
    StoredRow row;
    for (StoredValue* column :
         {&row.monitor, &row.epoch, &row.seq, &row.check, &row.type, &row.target, &row.ts_us,
          &row.status, &row.reason, &row.error, &row.latency_us, &row.timings, &row.details}) {
      *column = value;
    }
    const auto object = row_to_json(row);
    // dump() without a handler throws on invalid UTF-8: it must not here.
    std::string text;
    ASSERT_NO_THROW(text = object.dump()) << static_cast<int>(value.kind);
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
    EXPECT_TRUE(object.contains("damaged")) << text;
  }
}

TEST(ParseExportTime, AcceptsRfc3339AndDurationsBackFromNow) {
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + 8h;
  auto absolute = parse_export_time("--since", "2026-11-21T07:30:00Z", now);
  ASSERT_TRUE(absolute);
  EXPECT_EQ(*absolute, now - 30min);
  auto offset = parse_export_time("--since", "2026-11-21T09:30:00.250+02:00", now);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, now - 30min + 250ms);
  auto relative = parse_export_time("--since", "1h", now);
  ASSERT_TRUE(relative);
  EXPECT_EQ(*relative, now - 1h);
  auto bad = parse_export_time("--since", "yesterday", now);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("RFC 3339"), std::string::npos);
  EXPECT_FALSE(parse_export_time("--since", "2026-13-01T00:00:00Z", now));
  EXPECT_FALSE(parse_export_time("--since", "2026-11-21T07:30:00", now))
      << "RFC 3339 needs an offset";
}

TEST(ParseExportTime, RefusesATimeBeyondTheClockAndTakesAnyDurationBeyond1970AsEverything) {
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + 8h;
  auto far = parse_export_time("--since", "9999-12-31T00:00:00Z", now);
  ASSERT_FALSE(far) << "year 9999 overflowed into " << format_timestamp(*far);
  EXPECT_NE(far.error().message.find("outside 1970-01-01 to 2262-"), std::string::npos)
      << far.error().message;
  EXPECT_FALSE(parse_export_time("--since", "1969-12-31T23:59:59Z", now));
  auto everything = parse_export_time("--since", "1000000d", now);
  ASSERT_TRUE(everything);
  EXPECT_EQ(*everything, std::chrono::system_clock::time_point{});
  auto day = parse_export_time("--since", "1d", now);
  ASSERT_TRUE(day);
  EXPECT_EQ(*day, now - 24h);
}

}  // namespace
}  // namespace netmon::manager
