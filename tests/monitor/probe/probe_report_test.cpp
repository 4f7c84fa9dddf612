#include "monitor/probe/probe_report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

namespace netmon::probe {
namespace {

using std::chrono::microseconds;

std::size_t entries_in(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

nlohmann::ordered_json read_json(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::ordered_json::parse(text.str());
}

CheckResult result_of(std::string id, CheckStatus status, microseconds latency,
                      std::string reason = {}) {
  CheckResult result;
  result.check_id = std::move(id);
  result.type = "tcp";
  result.target = "127.0.0.1:80";
  result.status = status;
  result.latency = latency;
  result.reason = std::move(reason);
  result.timings.total = latency;
  return result;
}

TEST(ProbeReport, StatisticsJsonHasTotalsRatesLatencyErrorsTypesChecksAndPorts) {
  ProbeStatistics stats({{"127.0.0.1", "icmp", "icmp"}, {"127.0.0.1", "tcp", "tcp/80"}});
  stats.add(0, result_of("icmp-127.0.0.1", CheckStatus::kUp, microseconds(50)));
  stats.add(1, result_of("tcp-127.0.0.1-80", CheckStatus::kUp, microseconds(150)));
  stats.add(1, result_of("tcp-127.0.0.1-80", CheckStatus::kUp, microseconds(250)));
  stats.add(1,
            result_of("tcp-127.0.0.1-80", CheckStatus::kDown, microseconds(1), "connect_refused"));
  const nlohmann::ordered_json json = statistics_json(stats, {0, 80});
  ASSERT_TRUE(json.contains("127.0.0.1"));
  const nlohmann::ordered_json& target = json["127.0.0.1"];
  EXPECT_EQ(target["total"], 4);
  EXPECT_EQ(target["successful"], 3);
  EXPECT_DOUBLE_EQ(target["success_rate"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(target["loss_pct"].get<double>(), 25.0);
  // No latency for the target: a ping and a connect time do not average.
  EXPECT_FALSE(target.contains("latency_ms"));
  EXPECT_FALSE(target.contains("avg_ms"));
  const nlohmann::ordered_json& icmp = target["types"]["icmp"];
  EXPECT_DOUBLE_EQ(icmp["latency_ms"]["median"].get<double>(), 0.05);
  const nlohmann::ordered_json& tcp = target["types"]["tcp"];
  EXPECT_DOUBLE_EQ(tcp["latency_ms"]["min"].get<double>(), 0.15);
  EXPECT_DOUBLE_EQ(tcp["latency_ms"]["max"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(tcp["latency_ms"]["avg"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(tcp["latency_ms"]["median"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(tcp["latency_ms"]["p95"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(tcp["loss_pct"].get<double>(), 33.33);
  EXPECT_EQ(target["error_count"], 1);
  EXPECT_EQ(target["errors"], (nlohmann::ordered_json{{"connect_refused", 1}}));
  ASSERT_TRUE(target["checks"].contains("icmp"));
  ASSERT_TRUE(target["checks"].contains("tcp/80"));
  EXPECT_DOUBLE_EQ(target["checks"]["tcp/80"]["success_rate"].get<double>(), 66.67);
  EXPECT_DOUBLE_EQ(target["checks"]["tcp/80"]["avg_ms"].get<double>(), 0.2);
  EXPECT_EQ(target["ports"].size(), 1u);  // icmp is not a port
  EXPECT_EQ(target["ports"]["80"], target["checks"]["tcp/80"]);
}

TEST(ProbeReport, StatisticsJsonUsesNullForFiguresThatDoNotExist) {
  ProbeStatistics stats(std::vector<ProbeStatistics::Row>{{"db", "tcp", "tcp/5432"}});
  stats.add(0, result_of("tcp-db-5432", CheckStatus::kTimeout, microseconds(800'000), "timeout"));
  const nlohmann::ordered_json db = statistics_json(stats, {5432})["db"];
  EXPECT_DOUBLE_EQ(db["success_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(db["loss_pct"].get<double>(), 100.0);
  const nlohmann::ordered_json& port = db["ports"]["5432"];
  EXPECT_TRUE(port["latency_ms"]["min"].is_null());
  EXPECT_TRUE(port["latency_ms"]["median"].is_null());
  EXPECT_TRUE(port["latency_ms"]["p95"].is_null());
  EXPECT_TRUE(port["avg_ms"].is_null());
}

TEST(ProbeReport, WritesSessionStatisticsAndEveryResultWithItsRound) {
  testing::TempDir dir("netmon-probe-test-");
  const std::string path = (dir / "results.json").string();
  RawDataSpool spool;
  spool.append(result_of("a", CheckStatus::kUp, microseconds(1500)), 1);
  spool.append(result_of("b", CheckStatus::kDown, microseconds(20), "connect_refused"), 1);
  spool.append(result_of("a", CheckStatus::kUp, microseconds(2500)), 2);
  const nlohmann::ordered_json session{{"start", "x"}, {"rounds", 2}};
  const nlohmann::ordered_json statistics{{"127.0.0.1", {{"total", 3}}}};
  ASSERT_TRUE(write_json_report(path, session, statistics, spool).ok());

  const nlohmann::ordered_json json = read_json(path);
  EXPECT_EQ(json["session"], session);
  EXPECT_EQ(json["statistics"], statistics);
  ASSERT_EQ(json["raw_data"].size(), 3u);
  const nlohmann::ordered_json& second = json["raw_data"][1];
  EXPECT_EQ(second["round"], 1);
  EXPECT_EQ(second["check"], "b");
  EXPECT_EQ(second["type"], "tcp");
  EXPECT_EQ(second["target"], "127.0.0.1:80");
  EXPECT_EQ(second["status"], "down");
  EXPECT_EQ(second["reason"], "connect_refused");
  EXPECT_DOUBLE_EQ(second["latency_ms"].get<double>(), 0.02);
  EXPECT_TRUE(second.contains("timestamp"));
  EXPECT_TRUE(second.contains("details"));
  EXPECT_EQ(json["raw_data"][2]["round"], 2);
  EXPECT_EQ(entries_in(dir.path()), 1u);  // the temporary file was renamed, not left behind
}

TEST(ProbeReport, WritesAnEmptyRawDataList) {
  testing::TempDir dir("netmon-probe-test-");
  RawDataSpool spool;
  ASSERT_TRUE(write_json_report((dir / "r.json").string(), {{"rounds", 0}},
                                nlohmann::ordered_json::object(), spool)
                  .ok());
  const nlohmann::ordered_json json = read_json((dir / "r.json").string());
  EXPECT_TRUE(json["raw_data"].is_array());
  EXPECT_TRUE(json["raw_data"].empty());
}

TEST(ProbeReport, SpoolsManyResultsThroughItsTemporaryFile) {
  testing::TempDir dir("netmon-probe-test-");
  RawDataSpool spool;
  constexpr int kResults = 3000;  // well past the 64 KiB in-memory buffer
  for (int i = 0; i < kResults; ++i) {
    CheckResult result = result_of("c" + std::to_string(i), CheckStatus::kUp, microseconds(i));
    result.details = {{"note", "line\nbreak"}};
    spool.append(result, static_cast<std::uint64_t>(i / 10 + 1));
  }
  EXPECT_EQ(spool.size(), static_cast<std::uint64_t>(kResults));
  ASSERT_TRUE(write_json_report((dir / "r.json").string(), {}, {}, spool).ok());
  const nlohmann::ordered_json json = read_json((dir / "r.json").string());
  ASSERT_EQ(json["raw_data"].size(), static_cast<std::size_t>(kResults));
  EXPECT_EQ(json["raw_data"][2999]["check"], "c2999");
  EXPECT_EQ(json["raw_data"][2999]["round"], 300);
  EXPECT_EQ(json["raw_data"][5]["details"]["note"], "line\nbreak");
}

TEST(ProbeReport, ReportsWhyTheFileCouldNotBeWritten) {
  testing::TempDir dir("netmon-probe-test-");
  RawDataSpool spool;
  const std::string path = (dir / "gone/results.json").string();
  const auto written = write_json_report(path, {}, {}, spool);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().message, "cannot write '" + path + "' (No such file or directory)");
}

}  // namespace
}  // namespace netmon::probe
