#pragma once
// The code side of docs/PROTOCOL.md (NMP/1): one struct per message, one
// table per message in the document. Field names here are the wire names.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"

namespace netmon::protocol {

inline constexpr std::string_view kSignature = "NMP";
inline constexpr std::uint64_t kVersion = 1;

// §9 limits.
inline constexpr std::size_t kMaxMessageBytes = 1 << 20;
inline constexpr std::size_t kMaxChecksPerConfig = 5000;
inline constexpr std::size_t kMaxRecordsPerReplay = 1000;
// A REPLAY's record bodies stay this far below the message limit, room for
// its header.
inline constexpr std::size_t kMaxReplayBodyBytes = kMaxMessageBytes - 4096;
// Seqs and loss ranges are stored as SQLite INTEGERs (signed 64-bit).
inline constexpr std::uint64_t kMaxSeq = (std::uint64_t{1} << 63) - 1;
inline constexpr std::size_t kReplayWindow = 4;

// §8 defaults.
inline constexpr std::uint32_t kDefaultHeartbeatMs = 1000;
inline constexpr std::uint32_t kDefaultLiveness = 3;

struct Hello {
  std::string name;
  std::string instance;
  std::uint64_t monitor_id = 0;
  std::uint64_t config_version = 0;
  std::string epoch;
  std::uint64_t first_seq = 1;
  std::uint64_t last_seq = 0;
  // Optional, together: an earlier outbox epoch that ended without being
  // drained (set aside as corrupt) and its newest seq at the last clean stop.
  std::string ended_epoch = {};
  std::uint64_t ended_last_seq = 0;
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  std::uint64_t monitor_id = 0;
  std::uint64_t acked_seq = 0;
  std::uint32_t heartbeat_ms = kDefaultHeartbeatMs;
  std::uint32_t liveness = kDefaultLiveness;
  bool operator==(const Welcome&) const = default;
};

struct Reject {
  std::string reason;  // name_in_use, unknown_name, bad_version
  std::string text;
  bool operator==(const Reject&) const = default;
};

struct Config {
  std::uint64_t version = 0;
  std::vector<CheckSpec> checks;
  bool operator==(const Config&) const = default;
};

struct ConfigAck {
  std::uint64_t version = 0;
  std::map<std::string, std::string> digests;  // check id -> digest
  std::string error;                           // empty unless the monitor refused the config
  bool operator==(const ConfigAck&) const = default;
};

// Where a record came from: monitor, epoch and seq are the unique key.
struct RecordKey {
  std::string monitor;
  std::uint64_t monitor_id = 0;
  std::string epoch;
  std::uint64_t seq = 0;
  bool operator==(const RecordKey&) const = default;
};

struct LossRange {
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::uint64_t count = 0;
  std::string reason;  // outbox_full, outbox_age
  bool operator==(const LossRange&) const = default;
};

// A RESULT or LOSS body (§6): what the outbox holds and the bus carries.
struct Record {
  RecordKey key;
  std::variant<CheckResult, LossRange> body;
  bool operator==(const Record&) const = default;
  bool is_loss() const { return std::holds_alternative<LossRange>(body); }
};

struct Replay {
  std::string epoch;
  std::vector<Record> records;
  bool operator==(const Replay&) const = default;
};

struct Ack {
  std::string epoch;
  std::uint64_t seq = 0;
  bool operator==(const Ack&) const = default;
};

struct ReplayReq {
  std::string epoch;
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  bool operator==(const ReplayReq&) const = default;
};

// A monitor's heartbeat names the newest seq in its outbox, so the manager
// notices records lost at the tail of the bus even when none follow them.
// Both fields are optional (older monitors, and the manager, send neither):
// an empty epoch means they were not sent.
struct Heartbeat {
  std::string epoch;
  std::uint64_t last_seq = 0;
  std::string outbox_error =
      {};  // a monitor's: why its outbox commits fail now ("" while they work)
  bool operator==(const Heartbeat&) const = default;
};

struct Bye {
  bool operator==(const Bye&) const = default;
};

using ControlMessage =
    std::variant<Hello, Welcome, Reject, Config, ConfigAck, Replay, Ack, ReplayReq, Heartbeat, Bye>;

struct Event {
  std::chrono::system_clock::time_point ts;
  std::string monitor;
  std::string check;  // empty for monitor events
  std::string from;
  std::string to;
  std::string text;
  bool operator==(const Event&) const = default;
};

// The message type name on the wire ("HELLO", "CONFIG_ACK", ...).
std::string_view type_name(const ControlMessage& message);

}  // namespace netmon::protocol
