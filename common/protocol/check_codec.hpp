#pragma once
// msgpack encoding of check specs and results: one named-key map each, unknown
// keys ignored so newer peers can add fields. Decoding untrusted bytes never
// throws: it returns an Error naming what was wrong.

#include <chrono>
#include <cstddef>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "common/expected.hpp"

namespace netmon {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Explicit unpack limits: msgpack's defaults are unlimited, so a 5-byte
// message could ask for gigabytes.
struct UnpackLimits {
  std::size_t array = 100'000;
  std::size_t map = 10'000;
  std::size_t str = 1 << 20;
  std::size_t bin = 1 << 20;
  std::size_t ext = 0;
  std::size_t depth = 16;
};

// Unpacks exactly one object filling all of `bytes`, within `limits`.
Expected<msgpack::object_handle> unpack_bounded(std::string_view bytes,
                                                const UnpackLimits& limits = {});

// A read-only view of a msgpack map with typed, named lookups.
class MsgMap {
 public:
  static Expected<MsgMap> of(const msgpack::object& object, std::string_view what);

  const msgpack::object* find(std::string_view key) const;
  // Each getter fails with "<what>: field 'key' ..." when missing (if required) or mistyped.
  Expected<std::string> str(std::string_view key) const;
  Expected<std::string> str_or(std::string_view key, std::string_view fallback) const;
  Expected<std::int64_t> int64(std::string_view key) const;
  Expected<std::int64_t> int64_or(std::string_view key, std::int64_t fallback) const;
  Expected<std::uint64_t> uint64(std::string_view key) const;
  // An int of microseconds since the Unix epoch that fits a system_clock
  // time point (nanoseconds: the years 1678..2262); beyond, converting would overflow.
  Expected<std::chrono::system_clock::time_point> wall_time_us(std::string_view key) const;
  Expected<bool> boolean_or(std::string_view key, bool fallback) const;

 private:
  MsgMap(const msgpack::object_map& map, std::string_view what) : map_(&map), what_(what) {}
  Error field_error(std::string_view key, std::string_view problem) const;

  const msgpack::object_map* map_;
  std::string what_;
};

void pack_str(Packer& packer, std::string_view text);
void pack_json(Packer& packer, const nlohmann::json& value);
Expected<nlohmann::json> json_from_msgpack(const msgpack::object& object, int depth = 0);

void pack_check_spec(Packer& packer, const CheckSpec& spec);
Expected<CheckSpec> check_spec_from_msgpack(const msgpack::object& object);

void pack_check_result(Packer& packer, const CheckResult& result);
Expected<CheckResult> check_result_from_msgpack(const msgpack::object& object);

std::string encode_check_spec(const CheckSpec& spec);
Expected<CheckSpec> decode_check_spec(std::string_view bytes);
std::string encode_check_result(const CheckResult& result);
Expected<CheckResult> decode_check_result(std::string_view bytes);

}  // namespace netmon
