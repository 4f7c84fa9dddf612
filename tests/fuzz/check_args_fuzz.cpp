// The command-line check parser (`TYPE key=value key='quoted value' ...`,
// netmon-probe and the console) and then the check types' own parameter
// validation (prepare_check), on hostile text: errors, never a crash.

#include <cstdint>
#include <string_view>

#include "common/check_parser.hpp"
#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "monitor/checks/check_registry.hpp"
#include "tests/fuzz/check_wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = check_from_args(text, CheckDefaults{}, "fuzz-1");
  if (!spec) {
    fuzz::require(!spec.error().message.empty(), "a rejection says why");
    return 0;
  }
  fuzz::require(validate_common_fields(*spec).ok(), "an accepted spec is valid");
  auto prepared = checks::prepare_check(*spec);
  if (!prepared) {
    fuzz::require(!prepared.error().message.empty(), "a rejection says why");
    return 0;
  }
  fuzz::require(prepared->spec == *spec, "prepare_check keeps the spec");
  fuzz::require(prepared->target == prepared->check->target(), "target() is stable");
  fuzz::require_same_on_the_wire(*spec);
  return 0;
}
