// The check-file loader (YAML or JSON: a list of checks, or `defaults` and
// `checks`; netmon-probe --file) and each check type's validation, on
// hostile text: errors with a location, never a crash.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/check_parser.hpp"
#include "monitor/checks/check_registry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto specs = parse_checks_text(text, "fuzz.yaml");
  if (!specs) {
    fuzz::require(specs.error().message.rfind("fuzz.yaml", 0) == 0,
                  "a file error starts with the file name");
    return 0;
  }
  std::set<std::string> ids;
  for (const CheckSpec& spec : *specs) {
    fuzz::require(validate_common_fields(spec).ok(), "every loaded check is valid");
    fuzz::require(ids.insert(spec.id).second, "ids are unique");
    (void)checks::prepare_check(spec);
  }
  return 0;
}
