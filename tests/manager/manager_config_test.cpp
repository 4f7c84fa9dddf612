#include "manager/manager_config.hpp"

#include <gtest/gtest.h>

#include "tests/manager/manager_test_support.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;

// The error for `text`, or a failure when it parsed.
std::string error_of(const std::string& text) {
  auto config = parse_manager_config(text, "netmon.yaml");
  if (config) {
    ADD_FAILURE() << "accepted:\n" << text;
    return {};
  }
  return config.error().message;
}

TEST(ManagerConfig, ReadsMonitorsChecksAndDefaultsInFileOrder) {
  auto config = parse_manager_config(R"(defaults: {interval: 10s, timeout: 3s, retries: 2}
monitors:
  edge-1:
    checks:
      - {id: echo, type: tcp_echo, host: 127.0.0.1, port: 12345, interval: 1s}
      - {id: web, type: http, url: "http://127.0.0.1:8080/", expect_status: [200]}
  edge-2:
    defaults: {retries: 5}
    checks:
      - {id: dns-a, type: dns, server: 127.0.0.1, port: 53, name: example.test, record: A}
)",
                                     "netmon.yaml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->monitors.size(), 2u);
  const auto& edge1 = config->monitors.at("edge-1");
  ASSERT_EQ(edge1.size(), 2u);
  EXPECT_EQ(edge1[0].id, "echo");
  EXPECT_EQ(edge1[0].interval, 1s);
  EXPECT_EQ(edge1[0].timeout, 800ms);  // an unwritten timeout follows a short interval down
  EXPECT_EQ(edge1[0].retries, 2);
  EXPECT_EQ(edge1[1].id, "web");
  EXPECT_EQ(edge1[1].interval, 10s);
  const auto& edge2 = config->monitors.at("edge-2");
  ASSERT_EQ(edge2.size(), 1u);
  EXPECT_EQ(edge2[0].retries, 5) << "per-monitor defaults were not applied";
  EXPECT_EQ(std::get<std::string>(edge2[0].params.at("record")), "A");
}

TEST(ManagerConfig, KeepsTheFileDefaultsAndEachMonitorsOwn) {
  auto config = parse_manager_config(R"(defaults: {interval: 20s, retries: 4}
monitors:
  edge-1:
    defaults: {interval: 1s}
    checks: []
  edge-2:
    checks: []
)",
                                     "netmon.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->defaults.interval, 20s);
  EXPECT_EQ(config->defaults.timeout, 3s);
  EXPECT_EQ(config->defaults.retries, 4);
  ASSERT_EQ(config->monitor_defaults.size(), 1u) << "edge-2 has no defaults of its own";
  const CheckDefaults& edge1 = defaults_of(*config, "edge-1");
  EXPECT_EQ(edge1.interval, 1s);
  EXPECT_EQ(edge1.retries, 4) << "a monitor's defaults start from the file's";
  EXPECT_EQ(&defaults_of(*config, "edge-2"), &config->defaults);
  EXPECT_TRUE(config->monitors.at("edge-1").empty()) << "a monitor without checks is kept";
}

TEST(ManagerConfig, ComparesDefaultsToo) {
  auto a = parse_manager_config("monitors:\n  e:\n    checks: []\n", "a.yaml");
  auto b =
      parse_manager_config("defaults: {retries: 3}\nmonitors:\n  e:\n    checks: []\n", "b.yaml");
  auto c = parse_manager_config("monitors:\n  e:\n    defaults: {}\n    checks: []\n", "c.yaml");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(*a == *a);
  EXPECT_FALSE(*a == *b);
  EXPECT_FALSE(*a == *c) << "a monitor's own defaults section is part of the config";
}

TEST(ManagerConfig, TheExampleOfTheTestsLoadsFromAFile) {
  testing::ManagerSetup setup;
  auto config = load_manager_config(setup.config_file());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->monitors.size(), 2u);
}

struct BadConfig {
  const char* what;
  std::string text;
  std::string expected;  // a substring of the error, after "netmon.yaml:LINE: "
  int line;
};

class ManagerConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ManagerConfigErrors, NameTheFileLineAndField) {
  const BadConfig& bad = GetParam();
  const std::string error = error_of(bad.text);
  const std::string location = "netmon.yaml:" + std::to_string(bad.line) + ": ";
  EXPECT_EQ(error.rfind(location, 0), 0u) << bad.what << ": " << error;
  EXPECT_NE(error.find(bad.expected), std::string::npos) << bad.what << ": " << error;
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, ManagerConfigErrors,
    ::testing::Values(
        BadConfig{"yaml syntax", "monitors:\n  edge-1: {checks: [\n", "", 3},
        BadConfig{"unknown top-level key", "monitors: {}\nmonitor: {}\n", "unknown key 'monitor'",
                  2},
        BadConfig{"monitors not a map", "monitors: [a, b]\n", "monitors must be a map", 1},
        BadConfig{"bad monitor name", "monitors:\n  'edge 1': {checks: []}\n",
                  "monitor name 'edge 1'", 2},
        BadConfig{"long monitor name", "monitors:\n  " + std::string(65, 'a') + ": {checks: []}\n",
                  "longer than 64", 2},
        BadConfig{"no checks list", "monitors:\n  edge-1: {}\n", "no 'checks' list", 2},
        BadConfig{"unknown monitor key", "monitors:\n  edge-1:\n    checks: []\n    check: []\n",
                  "unknown key 'monitors.edge-1.check'", 4},
        BadConfig{"bad defaults", "defaults: {retries: 0}\nmonitors: {}\n", "defaults.retries", 1},
        BadConfig{"bad monitor defaults",
                  "monitors:\n  edge-1:\n    defaults: {interval: soon}\n    checks: []\n",
                  "defaults.interval", 3},
        BadConfig{"missing type",
                  "monitors:\n  edge-1:\n    checks:\n      - {id: a, host: 127.0.0.1}\n",
                  "check 'a'", 4},
        BadConfig{"unknown type",
                  "monitors:\n  edge-1:\n    checks:\n      - {id: a, type: gopher}\n",
                  "type 'gopher' is unknown", 4},
        BadConfig{"bad interval",
                  "monitors:\n  edge-1:\n    checks:\n      - {id: a, type: tcp, host: h, port: 1, "
                  "interval: 1x}\n",
                  "interval", 4},
        BadConfig{"type parameter out of range",
                  "monitors:\n  edge-1:\n    checks:\n      - {id: a, type: tcp, host: 127.0.0.1, "
                  "port: 70000}\n",
                  "port", 4},
        BadConfig{"type parameter on its own line",
                  "monitors:\n  edge-1:\n    checks:\n      - id: a\n        type: tcp\n"
                  "        host: 127.0.0.1\n        port: 70000\n",
                  "port", 7},
        BadConfig{"unknown type parameter",
                  "monitors:\n  edge-1:\n    checks:\n      - {id: a, type: tcp, host: 127.0.0.1, "
                  "port: 1, colour: red}\n",
                  "colour", 4},
        BadConfig{"duplicate check id",
                  "monitors:\n  edge-1:\n    checks:\n"
                  "      - {id: a, type: tcp, host: 127.0.0.1, port: 1}\n"
                  "      - {id: a, type: tcp, host: 127.0.0.1, port: 2}\n",
                  "ids must be unique", 5}),
    [](const auto& param_info) {
      std::string name = param_info.param.what;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(ManagerConfig, TheSameCheckIdMayBeUsedByTwoMonitors) {
  auto config = parse_manager_config(
      "monitors:\n  a:\n    checks: [{id: x, type: tcp, host: 127.0.0.1, port: 1}]\n"
      "  b:\n    checks: [{id: x, type: tcp, host: 127.0.0.1, port: 1}]\n",
      "netmon.yaml");
  EXPECT_TRUE(config) << config.error().message;
}

TEST(ManagerConfig, AMissingFileIsNamed) {
  auto config = load_manager_config("/nonexistent/netmon.yaml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("/nonexistent/netmon.yaml"), std::string::npos);
}

}  // namespace
}  // namespace netmon::manager
