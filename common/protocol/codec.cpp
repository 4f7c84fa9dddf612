#include "common/protocol/codec.hpp"

#include <cstdio>

#include "common/protocol/body_writer.hpp"
#include "common/text.hpp"

namespace netmon::protocol {
namespace {

void pack_record(Packer& packer, const Record& record) {
  if (const auto* loss = std::get_if<LossRange>(&record.body)) {
    pack_header(packer, "LOSS", 8);
    pack_key(packer, record.key);
    pack_field(packer, "from_seq", loss->from_seq);
    pack_field(packer, "to_seq", loss->to_seq);
    pack_field(packer, "count", loss->count);
    pack_field(packer, "reason", loss->reason);
    return;
  }
  pack_header(packer, "RESULT", 5);
  pack_key(packer, record.key);
  pack_str(packer, "result");
  pack_check_result(packer, std::get<CheckResult>(record.body));
}

struct Packing {
  Packer& packer;

  void operator()(const Hello& m) const {
    const bool ended = !m.ended_epoch.empty();
    pack_header(packer, "HELLO", ended ? 9 : 7);
    pack_field(packer, "name", m.name);
    pack_field(packer, "instance", m.instance);
    pack_field(packer, "monitor_id", m.monitor_id);
    pack_field(packer, "config_version", m.config_version);
    pack_field(packer, "epoch", m.epoch);
    pack_field(packer, "first_seq", m.first_seq);
    pack_field(packer, "last_seq", m.last_seq);
    if (ended) {
      pack_field(packer, "ended_epoch", m.ended_epoch);
      pack_field(packer, "ended_last_seq", m.ended_last_seq);
    }
  }
  void operator()(const Welcome& m) const {
    pack_header(packer, "WELCOME", 4);
    pack_field(packer, "monitor_id", m.monitor_id);
    pack_field(packer, "acked_seq", m.acked_seq);
    pack_field(packer, "heartbeat_ms", m.heartbeat_ms);
    pack_field(packer, "liveness", m.liveness);
  }
  void operator()(const Reject& m) const {
    pack_header(packer, "REJECT", 2);
    pack_field(packer, "reason", m.reason);
    pack_field(packer, "text", m.text);
  }
  void operator()(const Config& m) const {
    pack_header(packer, "CONFIG", 2);
    pack_field(packer, "version", m.version);
    pack_str(packer, "checks");
    packer.pack_array(static_cast<std::uint32_t>(m.checks.size()));
    for (const auto& check : m.checks)
      pack_check_spec(packer, check);
  }
  void operator()(const ConfigAck& m) const {
    pack_header(packer, "CONFIG_ACK", m.error.empty() ? 2 : 3);
    pack_field(packer, "version", m.version);
    pack_str(packer, "digests");
    packer.pack_map(static_cast<std::uint32_t>(m.digests.size()));
    for (const auto& [id, digest] : m.digests) {
      pack_str(packer, id);
      pack_str(packer, digest);
    }
    if (!m.error.empty()) pack_field(packer, "error", m.error);
  }
  void operator()(const Replay& m) const {
    pack_header(packer, "REPLAY", 2);
    pack_field(packer, "epoch", m.epoch);
    pack_str(packer, "records");
    packer.pack_array(static_cast<std::uint32_t>(m.records.size()));
    for (const auto& record : m.records)
      pack_record(packer, record);
  }
  void operator()(const Ack& m) const {
    pack_header(packer, "ACK", 2);
    pack_field(packer, "epoch", m.epoch);
    pack_field(packer, "seq", m.seq);
  }
  void operator()(const ReplayReq& m) const {
    pack_header(packer, "REPLAY_REQ", 3);
    pack_field(packer, "epoch", m.epoch);
    pack_field(packer, "from_seq", m.from_seq);
    pack_field(packer, "to_seq", m.to_seq);
  }
  void operator()(const Heartbeat& m) const {
    if (m.epoch.empty()) {
      pack_header(packer, "HEARTBEAT", 0);
      return;
    }
    pack_header(packer, "HEARTBEAT", m.outbox_error.empty() ? 2 : 3);
    pack_field(packer, "epoch", m.epoch);
    pack_field(packer, "last_seq", m.last_seq);
    if (!m.outbox_error.empty()) pack_field(packer, "outbox_error", m.outbox_error);
  }
  void operator()(const Bye&) const { pack_header(packer, "BYE", 0); }
};

std::string to_bytes(const msgpack::sbuffer& buffer) {
  return {buffer.data(), buffer.size()};
}

// Checks signature and version; returns the type.
Expected<std::string> read_header(const MsgMap& map) {
  auto proto = map.str("proto");
  if (!proto) return proto.error();
  if (*proto != kSignature) return Error{"bad signature '" + proto->substr(0, 16) + "'"};
  auto version = map.uint64("v");
  if (!version) return version.error();
  if (*version != kVersion) {
    return Error{"protocol version " + std::to_string(*version) + " (this peer speaks " +
                 std::to_string(kVersion) + ")"};
  }
  return map.str("type");
}

// Collects the first failure of several field reads.
class FieldReader {
 public:
  explicit FieldReader(const MsgMap& map) : map_(map) {}

  std::string str(std::string_view key) { return take(map_.str(key), std::string()); }
  std::string str_or(std::string_view key) { return take(map_.str_or(key, ""), std::string()); }
  std::uint64_t uint(std::string_view key) { return take(map_.uint64(key), std::uint64_t{0}); }
  std::uint32_t uint32(std::string_view key) {
    const std::uint64_t value = uint(key);
    if (value > UINT32_MAX && !error_) error_ = Error{"field '" + std::string(key) + "' too large"};
    return static_cast<std::uint32_t>(value);
  }
  const msgpack::object* find(std::string_view key) const { return map_.find(key); }
  void fail(std::string text) {
    if (!error_) error_ = Error{std::move(text)};
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  template <class T>
  T take(Expected<T> value, T fallback) {
    if (value) return std::move(value).value();
    if (!error_) error_ = value.error();
    return fallback;
  }

  const MsgMap& map_;
  std::optional<Error> error_;
};

Expected<Record> record_from_object(const msgpack::object& object) {
  auto map = MsgMap::of(object, "record");
  if (!map) return map.error();
  auto type = read_header(*map);
  if (!type) return type.error();
  FieldReader fields(*map);
  Record record;
  record.key.monitor = fields.str("monitor");
  record.key.monitor_id = fields.uint("monitor_id");
  record.key.epoch = fields.str("epoch");
  record.key.seq = fields.uint("seq");
  if (*type == "LOSS") {
    LossRange loss;
    loss.from_seq = fields.uint("from_seq");
    loss.to_seq = fields.uint("to_seq");
    loss.count = fields.uint("count");
    loss.reason = fields.str("reason");
    record.body = std::move(loss);
  } else if (*type == "RESULT") {
    const msgpack::object* result = fields.find("result");
    if (!result) {
      fields.fail("record: field 'result' is missing");
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

Expected<ControlMessage> control_from_map(const MsgMap& map, const std::string& type) {
  FieldReader fields(map);
  ControlMessage message;
  if (type == "HELLO") {
    Hello m;
    m.name = fields.str("name");
    m.instance = fields.str("instance");
    m.monitor_id = fields.uint("monitor_id");
    m.config_version = fields.uint("config_version");
    m.epoch = fields.str("epoch");
    m.first_seq = fields.uint("first_seq");
    m.last_seq = fields.uint("last_seq");
    if ((fields.find("ended_epoch") == nullptr) != (fields.find("ended_last_seq") == nullptr)) {
      fields.fail("fields 'ended_epoch' and 'ended_last_seq' come together or not at all");
    } else if (fields.find("ended_epoch") != nullptr) {
      m.ended_epoch = fields.str("ended_epoch");
      m.ended_last_seq = fields.uint("ended_last_seq");
      if (!fields.error() && (m.ended_epoch.empty() || m.ended_last_seq >= kMaxSeq)) {
        fields.fail("HELLO: ended_epoch must not be empty and ended_last_seq below 2^63-1");
      }
    }
    message = std::move(m);
  } else if (type == "WELCOME") {
    Welcome m;
    m.monitor_id = fields.uint("monitor_id");
    m.acked_seq = fields.uint("acked_seq");
    m.heartbeat_ms = fields.uint32("heartbeat_ms");
    m.liveness = fields.uint32("liveness");
    message = m;
  } else if (type == "REJECT") {
    Reject m;
    m.reason = fields.str("reason");
    m.text = fields.str("text");
    message = std::move(m);
  } else if (type == "CONFIG") {
    Config m;
    m.version = fields.uint("version");
    const msgpack::object* checks = fields.find("checks");
    if (!checks || checks->type != msgpack::type::ARRAY) {
      fields.fail("CONFIG: field 'checks' is missing or not an array");
    } else if (checks->via.array.size > kMaxChecksPerConfig) {
      fields.fail("CONFIG: more than 5000 checks");
    } else {
      for (std::uint32_t i = 0; i < checks->via.array.size; ++i) {
        auto spec = check_spec_from_msgpack(checks->via.array.ptr[i]);
        if (!spec) {
          fields.fail("CONFIG: " + spec.error().message);
          break;
        }
        m.checks.push_back(std::move(spec).value());
      }
    }
    message = std::move(m);
  } else if (type == "CONFIG_ACK") {
    ConfigAck m;
    m.version = fields.uint("version");
    m.error = fields.str_or("error");
    const msgpack::object* digests = fields.find("digests");
    if (!digests || digests->type != msgpack::type::MAP) {
      fields.fail("CONFIG_ACK: field 'digests' is missing or not a map");
    } else {
      for (std::uint32_t i = 0; i < digests->via.map.size; ++i) {
        const msgpack::object_kv& kv = digests->via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR) {
          fields.fail("CONFIG_ACK: digests must map strings to strings");
          break;
        }
        m.digests.emplace(to_valid_utf8({kv.key.via.str.ptr, kv.key.via.str.size}),
                          to_valid_utf8({kv.val.via.str.ptr, kv.val.via.str.size}));
      }
    }
    message = std::move(m);
  } else if (type == "REPLAY") {
    Replay m;
    m.epoch = fields.str("epoch");
    const msgpack::object* records = fields.find("records");
    if (!records || records->type != msgpack::type::ARRAY) {
      fields.fail("REPLAY: field 'records' is missing or not an array");
    } else if (records->via.array.size > kMaxRecordsPerReplay) {
      fields.fail("REPLAY: more than 1000 records");
    } else {
      for (std::uint32_t i = 0; i < records->via.array.size; ++i) {
        auto record = record_from_object(records->via.array.ptr[i]);
        if (!record) {
          fields.fail("REPLAY: " + record.error().message);
          break;
        }
        m.records.push_back(std::move(record).value());
      }
    }
    message = std::move(m);
  } else if (type == "ACK") {
    Ack m;
    m.epoch = fields.str("epoch");
    m.seq = fields.uint("seq");
    message = std::move(m);
  } else if (type == "REPLAY_REQ") {
    ReplayReq m;
    m.epoch = fields.str("epoch");
    m.from_seq = fields.uint("from_seq");
    m.to_seq = fields.uint("to_seq");
    if (!fields.error() && m.to_seq < m.from_seq) fields.fail("REPLAY_REQ: to_seq below from_seq");
    message = std::move(m);
  } else if (type == "HEARTBEAT") {
    Heartbeat m;
    // Optional, but together: a last_seq means nothing without its epoch.
    if ((fields.find("epoch") == nullptr) != (fields.find("last_seq") == nullptr)) {
      fields.fail("fields 'epoch' and 'last_seq' come together or not at all");
    } else if (fields.find("epoch") != nullptr) {
      m.epoch = fields.str("epoch");
      m.last_seq = fields.uint("last_seq");
      m.outbox_error = fields.str_or("outbox_error");
    }
    message = std::move(m);
  } else if (type == "BYE") {
    message = Bye{};
  } else {
    return Error{"unknown message type '" + type.substr(0, 32) + "'"};
  }
  if (fields.error()) return Error{type + ": " + fields.error()->message};
  return message;
}

}  // namespace

std::string_view type_name(const ControlMessage& message) {
  static constexpr std::string_view kNames[] = {"HELLO",      "WELCOME", "REJECT", "CONFIG",
                                                "CONFIG_ACK", "REPLAY",  "ACK",    "REPLAY_REQ",
                                                "HEARTBEAT",  "BYE"};
  return kNames[message.index()];
}

std::string encode(const ControlMessage& message) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  std::visit(Packing{packer}, message);
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
  return control_from_map(*map, *type);
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

std::string encode_event(const Event& event) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, "EVENT", event.check.empty() ? 5 : 6);
  pack_str(packer, "ts_us");
  packer.pack(static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(event.ts.time_since_epoch()).count()));
  pack_field(packer, "monitor", event.monitor);
  if (!event.check.empty()) pack_field(packer, "check", event.check);
  pack_field(packer, "from", event.from);
  pack_field(packer, "to", event.to);
  pack_field(packer, "text", event.text);
  return to_bytes(buffer);
}

Expected<Event> decode_event(std::string_view bytes) {
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  auto map = MsgMap::of(handle->get(), "event");
  if (!map) return map.error();
  auto type = read_header(*map);
  if (!type) return type.error();
  if (*type != "EVENT") return Error{"not an EVENT but '" + type->substr(0, 32) + "'"};
  FieldReader fields(*map);
  Event event;
  auto ts = map->wall_time_us("ts_us");
  if (!ts) return ts.error();
  event.ts = *ts;
  event.monitor = fields.str("monitor");
  event.check = fields.str_or("check");
  event.from = fields.str("from");
  event.to = fields.str("to");
  event.text = fields.str("text");
  if (fields.error()) return Error{"EVENT: " + fields.error()->message};
  return event;
}

std::string record_topic(const Record& record) {
  const std::string& check =
      record.is_loss() ? std::string("_loss") : std::get<CheckResult>(record.body).check_id;
  return "res/" + record.key.monitor + "/" + check;
}

std::string event_topic(const Event& event) {
  return event.check.empty() ? "evt/monitor/" + event.monitor
                             : "evt/check/" + event.monitor + "/" + event.check;
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
