#pragma once
// A monitor's session as the manager keeps it (see docs/PROTOCOL.md, 7).

#include <string_view>

namespace netmon::manager {

// NEVER_SEEN until its first HELLO; CONNECTED until it says BYE (STOPPED) or
// falls silent or its connection closes (LOST); a HELLO connects it again,
// and so does any message from a LOST one.
enum class MonitorState { kNeverSeen, kConnected, kLost, kStopped };

// The names on the wire (EVENT from/to), in logs and in the status:
// NEVER_SEEN, CONNECTED, LOST, STOPPED.
std::string_view to_string(MonitorState state);

}  // namespace netmon::manager
