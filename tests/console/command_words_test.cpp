#include "manager/console/command_words.hpp"

#include <gtest/gtest.h>

namespace netmon::console {
namespace {

std::vector<std::string> words(std::string_view line) {
  auto split = split_words(line);
  EXPECT_TRUE(split.ok()) << split.error().message;
  return split ? *split : std::vector<std::string>{};
}

TEST(SplitWords, SplitsAtBlanks) {
  EXPECT_EQ(words("  add edge-1\ttcp  host=a "),
            (std::vector<std::string>{"add", "edge-1", "tcp", "host=a"}));
  EXPECT_TRUE(words("   ").empty());
}

TEST(SplitWords, QuotesGroupAndBackslashEscapes) {
  EXPECT_EQ(words(R"(set e/w 'body=a b' "x=\"q\" \\" c\ d)"),
            (std::vector<std::string>{"set", "e/w", "body=a b", R"(x="q" \)", "c d"}));
  EXPECT_EQ(words(R"(a'b'"c")"), std::vector<std::string>{"abc"});
}

TEST(SplitWords, KeepsAQuotedEmptyWord) {
  EXPECT_EQ(words(R"(set x '' "")"), (std::vector<std::string>{"set", "x", "", ""}));
}

TEST(SplitWords, SingleQuotesKeepBackslashes) {
  EXPECT_EQ(words(R"('a\b')"), std::vector<std::string>{R"(a\b)"});
}

TEST(SplitWords, RefusesUnterminatedQuotesAndATrailingBackslash) {
  const auto single = split_words("add 'x");
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.error().message.find("unterminated '"), std::string::npos);
  const auto dquote = split_words("add \"x");
  ASSERT_FALSE(dquote.ok());
  EXPECT_NE(dquote.error().message.find("unterminated \""), std::string::npos);
  EXPECT_FALSE(split_words("add x\\").ok());
}

}  // namespace
}  // namespace netmon::console
