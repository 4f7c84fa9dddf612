#pragma once
// The manager's config file: which checks each monitor runs, by monitor name.
//
//   defaults: {interval: 10s, timeout: 3s, retries: 2}
//   monitors:
//     edge-1:
//       defaults: {interval: 1s}        # optional, per monitor
//       checks:
//         - {id: echo, type: tcp_echo, host: 127.0.0.1, port: 12345}
//
// Every check is validated completely (common fields and the type's own
// parameters), and every error starts with "file:line: " and names the field.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"

namespace netmon::manager {

struct ManagerConfig {
  CheckDefaults defaults;  // the file's `defaults` (CheckDefaults{} when it has none)
  // Monitor name -> its checks, in file order, defaults applied. Every monitor
  // the manager accepts is here, one with no checks with an empty list.
  std::map<std::string, std::vector<CheckSpec>, std::less<>> monitors;
  // The defaults of each monitor that has a `defaults` section of its own:
  // the file's with the monitor's fields over them. Kept, with `defaults`,
  // so the file can be written back as it was (config_file.hpp) and a check
  // added later gets what one written in the file would.
  std::map<std::string, CheckDefaults, std::less<>> monitor_defaults;

  bool operator==(const ManagerConfig& other) const;
};

// The defaults a check of `monitor` gets: its own, else the file's.
const CheckDefaults& defaults_of(const ManagerConfig& config, std::string_view monitor);

bool same_defaults(const CheckDefaults& a, const CheckDefaults& b);

Expected<ManagerConfig> parse_manager_config(std::string_view text, std::string_view source_name);
Expected<ManagerConfig> load_manager_config(const std::filesystem::path& path);

}  // namespace netmon::manager
