#include "common/protocol/check_codec.hpp"

#include <exception>

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

void pack_check_spec(Packer& packer, const CheckSpec& spec) {
  packer.pack_map(6);
  pack_str(packer, "id");
  pack_str(packer, spec.id);
  pack_str(packer, "type");
  pack_str(packer, spec.type);
  pack_str(packer, "interval_ms");
  packer.pack(static_cast<std::int64_t>(spec.interval.count()));
  pack_str(packer, "timeout_ms");
  packer.pack(static_cast<std::int64_t>(spec.timeout.count()));
  pack_str(packer, "retries");
  packer.pack(spec.retries);
  pack_str(packer, "params");
  packer.pack_map(static_cast<std::uint32_t>(spec.params.size()));
  for (const auto& [key, value] : spec.params) {
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

Expected<CheckSpec> check_spec_from_msgpack(const msgpack::object& object) {
  auto map = MsgMap::of(object, "check");
  if (!map) return map.error();
  CheckSpec spec;
  auto id = map->str("id");
  auto type = map->str("type");
  auto interval = map->int64("interval_ms");
  auto timeout = map->int64("timeout_ms");
  auto retries = map->int64("retries");
  if (!id) return id.error();
  if (!type) return type.error();
  if (!interval) return interval.error();
  if (!timeout) return timeout.error();
  if (!retries) return retries.error();
  spec.id = std::move(id).value();
  spec.type = std::move(type).value();
  spec.interval = std::chrono::milliseconds(*interval);
  spec.timeout = std::chrono::milliseconds(*timeout);
  if (*retries < 0 || *retries > kMaxRetries) return Error{"check: field 'retries' out of range"};
  spec.retries = static_cast<int>(*retries);
  if (const msgpack::object* params = map->find("params")) {
    if (params->type != msgpack::type::MAP) return Error{"check: field 'params' is not a map"};
    for (std::uint32_t i = 0; i < params->via.map.size; ++i) {
      const msgpack::object_kv& kv = params->via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) return Error{"check: a params key is not a string"};
      const std::string key = to_valid_utf8(as_view(kv.key));
      if (kv.val.type == msgpack::type::STR) {
        spec.params[key] = to_valid_utf8(as_view(kv.val));
      } else if (kv.val.type == msgpack::type::ARRAY) {
        std::vector<std::string> items;
        for (std::uint32_t j = 0; j < kv.val.via.array.size; ++j) {
          const msgpack::object& item = kv.val.via.array.ptr[j];
          if (item.type != msgpack::type::STR) {
            return Error{"check: params '" + key + "' holds a non-string item"};
          }
          items.push_back(to_valid_utf8(as_view(item)));
        }
        spec.params[key] = std::move(items);
      } else {
        return Error{"check: params '" + key + "' is neither a string nor a list"};
      }
    }
  }
  return spec;
}

void pack_check_result(Packer& packer, const CheckResult& result) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  packer.pack_map(10);
  pack_str(packer, "check");
  pack_str(packer, result.check_id);
  pack_str(packer, "type");
  pack_str(packer, result.type);
  pack_str(packer, "target");
  pack_str(packer, result.target);
  pack_str(packer, "ts_us");
  packer.pack(static_cast<std::int64_t>(
      duration_cast<microseconds>(result.timestamp.time_since_epoch()).count()));
  pack_str(packer, "status");
  pack_str(packer, to_string(result.status));
  pack_str(packer, "reason");
  pack_str(packer, result.reason);
  pack_str(packer, "error");
  pack_str(packer, result.error);
  pack_str(packer, "latency_us");
  packer.pack(static_cast<std::int64_t>(result.latency.count()));
  const PhaseTimings& t = result.timings;
  const int phases =
      (t.resolve ? 1 : 0) + (t.connect ? 1 : 0) + (t.tls ? 1 : 0) + (t.first_byte ? 1 : 0) + 1;
  pack_str(packer, "timings");
  packer.pack_map(static_cast<std::uint32_t>(phases));
  const auto put = [&](std::string_view name, const std::optional<microseconds>& value) {
    if (!value) return;
    pack_str(packer, name);
    packer.pack(static_cast<std::int64_t>(value->count()));
  };
  put("resolve_us", t.resolve);
  put("connect_us", t.connect);
  put("tls_us", t.tls);
  put("first_byte_us", t.first_byte);
  put("total_us", t.total);
  pack_str(packer, "details");
  pack_json(packer, result.details.is_object() ? result.details : nlohmann::json::object());
}

Expected<CheckResult> check_result_from_msgpack(const msgpack::object& object) {
  auto map = MsgMap::of(object, "result");
  if (!map) return map.error();
  CheckResult result;
  auto check = map->str("check");
  auto type = map->str("type");
  auto target = map->str_or("target", "");
  auto ts = map->wall_time_us("ts_us");
  auto status_text = map->str("status");
  auto reason = map->str_or("reason", "");
  auto error = map->str_or("error", "");
  auto latency = map->int64_or("latency_us", 0);
  for (const Error* failure :
       {check ? nullptr : &check.error(), type ? nullptr : &type.error(),
        target ? nullptr : &target.error(), ts ? nullptr : &ts.error(),
        status_text ? nullptr : &status_text.error(), reason ? nullptr : &reason.error(),
        error ? nullptr : &error.error(), latency ? nullptr : &latency.error()}) {
    if (failure) return *failure;
  }
  const auto status = parse_check_status(*status_text);
  if (!status) return Error{"result: field 'status' has unknown value '" + *status_text + "'"};
  result.check_id = std::move(check).value();
  result.type = std::move(type).value();
  result.target = std::move(target).value();
  result.timestamp = *ts;
  result.status = *status;
  result.reason = std::move(reason).value();
  result.error = std::move(error).value();
  result.latency = std::chrono::microseconds(*latency);
  if (const msgpack::object* timings = map->find("timings")) {
    auto phases = MsgMap::of(*timings, "result timings");
    if (!phases) return phases.error();
    const auto get = [&](std::string_view name,
                         std::optional<std::chrono::microseconds>& out) -> Expected<void> {
      if (!phases->find(name)) return {};
      auto value = phases->int64(name);
      if (!value) return value.error();
      out = std::chrono::microseconds(*value);
      return {};
    };
    std::optional<std::chrono::microseconds> total;
    for (auto [name, slot] :
         {std::pair{"resolve_us", &result.timings.resolve},
          std::pair{"connect_us", &result.timings.connect},
          std::pair{"tls_us", &result.timings.tls},
          std::pair{"first_byte_us", &result.timings.first_byte}, std::pair{"total_us", &total}}) {
      if (auto got = get(name, *slot); !got) return got.error();
    }
    result.timings.total = total.value_or(std::chrono::microseconds{0});
  }
  if (const msgpack::object* details = map->find("details")) {
    auto json = json_from_msgpack(*details);
    if (!json) return json.error();
    if (!json->is_object()) return Error{"result: field 'details' is not a map"};
    result.details = std::move(json).value();
  }
  return result;
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
