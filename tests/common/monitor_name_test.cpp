#include "common/protocol/monitor_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace netmon::protocol {
namespace {

TEST(MonitorName, AcceptsOneToSixtyFourOfTheProtocolsAlphabet) {
  EXPECT_TRUE(check_monitor_name("edge-1.a_B").ok());
  EXPECT_TRUE(check_monitor_name("x").ok());
  EXPECT_TRUE(check_monitor_name(std::string(64, 'x')).ok());
}

TEST(MonitorName, RefusesEmptyLongAndForeignNamesQuotingTheNameAndTheAlphabet) {
  const auto empty = check_monitor_name("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "monitor name '' is empty (use 1..64 of A-Z a-z 0-9 - _ .)");

  const auto long_name = check_monitor_name(std::string(65, 'x'));
  ASSERT_FALSE(long_name);
  EXPECT_NE(long_name.error().message.find("is longer than 64 characters"), std::string::npos);

  for (const char* name : {"a/b", "edge 1", "é", "a\nb"}) {
    const auto foreign = check_monitor_name(name);
    ASSERT_FALSE(foreign) << name;
    EXPECT_EQ(foreign.error().message, "monitor name '" + std::string(name) +
                                           "' may only use A-Z a-z 0-9 - _ . (use 1..64 of A-Z "
                                           "a-z 0-9 - _ .)");
  }
}

}  // namespace
}  // namespace netmon::protocol
