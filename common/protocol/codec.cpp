#include "common/protocol/codec.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/protocol/message_fields.hpp"
#include "common/text.hpp"

namespace netmon::protocol {
namespace {

std::string to_bytes(const msgpack::sbuffer& buffer) {
  return {buffer.data(), buffer.size()};
}

// The header every body starts with (§3).
constexpr std::string_view kSignatureKey = "proto";
constexpr std::string_view kVersionKey = "v";
constexpr std::string_view kTypeKey = "type";

// Starts a body: a map of `fields` entries plus the three header fields.
void pack_header(Packer& packer, std::string_view type, std::uint32_t fields) {
  packer.pack_map(fields + 3);
  pack_str(packer, kSignatureKey);
  pack_str(packer, kSignature);
  pack_str(packer, kVersionKey);
  packer.pack(kVersion);
  pack_str(packer, kTypeKey);
  pack_str(packer, type);
}

template <class Message, class Visit>
void for_each_field(Visit&& visit) {
  std::apply([&](const auto&... field) { (visit(field), ...); }, Wire<Message>::kFields);
}

// Whether `message` sends its kTogether fields: the first of them is not empty.
template <class Message>
bool sends_together(const Message& message) {
  std::optional<bool> sends;
  for_each_field<Message>([&](const auto& field) {
    if (field.presence == Presence::kTogether && !sends) sends = !is_empty(message.*field.member);
  });
  return sends.value_or(false);
}

template <class Message, class Value>
bool is_sent(const Message& message, const Field<Message, Value>& field, bool together) {
  switch (field.presence) {
    case Presence::kRequired:
    case Presence::kDefaulted:
      return true;
    case Presence::kOptional:
      return !is_empty(message.*field.member);
    case Presence::kTogether:
      return together;
    case Presence::kWithTogether:
      return together && !is_empty(message.*field.member);
  }
  return false;
}

template <class Message>
std::uint32_t sent_field_count(const Message& message) {
  const bool together = sends_together(message);
  std::uint32_t count = 0;
  for_each_field<Message>([&](const auto& field) { count += is_sent(message, field, together); });
  return count;
}

void pack_record(Packer& packer, const Record& record);

void pack_value(Packer& packer, const std::string& value) {
  pack_str(packer, value);
}

void pack_value(Packer& packer, std::uint64_t value) {
  packer.pack(value);
}

void pack_value(Packer& packer, std::chrono::system_clock::time_point value) {
  packer.pack(static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(value.time_since_epoch()).count()));
}

void pack_value(Packer& packer, const std::vector<CheckSpec>& checks) {
  packer.pack_array(static_cast<std::uint32_t>(checks.size()));
  for (const auto& check : checks)
    pack_check_spec(packer, check);
}

void pack_value(Packer& packer, const std::map<std::string, std::string>& map) {
  packer.pack_map(static_cast<std::uint32_t>(map.size()));
  for (const auto& [key, value] : map) {
    pack_str(packer, key);
    pack_str(packer, value);
  }
}

void pack_value(Packer& packer, const std::vector<Record>& records) {
  packer.pack_array(static_cast<std::uint32_t>(records.size()));
  for (const auto& record : records)
    pack_record(packer, record);
}

struct PackValue {
  template <class Value>
  void operator()(Packer& packer, const Value& value) const {
    pack_value(packer, value);
  }
};

// The fields `message` sends, in list order; `write` packs each value.
template <class Message, class Write = PackValue>
void pack_fields(Packer& packer, const Message& message, Write write = {}) {
  const bool together = sends_together(message);
  for_each_field<Message>([&](const auto& field) {
    if (!is_sent(message, field, together)) return;
    pack_str(packer, field.key);
    write(packer, message.*field.member);
  });
}

template <class Message, class Write = PackValue>
void pack_message(Packer& packer, const Message& message, Write write = {}) {
  pack_header(packer, Wire<Message>::kType, sent_field_count(message));
  pack_fields(packer, message, write);
}

void pack_result_record(Packer& packer, const RecordKey& key, const CheckResult& result) {
  pack_header(packer, Wire<CheckResult>::kType, sent_field_count(key) + 1);
  pack_fields(packer, key);
  pack_str(packer, Wire<CheckResult>::kKey);
  pack_check_result(packer, result);
}

void pack_record(Packer& packer, const Record& record) {
  if (const auto* loss = std::get_if<LossRange>(&record.body)) {
    pack_header(packer, Wire<LossRange>::kType,
                sent_field_count(record.key) + sent_field_count(*loss));
    pack_fields(packer, record.key);
    pack_fields(packer, *loss);
    return;
  }
  pack_result_record(packer, record.key, std::get<CheckResult>(record.body));
}

// Checks signature and version; returns the type.
Expected<std::string> read_header(const MsgMap& map) {
  auto proto = map.str(kSignatureKey);
  if (!proto) return proto.error();
  if (*proto != kSignature) return Error{"bad signature '" + proto->substr(0, 16) + "'"};
  auto version = map.uint64(kVersionKey);
  if (!version) return version.error();
  if (*version != kVersion) {
    return Error{"protocol version " + std::to_string(*version) + " (this peer speaks " +
                 std::to_string(kVersion) + ")"};
  }
  return map.str(kTypeKey);
}

Expected<Record> record_from_object(const msgpack::object& object);

// Reads the fields of one body (of message type `type`) and keeps the first
// failure.
class FieldReader {
 public:
  FieldReader(const MsgMap& map, std::string_view type) : map_(map), type_(type) {}

  const msgpack::object* find(std::string_view key) const { return map_.find(key); }
  void fail(std::string text) {
    if (!error_) error_ = Error{std::move(text)};
  }
  const std::optional<Error>& error() const { return error_; }

  void read(std::string_view key, std::string& out) { take(map_.str(key), out); }
  void read(std::string_view key, std::uint64_t& out) { take(map_.uint64(key), out); }
  void read(std::string_view key, std::uint32_t& out) {
    std::uint64_t value = 0;
    take(map_.uint64(key), value);
    if (value > UINT32_MAX) fail("field '" + std::string(key) + "' too large");
    out = static_cast<std::uint32_t>(value);
  }
  void read(std::string_view key, std::chrono::system_clock::time_point& out) {
    take(map_.wall_time_us(key), out);
  }
  void read(std::string_view key, std::vector<CheckSpec>& out) {
    read_array(key, kMaxChecksPerConfig, out, check_spec_from_msgpack);
  }
  void read(std::string_view key, std::vector<Record>& out) {
    read_array(key, kMaxRecordsPerReplay, out, record_from_object);
  }
  void read(std::string_view key, std::map<std::string, std::string>& out) {
    const msgpack::object* map = find(key);
    if (!map || map->type != msgpack::type::MAP) {
      return fail(prefix() + "field '" + std::string(key) + "' is missing or not a map");
    }
    for (std::uint32_t i = 0; i < map->via.map.size; ++i) {
      const msgpack::object_kv& kv = map->via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR) {
        return fail(prefix() + std::string(key) + " must map strings to strings");
      }
      out.emplace(to_valid_utf8({kv.key.via.str.ptr, kv.key.via.str.size}),
                  to_valid_utf8({kv.val.via.str.ptr, kv.val.via.str.size}));
    }
  }

 private:
  template <class Value>
  void take(Expected<Value> value, Value& out) {
    if (value) {
      out = std::move(value).value();
    } else {
      fail(value.error().message);
    }
  }

  template <class Item, class Decode>
  void read_array(std::string_view key, std::size_t max_items, std::vector<Item>& out,
                  Decode decode) {
    const msgpack::object* array = find(key);
    if (!array || array->type != msgpack::type::ARRAY) {
      return fail(prefix() + "field '" + std::string(key) + "' is missing or not an array");
    }
    if (array->via.array.size > max_items) {
      return fail(prefix() + "more than " + std::to_string(max_items) + " " + std::string(key));
    }
    for (std::uint32_t i = 0; i < array->via.array.size; ++i) {
      auto item = decode(array->via.array.ptr[i]);
      if (!item) return fail(prefix() + item.error().message);
      out.push_back(std::move(item).value());
    }
  }

  std::string prefix() const { return std::string(type_) + ": "; }

  const MsgMap& map_;
  std::string_view type_;
  std::optional<Error> error_;
};

// Whether the body holds `Message`'s kTogether fields; only some of them fail.
template <class Message>
bool together_present(FieldReader& fields) {
  std::string keys;
  std::size_t listed = 0;
  std::size_t present = 0;
  for_each_field<Message>([&](const auto& field) {
    if (field.presence != Presence::kTogether) return;
    keys += (listed++ == 0 ? "'" : " and '") + std::string(field.key) + "'";
    present += fields.find(field.key) != nullptr;
  });
  if (present != 0 && present != listed) {
    fields.fail("fields " + keys + " come together or not at all");
    return false;
  }
  return present != 0;
}

// Reads `message`'s fields in list order; returns whether its kTogether
// fields were there.
template <class Message>
bool read_fields(FieldReader& fields, Message& message) {
  std::optional<bool> together;
  for_each_field<Message>([&](const auto& field) {
    switch (field.presence) {
      case Presence::kRequired:
        break;
      case Presence::kDefaulted:
      case Presence::kOptional:
        if (!fields.find(field.key)) return;
        break;
      case Presence::kTogether:
        if (!together) together = together_present<Message>(fields);
        if (!*together) return;
        break;
      case Presence::kWithTogether:
        if (!together.value_or(false) || !fields.find(field.key)) return;
        break;
    }
    fields.read(field.key, message.*field.member);
  });
  return together.value_or(false);
}

// The rules of a message beyond its field list.
template <class Message>
void check_rules(const Message&, bool /*together*/, FieldReader&) {}

void check_rules(const Hello& m, bool ended, FieldReader& fields) {
  if (ended && !fields.error() && (m.ended_epoch.empty() || m.ended_last_seq >= kMaxSeq)) {
    fields.fail("HELLO: ended_epoch must not be empty and ended_last_seq below 2^63-1");
  }
}

void check_rules(const ReplayReq& m, bool, FieldReader& fields) {
  if (!fields.error() && m.to_seq < m.from_seq) fields.fail("REPLAY_REQ: to_seq below from_seq");
}

Expected<Record> record_from_object(const msgpack::object& object) {
  auto map = MsgMap::of(object, "record");
  if (!map) return map.error();
  auto type = read_header(*map);
  if (!type) return type.error();
  FieldReader fields(*map, *type);
  Record record;
  if (*type == Wire<LossRange>::kType) {
    read_fields(fields, record.key);
    LossRange loss;
    read_fields(fields, loss);
    record.body = std::move(loss);
  } else if (*type == Wire<CheckResult>::kType) {
    read_fields(fields, record.key);
    const msgpack::object* result = fields.find(Wire<CheckResult>::kKey);
    if (!result) {
      fields.fail("record: field '" + std::string(Wire<CheckResult>::kKey) + "' is missing");
    } else {
      auto decoded = check_result_from_msgpack(*result);
      if (!decoded) {
        fields.fail(decoded.error().message);
      } else {
        record.body = std::move(decoded).value();
      }
    }
  } else {
    return Error{"unknown record type '" + type->substr(0, 32) + "'"};
  }
  if (fields.error()) return *fields.error();
  // Seqs are stored as SQLite INTEGERs: beyond 2^63-1 they would wrap.
  if (record.key.seq == 0 || record.key.seq > kMaxSeq) {
    return Error{"record: field 'seq' out of range 1..2^63-1"};
  }
  if (const auto* loss = std::get_if<LossRange>(&record.body)) {
    if (loss->from_seq == 0 || loss->from_seq > loss->to_seq || loss->to_seq >= record.key.seq) {
      return Error{"LOSS: needs 1 <= from_seq <= to_seq < seq"};
    }
  }
  return record;
}

template <class Message>
Expected<ControlMessage> control_as(const MsgMap& map) {
  FieldReader fields(map, Wire<Message>::kType);
  Message message;
  const bool together = read_fields(fields, message);
  check_rules(message, together, fields);
  if (fields.error()) {
    return Error{std::string(Wire<Message>::kType) + ": " + fields.error()->message};
  }
  return ControlMessage{std::move(message)};
}

struct ControlDecoder {
  std::string_view type;
  Expected<ControlMessage> (*decode)(const MsgMap&);
};

template <std::size_t... I>
constexpr auto control_decoders(std::index_sequence<I...>) {
  return std::array{ControlDecoder{Wire<std::variant_alternative_t<I, ControlMessage>>::kType,
                                   &control_as<std::variant_alternative_t<I, ControlMessage>>}...};
}

// One decoder per ControlMessage alternative, found by its type name.
constexpr auto kControlDecoders =
    control_decoders(std::make_index_sequence<std::variant_size_v<ControlMessage>>{});

}  // namespace

std::string_view type_name(const ControlMessage& message) {
  return std::visit([](const auto& m) { return Wire<std::decay_t<decltype(m)>>::kType; }, message);
}

std::string encode(const ControlMessage& message) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  std::visit([&](const auto& m) { pack_message(packer, m); }, message);
  return to_bytes(buffer);
}

Expected<ControlMessage> decode_control(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) return Error{"message larger than 1 MiB"};
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  auto map = MsgMap::of(handle->get(), "message");
  if (!map) return map.error();
  auto type = read_header(*map);
  if (!type) return type.error();
  for (const ControlDecoder& decoder : kControlDecoders) {
    if (decoder.type == *type) return decoder.decode(*map);
  }
  return Error{"unknown message type '" + type->substr(0, 32) + "'"};
}

std::string encode_record(const Record& record) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_record(packer, record);
  return to_bytes(buffer);
}

Expected<Record> decode_record(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) return Error{"message larger than 1 MiB"};
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  return record_from_object(handle->get());
}

std::string encode_result_record(const RecordKey& key, const CheckResult& result) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_result_record(packer, key, result);
  return to_bytes(buffer);
}

std::string encode_replay(std::string_view epoch, std::span<const std::string_view> bodies) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  // The REPLAY's own fields from its list, its records from the bodies.
  const auto write = [&](Packer& out, const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::vector<Record>>) {
      out.pack_array(static_cast<std::uint32_t>(bodies.size()));
      for (const std::string_view body : bodies)
        buffer.write(body.data(), body.size());
    } else {
      pack_value(out, value);
    }
  };
  pack_message(packer, Replay{std::string(epoch), {}}, write);
  return to_bytes(buffer);
}

std::string encode_event(const Event& event) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_message(packer, event);
  return to_bytes(buffer);
}

Expected<Event> decode_event(std::string_view bytes) {
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  auto map = MsgMap::of(handle->get(), "event");
  if (!map) return map.error();
  auto type = read_header(*map);
  if (!type) return type.error();
  constexpr std::string_view kType = Wire<Event>::kType;
  if (*type != kType) {
    return Error{"not an " + std::string(kType) + " but '" + type->substr(0, 32) + "'"};
  }
  FieldReader fields(*map, kType);
  Event event;
  read_fields(fields, event);
  if (fields.error()) return Error{std::string(kType) + ": " + fields.error()->message};
  return event;
}

bool is_other_version_hello(std::string_view bytes) {
  auto handle = unpack_bounded(bytes);
  if (!handle) return false;
  auto map = MsgMap::of(handle->get(), "message");
  if (!map) return false;
  auto proto = map->str(kSignatureKey);
  auto version = map->uint64(kVersionKey);
  auto type = map->str(kTypeKey);
  return proto && *proto == kSignature && version && *version != kVersion && type &&
         *type == Wire<Hello>::kType;
}

std::string check_digest(const CheckSpec& spec) {
  const std::string bytes = encode_check_spec(spec);
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace netmon::protocol
