#include "common/duration.hpp"

#include <gtest/gtest.h>

namespace netmon {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parse_duration("1m"), milliseconds(60'000));
  EXPECT_EQ(*parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(*parse_duration("1d"), milliseconds(86'400'000));
}

TEST(Duration, BareNumberIsSeconds) {
  EXPECT_EQ(*parse_duration("2.5"), milliseconds(2500));
}

TEST(Duration, RejectsGarbageWithAHint) {
  for (const char* text : {"", "s", "10x", "-1s", "1..2s", "ms5"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, "'" + std::string(text) +
                                          "' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, "
                                          "1h, 1d)");
  }
}

TEST(Duration, FormatsShortestExactSpelling) {
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(60'000)), "1m");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "1d");
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
}

}  // namespace
}  // namespace netmon
