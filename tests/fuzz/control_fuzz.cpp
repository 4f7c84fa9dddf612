// decode_control (every control message, §5) on hostile bytes: never throws,
// and what it accepts survives encode/decode unchanged.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol/codec.hpp"
#include "monitor/checks/check_registry.hpp"
#include "tests/fuzz/record_checks.hpp"

namespace {

using namespace netmon;

void require_valid(const protocol::ControlMessage& message) {
  if (const auto* replay = std::get_if<protocol::Replay>(&message)) {
    for (const auto& record : replay->records)
      fuzz::require_valid_record(record);
  }
  if (const auto* config = std::get_if<protocol::Config>(&message)) {
    // What a monitor does with a CONFIG: validate every check (refusing is fine).
    for (const CheckSpec& spec : config->checks)
      (void)checks::prepare_check(spec);
  }
  if (const auto* hello = std::get_if<protocol::Hello>(&message)) {
    fuzz::require(is_valid_utf8(hello->name) && is_valid_utf8(hello->instance),
                  "HELLO texts are valid UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = protocol::decode_control(bytes);
  if (!decoded) return 0;
  require_valid(*decoded);
  // Round trip: the canonical encoding of what was accepted decodes to the same message.
  const std::string encoded = protocol::encode(*decoded);
  auto again = protocol::decode_control(encoded);
  fuzz::require(again.ok(), "an encoded message decodes again");
  fuzz::require(protocol::encode(*again) == encoded, "encode(decode(encode(m))) == encode(m)");
  fuzz::require(protocol::type_name(*again) == protocol::type_name(*decoded),
                "the round trip keeps the type");
  return 0;
}
