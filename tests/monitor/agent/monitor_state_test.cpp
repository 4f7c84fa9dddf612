#include "monitor/agent/monitor_state.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

CheckSpec tcp_check(std::string id, std::string port) {
  CheckSpec spec;
  spec.id = std::move(id);
  spec.type = "tcp";
  spec.interval = std::chrono::seconds(5);
  spec.params = {{"host", std::string("127.0.0.1")}, {"port", std::move(port)}};
  return spec;
}

TEST(MonitorState, MakesAThirtyTwoHexDigitInstanceIdOnceAndKeepsIt) {
  testing::TempDir dir("netmon-state-");
  std::string instance;
  {
    MonitorState state(dir.path(), sqlite::Synchronous::kNormal);
    instance = state.instance();
    EXPECT_EQ(instance.size(), 32u);
    EXPECT_EQ(instance.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(state.monitor_id(), 0u);
    EXPECT_EQ(state.config().version, 0u);
  }
  MonitorState state(dir.path(), sqlite::Synchronous::kNormal);
  EXPECT_EQ(state.instance(), instance);
}

TEST(MonitorState, KeepsTheAssignedMonitorIdAndTheLastConfigAcrossReopen) {
  testing::TempDir dir("netmon-state-");
  const protocol::Config config{4, {tcp_check("web", "80"), tcp_check("ssh", "22")}};
  {
    MonitorState state(dir.path(), sqlite::Synchronous::kNormal);
    state.save_monitor_id(17);
    state.save_config(config);
  }
  MonitorState state(dir.path(), sqlite::Synchronous::kNormal);
  EXPECT_EQ(state.monitor_id(), 17u);
  EXPECT_EQ(state.config(), config);
  EXPECT_TRUE(state.config_error().empty());
}

}  // namespace
}  // namespace netmon::agent
