#pragma once
// Live changes to the manager's config (netmon-ctl add, addconf, set, del,
// monitor-add, monitor-del), as pure functions: each takes the config and
// returns the changed config, or an error and no change. A check is validated
// by the config file's own parser, with its error texts, and gets the same
// defaults a check written in the file under that monitor would get.
//
// Errors name the value and the fix. Which kind of error it is (for a reply
// code) follows from the step that refuses: parse_check_ref (usage),
// require_monitor (unknown monitor), require_check (unknown check); the edit
// functions run these first and return their texts unchanged, so a caller may
// run them itself to tell the kinds apart; any other refusal is an invalid
// check or parameter.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "manager/manager_config.hpp"

namespace netmon::manager {

// What an edit did: the whole config after it, and the names concerned.
struct ConfigEdit {
  ManagerConfig config;
  std::string monitor;
  std::string check;  // empty for monitor-add and monitor-del
};

// A check named as "MONITOR/CHECK".
struct CheckRef {
  std::string monitor;
  std::string check;
};

// Splits "MONITOR/CHECK"; an error (usage) when either side is empty.
Expected<CheckRef> parse_check_ref(std::string_view text);
Expected<void> require_monitor(const ManagerConfig& config, std::string_view monitor);
Expected<void> require_check(const ManagerConfig& config, const CheckRef& ref);

// `TYPE key=value ...` (a repeated key makes a list). id=ID is optional: by
// default the check is TYPE-N with the first N >= 1 not used on the monitor.
Expected<ConfigEdit> add_check(const ManagerConfig& config, std::string_view monitor,
                               std::span<const std::string> words);

// The seed's positional form `TYPE TARGET [PORT] INTERVAL` (addconf edge-1
// tcp example.com 443 5): TARGET is the type's host (tcp, udp, tcp_echo,
// udp_echo, icmp, traceroute), server (ntp) or URL (http, https; a bare host
// becomes TYPE://TARGET[:PORT]/); a bare number INTERVAL is seconds. dns
// needs a server and a name, so it has no positional form. Words with a '='
// after TYPE are the key=value form and go to add_check.
Expected<ConfigEdit> add_check_positional(const ManagerConfig& config, std::string_view monitor,
                                          std::span<const std::string> words);

// `key=value ...` changes the check's parameters and interval, timeout and
// retries; `key=` (nothing after '=') removes the parameter or sets the field
// back to what the monitor's defaults give. A timeout the check takes from its
// defaults keeps following them when the interval changes. id and type cannot
// be changed (del and add instead).
Expected<ConfigEdit> set_check(const ManagerConfig& config, std::string_view ref,
                               std::span<const std::string> words);

// `del MONITOR/CHECK`, and the seed's `delconf MONITOR CHECK`.
Expected<ConfigEdit> delete_check(const ManagerConfig& config, std::string_view ref);
Expected<ConfigEdit> delete_check(const ManagerConfig& config, std::string_view monitor,
                                  std::string_view check);

// A monitor name the manager accepts, with no checks yet.
Expected<ConfigEdit> add_monitor(const ManagerConfig& config, std::string_view name);

// Refused while the monitor has checks (they are named in the error): a
// mistyped name must not take a monitor's whole check list with it.
Expected<ConfigEdit> delete_monitor(const ManagerConfig& config, std::string_view name);

// How one monitor's checks differ between two configs, ids in the new
// config's order (removed ones in the old's).
struct MonitorChanges {
  std::string monitor;
  bool monitor_added = false;    // not in the old config
  bool monitor_removed = false;  // not in the new config
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;  // same id, other type, fields or parameters
};

// Every monitor that differs, by name; empty when the configs run the same
// checks. A monitor's defaults count only through its checks.
std::vector<MonitorChanges> describe_changes(const ManagerConfig& before,
                                             const ManagerConfig& after);

}  // namespace netmon::manager
