// The bus and store decoders (decode_record, decode_event and the RESULT and
// check-spec bodies inside them) on hostile bytes: never throw, and what they
// accept survives encode/decode unchanged. Each input goes through all of
// them: they share the bounded unpack, then read different maps.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "tests/fuzz/record_checks.hpp"

using namespace netmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto record = protocol::decode_record(bytes)) {
    fuzz::require_valid_record(*record);
    (void)protocol::record_topic(*record);
    const std::string encoded = protocol::encode_record(*record);
    auto again = protocol::decode_record(encoded);
    fuzz::require(again.ok(), "an encoded record decodes again");
    fuzz::require(protocol::encode_record(*again) == encoded,
                  "encode_record(decode_record(encode_record(r))) == encode_record(r)");
  }

  if (auto event = protocol::decode_event(bytes)) {
    (void)protocol::event_topic(*event);
    const std::string encoded = protocol::encode_event(*event);
    auto again = protocol::decode_event(encoded);
    fuzz::require(again.ok(), "an encoded event decodes again");
    fuzz::require(protocol::encode_event(*again) == encoded,
                  "encode_event(decode_event(encode_event(e))) == encode_event(e)");
  }

  if (auto result = decode_check_result(bytes)) {
    (void)to_json(*result).dump();
    const std::string encoded = encode_check_result(*result);
    auto again = decode_check_result(encoded);
    fuzz::require(again.ok(), "an encoded result decodes again");
    fuzz::require(encode_check_result(*again) == encoded, "the result round trip is stable");
  }

  if (auto spec = decode_check_spec(bytes)) {
    const std::string encoded = encode_check_spec(*spec);
    auto again = decode_check_spec(encoded);
    fuzz::require(again.ok(), "an encoded check spec decodes again");
    fuzz::require(*again == *spec, "decode(encode(spec)) == spec");
  }
  return 0;
}
