#include "monitor/probe/probe_statistics.hpp"

#include <gtest/gtest.h>

#include "monitor/probe/probe_report.hpp"

namespace netmon::probe {
namespace {

using std::chrono::microseconds;

CheckResult up_after(microseconds latency) {
  CheckResult result;
  result.status = CheckStatus::kUp;
  result.latency = latency;
  return result;
}

CheckResult failed(CheckStatus status, std::string reason, microseconds latency = microseconds(0)) {
  CheckResult result;
  result.status = status;
  result.reason = std::move(reason);
  result.latency = latency;
  return result;
}

TEST(ProbeStatistics, MedianOfAnOddCountIsTheMiddleValue) {
  std::vector<microseconds> samples{microseconds(9), microseconds(1), microseconds(5)};
  EXPECT_EQ(median_of(samples), microseconds(5));
}

TEST(ProbeStatistics, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  std::vector<microseconds> samples{microseconds(40), microseconds(10), microseconds(30),
                                    microseconds(20)};
  EXPECT_EQ(median_of(samples), microseconds(25));
  std::vector<microseconds> two{microseconds(100), microseconds(300)};
  EXPECT_EQ(median_of(two), microseconds(200));
}

TEST(ProbeStatistics, MedianOfNothingIsNone) {
  std::vector<microseconds> none;
  EXPECT_EQ(median_of(none), std::nullopt);
  EXPECT_EQ(p95_of(none), std::nullopt);
}

TEST(ProbeStatistics, P95IsTheNearestRankSample) {
  std::vector<microseconds> hundred;
  for (int i = 100; i >= 1; --i)
    hundred.push_back(microseconds(i));
  EXPECT_EQ(p95_of(hundred), microseconds(95));
  std::vector<microseconds> ten;
  for (int i = 1; i <= 10; ++i)
    ten.push_back(microseconds(i * 10));
  EXPECT_EQ(p95_of(ten), microseconds(100));  // rank ceil(9.5) = 10
  std::vector<microseconds> one{microseconds(7)};
  EXPECT_EQ(p95_of(one), microseconds(7));
}

TEST(ProbeStatistics, CountsSuccessRateAndLatencyOfSuccessfulResultsOnly) {
  Counters counters;
  EXPECT_EQ(counters.success_rate(), std::nullopt);
  EXPECT_EQ(counters.latency().has_value(), false);
  counters.add(up_after(microseconds(1000)));
  counters.add(up_after(microseconds(3000)));
  counters.add(up_after(microseconds(2000)));
  counters.add(failed(CheckStatus::kTimeout, "timeout", microseconds(800'000)));
  EXPECT_EQ(counters.total(), 4u);
  EXPECT_EQ(counters.successful(), 3u);
  EXPECT_EQ(counters.error_count(), 1u);
  EXPECT_DOUBLE_EQ(*counters.success_rate(), 75.0);
  EXPECT_DOUBLE_EQ(*counters.loss_rate(), 25.0);
  const auto latency = counters.latency();
  ASSERT_TRUE(latency.has_value());
  EXPECT_EQ(latency->min, microseconds(1000));
  EXPECT_EQ(latency->max, microseconds(3000));  // the timeout's 800 ms is not a latency
  EXPECT_EQ(latency->avg, microseconds(2000));
  EXPECT_EQ(latency->median, microseconds(2000));
  EXPECT_EQ(latency->p95, microseconds(3000));
}

TEST(ProbeStatistics, NamesTheMostCommonFailureReason) {
  Counters counters;
  counters.add(failed(CheckStatus::kDown, "connect_refused"));
  counters.add(failed(CheckStatus::kTimeout, "timeout"));
  counters.add(failed(CheckStatus::kDown, "connect_refused"));
  counters.add(failed(CheckStatus::kError, ""));  // no reason: counted under its status
  EXPECT_EQ(counters.error_count(), 4u);
  EXPECT_EQ(counters.top_error(), "connect_refused");
  EXPECT_EQ(counters.errors().at("connect_refused"), 2u);
  EXPECT_EQ(counters.errors().at("timeout"), 1u);
  EXPECT_EQ(counters.errors().at("error"), 1u);
}

TEST(ProbeStatistics, SumsChecksIntoTheirTargetsInFirstUseOrder) {
  ProbeStatistics stats(
      {{"web", "icmp", "icmp"}, {"db", "tcp", "tcp/5432"}, {"web", "tcp", "tcp/443"}});
  stats.add(0, up_after(microseconds(100)));
  stats.add(1, failed(CheckStatus::kDown, "connect_refused"));
  stats.add(2, up_after(microseconds(300)));
  stats.add(2, failed(CheckStatus::kTimeout, "timeout"));
  ASSERT_EQ(stats.groups().size(), 2u);
  const auto& web = stats.groups()[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.checks, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(web.counters.total(), 3u);
  EXPECT_EQ(web.counters.successful(), 2u);
  EXPECT_EQ(web.counters.latency()->median, microseconds(200));
  ASSERT_EQ(web.types.size(), 2u);
  EXPECT_EQ(web.types[0].type, "icmp");
  EXPECT_EQ(web.types[0].counters.latency()->median, microseconds(100));
  EXPECT_EQ(web.types[1].type, "tcp");
  EXPECT_EQ(web.types[1].checks, (std::vector<std::size_t>{2}));
  EXPECT_EQ(web.types[1].counters.latency()->median, microseconds(300));
  EXPECT_EQ(stats.groups()[1].name, "db");
  EXPECT_EQ(stats.check(2).total(), 2u);
  EXPECT_EQ(stats.label(2), "tcp/443");
  EXPECT_EQ(stats.result_count(), 4u);
}

TEST(ProbeStatistics, PrintsAnAlignedTableWithPingAndConnectTimesApart) {
  ProbeStatistics stats({{"127.0.0.1", "icmp", "icmp"},
                         {"127.0.0.1", "tcp", "tcp/80"},
                         {"127.0.0.1", "tcp", "tcp/81"},
                         {"[::1]:81", "tcp", "tcp-1"}});
  stats.add(0, up_after(microseconds(30)));
  stats.add(0, up_after(microseconds(50)));
  stats.add(1, up_after(microseconds(120)));
  stats.add(1, up_after(microseconds(80)));
  stats.add(2, failed(CheckStatus::kDown, "connect_refused"));
  stats.add(2, failed(CheckStatus::kTimeout, "timeout"));
  stats.add(2, failed(CheckStatus::kDown, "connect_refused"));
  stats.add(3, up_after(microseconds(90)));
  EXPECT_EQ(
      format_statistics(stats, "statistics: 3 rounds in 2.0s"),
      "--- statistics: 3 rounds in 2.0s ---\n"
      "TARGET / CHECK   RESULTS    LOSS    MIN ms    AVG ms    MAX ms  MEDIAN ms    P95 ms  "
      "ERRORS\n"
      "127.0.0.1              7   42.9%                                                     3 "
      "(connect_refused 2, other 1)\n"
      "  icmp                 2    0.0%     0.030     0.040     0.050      0.040     0.050  0\n"
      "  tcp                  5   60.0%     0.080     0.100     0.120      0.100     0.120  3 "
      "(connect_refused 2, other 1)\n"
      "    tcp/80             2    0.0%     0.080     0.100     0.120      0.100     0.120  0\n"
      "    tcp/81             3  100.0%         -         -         -          -         -  3 "
      "(connect_refused 2, other 1)\n"
      "[::1]:81               1    0.0%                                                     0\n"
      "  tcp-1                1    0.0%     0.090     0.090     0.090      0.090     0.090  0\n");
}

TEST(ProbeStatistics, PrintsAResultLinePerCheckWithReasonAndError) {
  CheckResult result = failed(CheckStatus::kDown, "connect_refused", microseconds(1234));
  result.check_id = "tcp-1";
  result.target = "127.0.0.1:81";
  result.error = "connect: Connection refused";
  result.timestamp =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  EXPECT_EQ(format_result_line(result, 3, 8, 14),
            "2023-11-14T22:13:20.123Z  #3    tcp-1     127.0.0.1:81    down        1.234 ms  "
            "connect_refused: connect: Connection refused\n");
  result.status = CheckStatus::kUp;
  EXPECT_EQ(format_result_line(result, 12, 5, 12),
            "2023-11-14T22:13:20.123Z  #12   tcp-1  127.0.0.1:81  up          1.234 ms\n");
}

}  // namespace
}  // namespace netmon::probe
