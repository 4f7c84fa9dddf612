#pragma once
// A ConsoleHost with no manager behind it: one monitor with one check, and
// commits that succeed without a file (or fail when `refuse_commits`), for
// driving ConsoleCommands in-process (the hostile tests, the console fuzzer).

#include <chrono>
#include <string>
#include <vector>

#include "manager/console_commands.hpp"

namespace netmon::manager::testing {

class FakeConsoleHost : public ConsoleHost {
 public:
  FakeConsoleHost() {
    CheckSpec spec;
    spec.id = "web-1";
    spec.type = "tcp";
    spec.params = {{"host", "127.0.0.1"}, {"port", "8080"}};
    config_.monitors["edge-1"] = {spec};
    config_.monitors["edge-2"] = {};
  }

  std::vector<MonitorStatus> monitor_rows() override {
    MonitorStatus row;
    row.name = "edge-1";
    row.state = "CONNECTED";
    row.config_version = version_;
    row.acked_config_version = acks ? version_ : 1;
    return {row};
  }
  std::vector<CheckStatus> check_rows() override {
    CheckStatus row;
    row.monitor = "edge-1";
    row.check = "web-1";
    row.spec = config_.monitors["edge-1"].front();
    row.state = "UP";
    return {row};
  }
  ManagerSummary summary() override { return ManagerSummary{}; }
  const ManagerConfig& running_config() override { return config_; }
  ConsoleResult<AppliedConfig> commit_config(const ManagerConfig& config) override {
    if (refuse_commits) return ConsoleFailure{"config_changed_on_disk", "refused by the test"};
    AppliedConfig applied;
    for (const auto& [name, checks] : config.monitors) {
      const auto before = config_.monitors.find(name);
      if (before == config_.monitors.end() || before->second != checks)
        applied.versions[name] = ++version_;
    }
    config_ = config;
    return applied;
  }
  ConsoleResult<ManagerConfig> reload_config_file() override { return config_; }

  bool refuse_commits = false;
  bool acks = true;  // edge-1 acknowledges every config at once

 private:
  ManagerConfig config_;
  std::uint64_t version_ = 1;
};

}  // namespace netmon::manager::testing
