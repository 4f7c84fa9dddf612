#include "common/protocol/check_codec.hpp"

#include <exception>
#include <optional>
#include <tuple>
#include <utility>

#include "common/protocol/message_fields.hpp"
#include "common/text.hpp"

namespace netmon {
namespace {

constexpr int kMaxJsonDepth = 12;

std::string_view as_view(const msgpack::object& object) {
  return {object.via.str.ptr, object.via.str.size};
}

}  // namespace

void pack_str(Packer& packer, std::string_view text) {
  packer.pack_str(static_cast<std::uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

Expected<msgpack::object_handle> unpack_bounded(std::string_view bytes,
                                                const UnpackLimits& limits) {
  if (bytes.empty()) return Error{"empty message"};
  try {
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr,
                        msgpack::unpack_limit(limits.array, limits.map, limits.str, limits.bin,
                                              limits.ext, limits.depth));
    if (offset != bytes.size()) {
      return Error{"trailing bytes after the message (" + std::to_string(bytes.size() - offset) +
                   ")"};
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return Error{"truncated message"};
  } catch (const msgpack::depth_size_overflow&) {
    return Error{"message nests too deeply (unpack limits)"};
  } catch (const msgpack::size_overflow& e) {
    return Error{std::string("message exceeds unpack limits: ") + e.what()};
  } catch (const std::exception& e) {
    return Error{std::string("malformed message: ") + e.what()};
  }
}

Expected<MsgMap> MsgMap::of(const msgpack::object& object, std::string_view what) {
  if (object.type != msgpack::type::MAP) return Error{std::string(what) + ": not a map"};
  return MsgMap(object.via.map, what);
}

Error MsgMap::field_error(std::string_view key, std::string_view problem) const {
  return Error{what_ + ": field '" + std::string(key) + "' " + std::string(problem)};
}

const msgpack::object* MsgMap::find(std::string_view key) const {
  for (std::uint32_t i = 0; i < map_->size; ++i) {
    const msgpack::object_kv& kv = map_->ptr[i];
    if (kv.key.type == msgpack::type::STR && as_view(kv.key) == key) return &kv.val;
  }
  return nullptr;
}

Expected<std::string> MsgMap::str(std::string_view key) const {
  const msgpack::object* value = find(key);
  if (!value) return field_error(key, "is missing");
  if (value->type != msgpack::type::STR) return field_error(key, "is not a string");
  return to_valid_utf8(as_view(*value));
}

Expected<std::string> MsgMap::str_or(std::string_view key, std::string_view fallback) const {
  if (!find(key)) return std::string(fallback);
  return str(key);
}

Expected<std::int64_t> MsgMap::int64(std::string_view key) const {
  const msgpack::object* value = find(key);
  if (!value) return field_error(key, "is missing");
  if (value->type == msgpack::type::POSITIVE_INTEGER) {
    if (value->via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
      return field_error(key, "is out of range");
    }
    return static_cast<std::int64_t>(value->via.u64);
  }
  if (value->type == msgpack::type::NEGATIVE_INTEGER) return value->via.i64;
  return field_error(key, "is not an integer");
}

Expected<std::int64_t> MsgMap::int64_or(std::string_view key, std::int64_t fallback) const {
  if (!find(key)) return fallback;
  return int64(key);
}

Expected<std::uint64_t> MsgMap::uint64(std::string_view key) const {
  const msgpack::object* value = find(key);
  if (!value) return field_error(key, "is missing");
  if (value->type != msgpack::type::POSITIVE_INTEGER) {
    return field_error(key, "is not a non-negative integer");
  }
  return value->via.u64;
}

Expected<std::chrono::system_clock::time_point> MsgMap::wall_time_us(std::string_view key) const {
  using std::chrono::microseconds;
  using std::chrono::system_clock;
  auto us = int64(key);
  if (!us) return us.error();
  constexpr auto kMax = std::chrono::duration_cast<microseconds>(system_clock::duration::max());
  constexpr auto kMin = std::chrono::duration_cast<microseconds>(system_clock::duration::min());
  if (*us > kMax.count() || *us < kMin.count()) {
    return field_error(key, "is out of range (a wall-clock time in the years 1678..2262)");
  }
  return system_clock::time_point(microseconds(*us));
}

Expected<bool> MsgMap::boolean_or(std::string_view key, bool fallback) const {
  const msgpack::object* value = find(key);
  if (!value) return fallback;
  if (value->type != msgpack::type::BOOLEAN) return field_error(key, "is not a boolean");
  return value->via.boolean;
}

void pack_json(Packer& packer, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      packer.pack_nil();
      break;
    case nlohmann::json::value_t::boolean:
      packer.pack(value.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      packer.pack(value.get<std::int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      packer.pack(value.get<std::uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      packer.pack(value.get<double>());
      break;
    case nlohmann::json::value_t::string:
      pack_str(packer, value.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array:
      packer.pack_array(static_cast<std::uint32_t>(value.size()));
      for (const auto& item : value)
        pack_json(packer, item);
      break;
    case nlohmann::json::value_t::object:
      packer.pack_map(static_cast<std::uint32_t>(value.size()));
      for (const auto& [key, item] : value.items()) {
        pack_str(packer, key);
        pack_json(packer, item);
      }
      break;
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      packer.pack_nil();
      break;
  }
}

Expected<nlohmann::json> json_from_msgpack(const msgpack::object& object, int depth) {
  if (depth > kMaxJsonDepth) return Error{"details nest too deeply"};
  switch (object.type) {
    case msgpack::type::NIL:
      return nlohmann::json(nullptr);
    case msgpack::type::BOOLEAN:
      return nlohmann::json(object.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      return nlohmann::json(object.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return nlohmann::json(object.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return nlohmann::json(object.via.f64);
    case msgpack::type::STR:
      return nlohmann::json(to_valid_utf8(as_view(object)));
    case msgpack::type::ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      for (std::uint32_t i = 0; i < object.via.array.size; ++i) {
        auto item = json_from_msgpack(object.via.array.ptr[i], depth + 1);
        if (!item) return item.error();
        array.push_back(std::move(item).value());
      }
      return array;
    }
    case msgpack::type::MAP: {
      nlohmann::json map = nlohmann::json::object();
      for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
        const msgpack::object_kv& kv = object.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return Error{"details key is not a string"};
        auto item = json_from_msgpack(kv.val, depth + 1);
        if (!item) return item.error();
        map[to_valid_utf8(as_view(kv.key))] = std::move(item).value();
      }
      return map;
    }
    case msgpack::type::BIN:
    case msgpack::type::EXT:
      return Error{"details hold binary data"};
  }
  return Error{"details hold an unknown msgpack type"};
}

namespace {

using protocol::Presence;
using protocol::Wire;

template <class Message, class Visit>
void for_each_field(Visit&& visit) {
  std::apply([&](const auto&... field) { (visit(field), ...); }, Wire<Message>::kFields);
}

// The check maps' fields are sent always or when set, never together.
template <class Message>
constexpr bool has_plain_presence() {
  return std::apply(
      [](const auto&... field) {
        return ((field.presence == Presence::kRequired || field.presence == Presence::kDefaulted ||
                 field.presence == Presence::kOptional) &&
                ...);
      },
      Wire<Message>::kFields);
}
static_assert(has_plain_presence<CheckSpec>());
static_assert(has_plain_presence<CheckResult>());
static_assert(has_plain_presence<PhaseTimings>());

template <class Message, class Value>
bool is_sent(const Message& message, const protocol::Field<Message, Value>& field) {
  return field.presence != Presence::kOptional || !protocol::is_empty(message.*field.member);
}

template <class Message>
void pack_fields_map(Packer& packer, const Message& message);

void pack_value(Packer& packer, const std::string& value) {
  pack_str(packer, value);
}

void pack_value(Packer& packer, int value) {
  packer.pack(value);
}

template <class Rep, class Period>
void pack_value(Packer& packer, std::chrono::duration<Rep, Period> value) {
  packer.pack(static_cast<std::int64_t>(value.count()));
}

void pack_value(Packer& packer, const std::optional<std::chrono::microseconds>& value) {
  pack_value(packer, *value);  // sent only when set
}

void pack_value(Packer& packer, std::chrono::system_clock::time_point value) {
  pack_value(packer,
             std::chrono::duration_cast<std::chrono::microseconds>(value.time_since_epoch()));
}

void pack_value(Packer& packer, CheckStatus status) {
  pack_str(packer, to_string(status));
}

void pack_value(Packer& packer, const ParamMap& params) {
  packer.pack_map(static_cast<std::uint32_t>(params.size()));
  for (const auto& [key, value] : params) {
    pack_str(packer, key);
    if (const auto* text = std::get_if<std::string>(&value)) {
      pack_str(packer, *text);
    } else {
      const auto& items = std::get<std::vector<std::string>>(value);
      packer.pack_array(static_cast<std::uint32_t>(items.size()));
      for (const auto& item : items)
        pack_str(packer, item);
    }
  }
}

void pack_value(Packer& packer, const PhaseTimings& timings) {
  pack_fields_map(packer, timings);
}

void pack_value(Packer& packer, const nlohmann::json& details) {
  pack_json(packer, details.is_object() ? details : nlohmann::json::object());
}

// A map of the fields `message` sends, in list order, counted from the list.
template <class Message>
void pack_fields_map(Packer& packer, const Message& message) {
  std::uint32_t count = 0;
  for_each_field<Message>([&](const auto& field) { count += is_sent(message, field); });
  packer.pack_map(count);
  for_each_field<Message>([&](const auto& field) {
    if (!is_sent(message, field)) return;
    pack_str(packer, field.key);
    pack_value(packer, message.*field.member);
  });
}

template <class Message>
Expected<Message> read_fields_map(const msgpack::object& object, std::string_view what);

// Reads the fields of one map (named `what` in errors) and keeps the first failure.
class FieldReader {
 public:
  FieldReader(const MsgMap& map, std::string_view what) : map_(map), what_(what) {}

  const std::optional<Error>& error() const { return error_; }
  void fail(std::string text) {
    if (!error_) error_ = Error{std::move(text)};
  }

  void read(std::string_view key, std::string& out) { take(map_.str(key), out); }
  void read(std::string_view key, std::chrono::milliseconds& out) {
    take_count(map_.int64(key), out);
  }
  void read(std::string_view key, std::chrono::microseconds& out) {
    take_count(map_.int64(key), out);
  }
  void read(std::string_view key, std::optional<std::chrono::microseconds>& out) {
    out.emplace();
    read(key, *out);
  }
  void read(std::string_view key, std::chrono::system_clock::time_point& out) {
    take(map_.wall_time_us(key), out);
  }
  // The check map's one int, retries.
  void read(std::string_view key, int& out) {
    std::int64_t value = 0;
    if (!take(map_.int64(key), value)) return;
    if (value < 0 || value > kMaxRetries) return fail(field_text(key) + " out of range");
    out = static_cast<int>(value);
  }
  void read(std::string_view key, CheckStatus& out) {
    std::string text;
    if (!take(map_.str(key), text)) return;
    const auto status = parse_check_status(text);
    if (!status) return fail(field_text(key) + " has unknown value '" + text + "'");
    out = *status;
  }
  void read(std::string_view key, ParamMap& out) {
    const msgpack::object& params = *map_.find(key);
    if (params.type != msgpack::type::MAP) return fail(field_text(key) + " is not a map");
    for (std::uint32_t i = 0; i < params.via.map.size; ++i) {
      const msgpack::object_kv& kv = params.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) {
        return fail(what_ + ": a " + std::string(key) + " key is not a string");
      }
      const std::string name = to_valid_utf8(as_view(kv.key));
      const std::string named = what_ + ": " + std::string(key) + " '" + name + "'";
      if (kv.val.type == msgpack::type::STR) {
        out[name] = to_valid_utf8(as_view(kv.val));
      } else if (kv.val.type == msgpack::type::ARRAY) {
        std::vector<std::string> items;
        for (std::uint32_t j = 0; j < kv.val.via.array.size; ++j) {
          const msgpack::object& item = kv.val.via.array.ptr[j];
          if (item.type != msgpack::type::STR) return fail(named + " holds a non-string item");
          items.push_back(to_valid_utf8(as_view(item)));
        }
        out[name] = std::move(items);
      } else {
        return fail(named + " is neither a string nor a list");
      }
    }
  }
  void read(std::string_view key, PhaseTimings& out) {
    take(read_fields_map<PhaseTimings>(*map_.find(key), what_ + " " + std::string(key)), out);
  }
  void read(std::string_view key, nlohmann::json& out) {
    auto json = json_from_msgpack(*map_.find(key));
    if (!json) return fail(json.error().message);
    if (!json->is_object()) return fail(field_text(key) + " is not a map");
    out = std::move(json).value();
  }

  std::string field_text(std::string_view key) const {
    return what_ + ": field '" + std::string(key) + "'";
  }

 private:
  template <class Value>
  bool take(Expected<Value> value, Value& out) {
    if (!value) {
      fail(value.error().message);
      return false;
    }
    out = std::move(value).value();
    return true;
  }

  template <class Duration>
  void take_count(Expected<std::int64_t> count, Duration& out) {
    if (!count) return fail(count.error().message);
    out = Duration(*count);
  }

  const MsgMap& map_;
  std::string what_;
  std::optional<Error> error_;
};

// Reads a map (named `what` in errors) by `Message`'s field list, in list
// order; the first failure is the answer. Unknown keys are ignored.
template <class Message>
Expected<Message> read_fields_map(const msgpack::object& object, std::string_view what) {
  auto map = MsgMap::of(object, what);
  if (!map) return map.error();
  FieldReader fields(*map, what);
  Message message;
  for_each_field<Message>([&](const auto& field) {
    if (fields.error()) return;
    if (!map->find(field.key)) {
      if (field.presence == Presence::kRequired) {
        fields.fail(fields.field_text(field.key) + " is missing");
      }
      return;
    }
    fields.read(field.key, message.*field.member);
  });
  if (fields.error()) return *fields.error();
  return message;
}

}  // namespace

void pack_check_spec(Packer& packer, const CheckSpec& spec) {
  pack_fields_map(packer, spec);
}

Expected<CheckSpec> check_spec_from_msgpack(const msgpack::object& object) {
  return read_fields_map<CheckSpec>(object, "check");
}

void pack_check_result(Packer& packer, const CheckResult& result) {
  pack_fields_map(packer, result);
}

Expected<CheckResult> check_result_from_msgpack(const msgpack::object& object) {
  return read_fields_map<CheckResult>(object, "result");
}

namespace {
template <class T, class PackFn>
std::string encode_with(const T& value, PackFn pack) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack(packer, value);
  return {buffer.data(), buffer.size()};
}
}  // namespace

std::string encode_check_spec(const CheckSpec& spec) {
  return encode_with(spec, pack_check_spec);
}

Expected<CheckSpec> decode_check_spec(std::string_view bytes) {
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  return check_spec_from_msgpack(handle->get());
}

std::string encode_check_result(const CheckResult& result) {
  return encode_with(result, pack_check_result);
}

Expected<CheckResult> decode_check_result(std::string_view bytes) {
  auto handle = unpack_bounded(bytes);
  if (!handle) return handle.error();
  return check_result_from_msgpack(handle->get());
}

}  // namespace netmon
