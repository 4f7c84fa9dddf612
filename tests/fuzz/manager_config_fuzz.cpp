// The manager's YAML config loader (defaults, monitors, per-monitor checks,
// every check validated by its type) on hostile text: errors with a
// location, never a crash; what it accepts is valid throughout.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/monitor_name.hpp"
#include "manager/manager_config.hpp"
#include "monitor/checks/check_registry.hpp"
#include "tests/fuzz/check_wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = manager::parse_manager_config(text, "fuzz.yaml");
  if (!config) {
    fuzz::require(config.error().message.rfind("fuzz.yaml", 0) == 0,
                  "a config error starts with the file name");
    return 0;
  }
  for (const auto& [name, specs] : config->monitors) {
    fuzz::require(protocol::check_monitor_name(name).ok(), "monitor names are valid");
    std::set<std::string> ids;
    for (const CheckSpec& spec : specs) {
      fuzz::require(ids.insert(spec.id).second, "ids are unique per monitor");
      fuzz::require(checks::prepare_check(spec).ok(), "every check passed its type");
      fuzz::require_same_on_the_wire(spec);
    }
  }
  return 0;
}
