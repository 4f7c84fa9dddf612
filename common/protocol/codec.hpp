#pragma once
// Encoding and decoding of NMP/1 bodies. Decoders take untrusted bytes and
// never throw: they return an Error naming the problem (truncated, bad
// signature, version mismatch, unknown type, bad field).

#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "common/protocol/check_codec.hpp"
#include "common/protocol/messages.hpp"
#include "common/protocol/topics.hpp"

namespace netmon::protocol {

std::string encode(const ControlMessage& message);
Expected<ControlMessage> decode_control(std::string_view bytes);

std::string encode_record(const Record& record);
Expected<Record> decode_record(std::string_view bytes);

// The monitor's hot path: byte for byte what encode_record and encode write,
// without building a Record (which would copy every result).
// encode_record(Record{key, result}):
std::string encode_result_record(const RecordKey& key, const CheckResult& result);
// encode(Replay{epoch, the records decoded}), each body (a RESULT or LOSS map
// as encode_record wrote it) copied verbatim, so a replayed record is exactly
// what was committed and published:
std::string encode_replay(std::string_view epoch, std::span<const std::string_view> bodies);

std::string encode_event(const Event& event);
Expected<Event> decode_event(std::string_view bytes);

// True for a HELLO that is well formed NMP but of another protocol version
// (§10): the one message a manager answers (REJECT bad_version) instead of
// dropping it, after decode_control refused it.
bool is_other_version_hello(std::string_view bytes);

// FNV-1a 64 of the check's canonical encoding, 16 lower-case hex digits (§5 CONFIG_ACK).
std::string check_digest(const CheckSpec& spec);

}  // namespace netmon::protocol
