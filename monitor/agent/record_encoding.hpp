#pragma once
// The two encodings the outbox needs on its hot path, byte for byte what
// common/protocol's codec produces but without building a protocol::Record
// (which would copy every result): a RESULT body from a key and a result,
// and a REPLAY message from stored bodies, so a replayed record is exactly
// what was committed and published.

#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/messages.hpp"
#include "monitor/agent/result_outbox.hpp"

namespace netmon::agent {

// Room left for the REPLAY header inside the 1 MiB message limit.
inline constexpr std::size_t kReplayHeaderRoom = 4096;
inline constexpr std::size_t kMaxReplayBodyBytes = protocol::kMaxMessageBytes - kReplayHeaderRoom;

// protocol::encode_record(Record{key, result}).
std::string encode_result_record(const protocol::RecordKey& key, const CheckResult& result);

// protocol::encode(Replay{epoch, records decoded}).
std::string encode_replay(std::string_view epoch, const std::vector<OutboxRecord>& records);

}  // namespace netmon::agent
