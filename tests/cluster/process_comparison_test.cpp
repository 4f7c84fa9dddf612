// The exactly-once verdict of the process tests: a produced log against an
// export. It must catch every way a store can be wrong, or the process tests
// would pass on a broken bus.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/process_cluster.hpp"

namespace netmon::cluster {
namespace {

KeyCounts keys(std::initializer_list<std::pair<const char*, std::uint64_t>> list) {
  KeyCounts counts;
  for (const auto& [epoch, seq] : list)
    ++counts[{epoch, seq}];
  return counts;
}

TEST(ExactlyOnceComparison, AcceptsEveryProducedKeyStoredOnce) {
  const auto c = compare(keys({{"e1", 1}, {"e1", 2}}), keys({{"e1", 1}, {"e1", 2}}));
  EXPECT_TRUE(c.exact());
  EXPECT_EQ(exactly_once_problems({{"edge-1", c}}, 2), "");
}

TEST(ExactlyOnceComparison, ReportsAMissingADuplicatedAndAnUnexpectedKey) {
  const auto missing = compare(keys({{"e1", 1}, {"e1", 2}}), keys({{"e1", 1}}));
  EXPECT_EQ(missing.missing, 1u);
  EXPECT_FALSE(missing.exact());
  const auto duplicated = compare(keys({{"e1", 1}}), keys({{"e1", 1}, {"e1", 1}}));
  EXPECT_EQ(duplicated.duplicated, 1u);
  EXPECT_FALSE(duplicated.exact());
  const auto unexpected = compare(keys({{"e1", 1}}), keys({{"e1", 1}, {"e2", 1}}));
  EXPECT_EQ(unexpected.unexpected, 1u);
  EXPECT_FALSE(unexpected.exact());
  EXPECT_NE(exactly_once_problems({{"edge-1", unexpected}}, 1).find("unexpected 1"),
            std::string::npos);
}

TEST(ExactlyOnceComparison, ReportsAMonitorThatProducedTooLittleToProveAnything) {
  const auto c = compare(keys({{"e1", 1}}), keys({{"e1", 1}}));
  EXPECT_NE(exactly_once_problems({{"edge-1", c}}, 100), "");
}

TEST(ExactlyOnceComparison, ReadsProducedLogsAndExportLinesAndSkipsTheRest) {
  testing::TempDir dir;
  std::ofstream(dir / "produced") << "e1 1\ne1 2\ne1 3";  // torn last line
  EXPECT_EQ(read_produced_log(dir / "produced"), keys({{"e1", 1}, {"e1", 2}}));
  EXPECT_EQ(count_file_lines(dir / "produced"), 2u);

  const auto exported = parse_export(
      "2026-11-21T08:00:00.000 info  [export] a log line\n"
      R"({"monitor":"edge-1","epoch":"e1","seq":1,"check":"c"})"
      "\n"
      R"({"monitor":"edge-2","epoch":"e9","seq":7,"check":"c"})"
      "\n");
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_EQ(exported.at("edge-1"), keys({{"e1", 1}}));
  EXPECT_EQ(exported.at("edge-2"), keys({{"e9", 7}}));
}

}  // namespace
}  // namespace netmon::cluster
