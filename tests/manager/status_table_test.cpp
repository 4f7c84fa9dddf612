#include "manager/status_table.hpp"

#include <gtest/gtest.h>

namespace netmon::manager {
namespace {

TEST(StatusTable, ShowsEachMonitorWithItsStateConfigSeqAndCheckStatesGrouped) {
  const std::string table =
      format_status_table({{"edge-1", 1, "CONNECTED", 3, 3, 120, "00000000000000aa"},
                           {"edge-22", 0, "NEVER_SEEN", 1, 0, 0, ""}},
                          {{"edge-1", "web", "UP"},
                           {"edge-1", "dns", "DOWN"},
                           {"edge-1", "ntp", "UP"},
                           {"edge-22", "echo", "UNKNOWN"}});
  EXPECT_NE(table.find("status: 2 monitors"), std::string::npos) << table;
  EXPECT_NE(
      table.find(
          "edge-1   id=1 CONNECTED config v3 (acked v3) stored_seq=120 epoch=00000000000000aa"),
      std::string::npos)
      << table;
  EXPECT_NE(table.find("DOWN: dns   UP: web ntp"), std::string::npos) << table;
  EXPECT_NE(table.find("edge-22  id=0 NEVER_SEEN"), std::string::npos) << table;
  EXPECT_NE(table.find("UNKNOWN: echo"), std::string::npos) << table;
}

TEST(StatusTable, SaysWhenAMonitorsOutboxIsFailing) {
  MonitorStatus failing{"edge-1", 1, "CONNECTED", 3, 3, 120, "00000000000000aa"};
  failing.outbox_error = "database or disk is full";
  const std::string table = format_status_table({failing}, {});
  EXPECT_NE(table.find("stored_seq=120 epoch=00000000000000aa OUTBOX FAILING: database or disk "
                       "is full"),
            std::string::npos)
      << table;
  EXPECT_EQ(format_status_table({{"edge-1", 1, "CONNECTED", 3, 3, 120, "aa"}}, {}).find("OUTBOX"),
            std::string::npos);
}

}  // namespace
}  // namespace netmon::manager
