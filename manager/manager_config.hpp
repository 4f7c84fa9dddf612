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
  // Monitor name -> its checks, in file order.
  std::map<std::string, std::vector<CheckSpec>, std::less<>> monitors;
};

Expected<ManagerConfig> parse_manager_config(std::string_view text, std::string_view source_name);
Expected<ManagerConfig> load_manager_config(const std::filesystem::path& path);

}  // namespace netmon::manager
