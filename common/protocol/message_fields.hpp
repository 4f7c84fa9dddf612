#pragma once
// Each NMP/1 body's field list, in wire order: key, member and presence, the
// tables of docs/PROTOCOL.md §5 and §6 in code. The codec encodes and decodes
// every body from its list, so a key is spelled once and a map's size is
// counted from the list. The header fields (proto, v, type) come first in
// every body and are the codec's. The check map and the result map (with its
// timings) have lists of their own, used by common/protocol/check_codec.cpp.

#include <string_view>
#include <tuple>

#include "common/protocol/messages.hpp"

namespace netmon::protocol {

enum class Presence {
  kRequired,   // always sent; a body without it is refused
  kDefaulted,  // always sent; absent reads as the member's default
  kOptional,   // sent when not empty; absent reads as empty
  // A message's kTogether fields are all sent (when the first, a string, is
  // not empty) or none; a body with only some of them is refused.
  kTogether,
  kWithTogether,  // kOptional, and only alongside the kTogether fields (listed after them)
};

template <class Message, class Value>
struct Field {
  std::string_view key;
  Value Message::*member;
  Presence presence = Presence::kRequired;
};

template <class Message, class Value>
Field(std::string_view, Value Message::*, Presence = Presence::kRequired) -> Field<Message, Value>;

// Wire<M>::kType is the body's type name, Wire<M>::kFields its field list.
template <class Message>
struct Wire;

template <>
struct Wire<Hello> {
  static constexpr std::string_view kType = "HELLO";
  static constexpr auto kFields = std::tuple{
      Field{"name", &Hello::name},
      Field{"instance", &Hello::instance},
      Field{"monitor_id", &Hello::monitor_id},
      Field{"config_version", &Hello::config_version},
      Field{"epoch", &Hello::epoch},
      Field{"first_seq", &Hello::first_seq},
      Field{"last_seq", &Hello::last_seq},
      Field{"ended_epoch", &Hello::ended_epoch, Presence::kTogether},
      Field{"ended_last_seq", &Hello::ended_last_seq, Presence::kTogether},
  };
};

template <>
struct Wire<Welcome> {
  static constexpr std::string_view kType = "WELCOME";
  static constexpr auto kFields = std::tuple{
      Field{"monitor_id", &Welcome::monitor_id},
      Field{"acked_seq", &Welcome::acked_seq},
      Field{"heartbeat_ms", &Welcome::heartbeat_ms},
      Field{"liveness", &Welcome::liveness},
  };
};

template <>
struct Wire<Reject> {
  static constexpr std::string_view kType = "REJECT";
  static constexpr auto kFields = std::tuple{
      Field{"reason", &Reject::reason},
      Field{"text", &Reject::text},
  };
};

template <>
struct Wire<Config> {
  static constexpr std::string_view kType = "CONFIG";
  static constexpr auto kFields = std::tuple{
      Field{"version", &Config::version},
      Field{"checks", &Config::checks},
  };
};

template <>
struct Wire<ConfigAck> {
  static constexpr std::string_view kType = "CONFIG_ACK";
  static constexpr auto kFields = std::tuple{
      Field{"version", &ConfigAck::version},
      Field{"digests", &ConfigAck::digests},
      Field{"error", &ConfigAck::error, Presence::kOptional},
  };
};

template <>
struct Wire<Replay> {
  static constexpr std::string_view kType = "REPLAY";
  static constexpr auto kFields = std::tuple{
      Field{"epoch", &Replay::epoch},
      Field{"records", &Replay::records},
  };
};

template <>
struct Wire<Ack> {
  static constexpr std::string_view kType = "ACK";
  static constexpr auto kFields = std::tuple{
      Field{"epoch", &Ack::epoch},
      Field{"seq", &Ack::seq},
  };
};

template <>
struct Wire<ReplayReq> {
  static constexpr std::string_view kType = "REPLAY_REQ";
  static constexpr auto kFields = std::tuple{
      Field{"epoch", &ReplayReq::epoch},
      Field{"from_seq", &ReplayReq::from_seq},
      Field{"to_seq", &ReplayReq::to_seq},
  };
};

template <>
struct Wire<Heartbeat> {
  static constexpr std::string_view kType = "HEARTBEAT";
  static constexpr auto kFields = std::tuple{
      Field{"epoch", &Heartbeat::epoch, Presence::kTogether},
      Field{"last_seq", &Heartbeat::last_seq, Presence::kTogether},
      Field{"outbox_error", &Heartbeat::outbox_error, Presence::kWithTogether},
  };
};

template <>
struct Wire<Bye> {
  static constexpr std::string_view kType = "BYE";
  static constexpr auto kFields = std::tuple{};
};

// The fields that name a record, first in every RESULT and LOSS body.
template <>
struct Wire<RecordKey> {
  static constexpr auto kFields = std::tuple{
      Field{"monitor", &RecordKey::monitor},
      Field{"monitor_id", &RecordKey::monitor_id},
      Field{"epoch", &RecordKey::epoch},
      Field{"seq", &RecordKey::seq},
  };
};

// LOSS: the key's fields, then these.
template <>
struct Wire<LossRange> {
  static constexpr std::string_view kType = "LOSS";
  static constexpr auto kFields = std::tuple{
      Field{"from_seq", &LossRange::from_seq},
      Field{"to_seq", &LossRange::to_seq},
      Field{"count", &LossRange::count},
      Field{"reason", &LossRange::reason},
  };
};

// The check map (§5 CONFIG): every key but params required. Its canonical
// encoding, in this order, is what check digests hash.
template <>
struct Wire<CheckSpec> {
  static constexpr auto kFields = std::tuple{
      Field{"id", &CheckSpec::id},
      Field{"type", &CheckSpec::type},
      Field{"interval_ms", &CheckSpec::interval},
      Field{"timeout_ms", &CheckSpec::timeout},
      Field{"retries", &CheckSpec::retries},
      Field{"params", &CheckSpec::params, Presence::kDefaulted},
  };
};

// The result map's `timings`: a phase is sent when reached.
template <>
struct Wire<PhaseTimings> {
  static constexpr auto kFields = std::tuple{
      Field{"resolve_us", &PhaseTimings::resolve, Presence::kOptional},
      Field{"connect_us", &PhaseTimings::connect, Presence::kOptional},
      Field{"tls_us", &PhaseTimings::tls, Presence::kOptional},
      Field{"first_byte_us", &PhaseTimings::first_byte, Presence::kOptional},
      Field{"total_us", &PhaseTimings::total, Presence::kDefaulted},
  };
};

// RESULT: the key's fields, then the check result (a map of its own, these
// fields, common/protocol/check_codec.hpp) under one more key. A sender sends
// every field; a receiver requires check, type, ts_us and status (§6).
template <>
struct Wire<CheckResult> {
  static constexpr std::string_view kType = "RESULT";
  static constexpr std::string_view kKey = "result";
  static constexpr auto kFields = std::tuple{
      Field{"check", &CheckResult::check_id},
      Field{"type", &CheckResult::type},
      Field{"target", &CheckResult::target, Presence::kDefaulted},
      Field{"ts_us", &CheckResult::timestamp},
      Field{"status", &CheckResult::status},
      Field{"reason", &CheckResult::reason, Presence::kDefaulted},
      Field{"error", &CheckResult::error, Presence::kDefaulted},
      Field{"latency_us", &CheckResult::latency, Presence::kDefaulted},
      Field{"timings", &CheckResult::timings, Presence::kDefaulted},
      Field{"details", &CheckResult::details, Presence::kDefaulted},
  };
};

template <>
struct Wire<Event> {
  static constexpr std::string_view kType = "EVENT";
  static constexpr auto kFields = std::tuple{
      Field{"ts_us", &Event::ts},
      Field{"monitor", &Event::monitor},
      Field{"check", &Event::check, Presence::kOptional},
      Field{"from", &Event::from},
      Field{"to", &Event::to},
      Field{"text", &Event::text},
  };
};

// Whether an optional field is left out: an empty string or container, or a
// value equal to its default.
template <class Value>
bool is_empty(const Value& value) {
  if constexpr (requires { value.empty(); }) {
    return value.empty();
  } else {
    return value == Value{};
  }
}

}  // namespace netmon::protocol
