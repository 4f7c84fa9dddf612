#include "manager/monitor_session.hpp"

namespace netmon::manager {

std::string_view to_string(MonitorState state) {
  switch (state) {
    case MonitorState::kNeverSeen:
      return "NEVER_SEEN";
    case MonitorState::kConnected:
      return "CONNECTED";
    case MonitorState::kLost:
      return "LOST";
    case MonitorState::kStopped:
      return "STOPPED";
  }
  return "NEVER_SEEN";
}

}  // namespace netmon::manager
