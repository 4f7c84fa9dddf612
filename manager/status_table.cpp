#include "manager/status_table.hpp"

#include <algorithm>
#include <map>

namespace netmon::manager {

std::string format_status_table(const std::vector<MonitorStatus>& monitors,
                                const std::vector<CheckStatus>& checks) {
  std::size_t width = 4;
  for (const auto& monitor : monitors)
    width = std::max(width, monitor.name.size());
  // monitor -> state -> check ids
  std::map<std::string, std::map<std::string, std::string>> by_state;
  for (const auto& check : checks) {
    std::string& ids = by_state[check.monitor][check.state];
    ids += (ids.empty() ? "" : " ") + check.check;
  }
  std::string text = "status: " + std::to_string(monitors.size()) + " monitors";
  for (const auto& m : monitors) {
    text +=
        "\n  " + m.name + std::string(width - m.name.size(), ' ') + "  id=" + std::to_string(m.id) +
        " " + m.state + " config v" + std::to_string(m.config_version) + " (acked v" +
        std::to_string(m.acked_config_version) + ") stored_seq=" + std::to_string(m.stored_seq) +
        (m.epoch.empty() ? "" : " epoch=" + m.epoch) +
        (m.outbox_error.empty() ? "" : " OUTBOX FAILING: " + m.outbox_error);
    std::string states;
    for (const char* state : {"DOWN", "STALE", "UP", "UNKNOWN"}) {
      const auto& checks_of = by_state[m.name];
      if (auto it = checks_of.find(state); it != checks_of.end()) {
        states += std::string(states.empty() ? "" : "   ") + state + ": " + it->second;
      }
    }
    text += "\n    " + (states.empty() ? std::string("no checks") : states);
  }
  return text;
}

}  // namespace netmon::manager
