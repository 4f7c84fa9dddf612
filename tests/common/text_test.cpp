#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace netmon {
namespace {

TEST(Text, AcceptsWellFormedUtf8AndRefusesEveryKindOfMalformedSequence) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(is_valid_utf8(std::string("nul\0inside", 10)));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));               // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));       // overlong, 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));       // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80 continuation"));  // stray continuation
}

TEST(Text, EscapesOnlyTheBytesThatAreNotPartOfAWellFormedSequence) {
  EXPECT_EQ(to_valid_utf8("ok"), "ok");
  EXPECT_EQ(to_valid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(to_valid_utf8("ok\xff\xfe"), "ok\\xff\\xfe");
  EXPECT_EQ(to_valid_utf8("\xc3/"), "\\xc3/");
  EXPECT_EQ(to_valid_utf8("\xe2\x82"), "\\xe2\\x82");
  EXPECT_EQ(to_valid_utf8("a\xed\xa0\x80z"), "a\\xed\\xa0\\x80z");
  EXPECT_TRUE(is_valid_utf8(to_valid_utf8("\xf8\x88\x80\x80\x80\xc0")));
}

TEST(Text, LoggableTextIsPrintableAsciiAndBounded) {
  EXPECT_EQ(loggable("edge-1"), "edge-1");
  EXPECT_EQ(loggable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(loggable("line\nbreak"), "line\\x0abreak");
  EXPECT_EQ(loggable("back\\slash"), "back\\x5cslash") << "an escape must not be forgeable";
  EXPECT_EQ(loggable("caf\xc3\xa9"), "caf\\xc3\\xa9");
  const std::string cut = loggable(std::string(1000, 'x'), 10);
  EXPECT_EQ(cut, std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace netmon
