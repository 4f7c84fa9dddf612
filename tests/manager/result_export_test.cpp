#include "manager/result_export.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "manager/result_store.hpp"
#include "tests/manager/manager_test_support.hpp"

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
    store.begin();
    store.insert(edge2, result_record("edge-2", "b", 1, "dns", netmon::CheckStatus::kUp, now_ - 1h),
                 1);
    store.insert(edge1, result_record("edge-1", "a", 2, "web", netmon::CheckStatus::kDown, now_),
                 1);
    store.insert(edge1, result_record("edge-1", "a", 1, "web", netmon::CheckStatus::kUp, now_ - 2h),
                 1);
    store.insert(edge1, loss_record("edge-1", "a", 3, 1, 1), 1);
    store.commit();
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
};

TEST_F(ResultExport, JsonlHasExactlyTheDocumentedKeysOrderedByMonitorEpochSeq) {
  const auto lines = lines_of(run({}));
  ASSERT_EQ(lines.size(), 4u);
  const std::vector<std::string> keys = {"check",   "details", "epoch", "latency_ms",
                                         "monitor", "reason",  "seq",   "status",
                                         "target",  "ts",      "type"};
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
  EXPECT_EQ(lines[1]["ts"], format_timestamp(now_));
  EXPECT_EQ(lines[2]["check"], "_loss");
  EXPECT_EQ(lines[2]["status"], "loss");
  EXPECT_EQ(lines[2]["details"]["count"], 1);
  EXPECT_EQ(lines[3]["monitor"], "edge-2");
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

TEST_F(ResultExport, AMissingStoreIsAnErrorNamingTheDataDir) {
  ExportOptions options;
  options.data_dir = dir_ / "nothing-here";
  std::ostringstream out;
  auto count = export_records(options, out);
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("--data-dir"), std::string::npos);
}

TEST(ParseSince, AcceptsRfc3339AndDurationsBackFromNow) {
  const auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + 8h;
  auto absolute = parse_since("2026-11-21T07:30:00Z", now);
  ASSERT_TRUE(absolute);
  EXPECT_EQ(*absolute, now - 30min);
  auto offset = parse_since("2026-11-21T09:30:00.250+02:00", now);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, now - 30min + 250ms);
  auto relative = parse_since("1h", now);
  ASSERT_TRUE(relative);
  EXPECT_EQ(*relative, now - 1h);
  auto bad = parse_since("yesterday", now);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("RFC 3339"), std::string::npos);
  EXPECT_FALSE(parse_since("2026-13-01T00:00:00Z", now));
  EXPECT_FALSE(parse_since("2026-11-21T07:30:00", now)) << "RFC 3339 needs an offset";
}

}  // namespace
}  // namespace netmon::manager
