#include "common/protocol/topics.hpp"

#include <gtest/gtest.h>

namespace netmon::protocol {
namespace {

TEST(Topics, NameEachBodyAsSectionThreeDoes) {
  EXPECT_EQ(result_topic("edge-1", "web"), "res/edge-1/web");
  EXPECT_EQ(loss_topic("edge-1"), "res/edge-1/_loss");
  EXPECT_EQ(check_event_topic("edge-1", "web"), "evt/check/edge-1/web");
  EXPECT_EQ(monitor_event_topic("edge-1"), "evt/monitor/edge-1");
}

TEST(Topics, AnEmptyLastPartNamesThePrefixOfEverythingBelowIt) {
  EXPECT_EQ(result_topic("edge-1", ""), "res/edge-1/");
  EXPECT_EQ(check_event_topic("edge-1", ""), "evt/check/edge-1/");
}

TEST(Topics, TellRecordsFromEventsByTheirPrefix) {
  EXPECT_EQ(topic_kind(loss_topic("edge-1")), TopicKind::kRecord);
  EXPECT_EQ(topic_kind(monitor_event_topic("edge-1")), TopicKind::kEvent);
  EXPECT_EQ(topic_kind("res"), TopicKind::kUnknown);
  EXPECT_EQ(topic_kind("probe/edge-1"), TopicKind::kUnknown);
}

}  // namespace
}  // namespace netmon::protocol
