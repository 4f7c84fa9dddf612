#pragma once
// A REPLAY message (PROTOCOL.md §5) built from the outbox's stored record
// bodies, so a replayed record is byte for byte what was committed and
// published. Same encoding protocol::encode(Replay) produces.

#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/messages.hpp"
#include "monitor/agent/result_outbox.hpp"

namespace netmon::agent {

// Room left for the REPLAY header inside the 1 MiB message limit.
inline constexpr std::size_t kReplayHeaderRoom = 4096;
inline constexpr std::size_t kMaxReplayBodyBytes = protocol::kMaxMessageBytes - kReplayHeaderRoom;

std::string encode_replay(std::string_view epoch, const std::vector<OutboxRecord>& records);

}  // namespace netmon::agent
