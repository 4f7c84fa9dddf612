#include "manager/manager_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/check_parser.hpp"
#include "common/protocol/monitor_name.hpp"
#include "monitor/checks/params/check_params.hpp"

namespace netmon::manager {
namespace {

// A type's parameter error reads "check 'ID': FIELD ...": point at FIELD's own
// line when the check is written in block style, else at the check.
std::string location_of_param_error(std::string_view source_name, const YAML::Node& check,
                                    const CheckSpec& spec, const std::string& message) {
  const std::string prefix = check_error_prefix(spec);
  if (message.rfind(prefix, 0) == 0) {
    const std::string_view rest = std::string_view(message).substr(prefix.size());
    for (const auto& entry : check) {
      const std::string key = entry.first.as<std::string>("");
      if (key.empty() || rest.rfind(key, 0) != 0) continue;
      const char after = rest.size() > key.size() ? rest[key.size()] : ' ';
      if (after == ' ' || after == '\'' || after == ':' || after == '[') {
        return yaml_location(source_name, entry.second);
      }
    }
  }
  return yaml_location(source_name, check);
}

// Reads one monitor's body into `config` (its checks, and its defaults when
// it has its own).
Expected<std::vector<CheckSpec>> monitor_checks(const YAML::Node& body, const std::string& name,
                                                ManagerConfig& config,
                                                std::string_view source_name) {
  CheckDefaults defaults = config.defaults;
  const std::string at = yaml_location(source_name, body);
  if (!body.IsMap()) {
    return Error{at + "monitors." + name + " must be a map with a 'checks' list"};
  }
  for (const auto& entry : body) {
    const std::string key = entry.first.as<std::string>("");
    if (key != "defaults" && key != "checks") {
      return Error{yaml_location(source_name, entry.first) + "unknown key 'monitors." + name + "." +
                   key + "' (allowed: defaults, checks)"};
    }
  }
  if (const YAML::Node own = body["defaults"]) {
    if (auto ok = defaults_from_yaml(own, defaults, yaml_location(source_name, own)); !ok) {
      return Error{ok.error().message + " (in monitors." + name + ")"};
    }
    config.monitor_defaults.insert_or_assign(name, defaults);
  }
  const YAML::Node checks = body["checks"];
  if (!checks) return Error{at + "monitors." + name + ": no 'checks' list (add checks: [...])"};
  if (!checks.IsSequence()) {
    return Error{yaml_location(source_name, checks) + "monitors." + name +
                 ".checks must be a list of checks"};
  }
  const auto validate = [&](const YAML::Node& node, const CheckSpec& spec) -> Expected<void> {
    if (auto valid = checks::validate_check(spec); !valid) {
      return Error{location_of_param_error(source_name, node, spec, valid.error().message) +
                   valid.error().message};
    }
    return {};
  };
  return checks_from_yaml_list(checks, defaults, source_name, validate,
                               " of monitor '" + name + "' (ids must be unique)");
}

}  // namespace

bool same_defaults(const CheckDefaults& a, const CheckDefaults& b) {
  return a.interval == b.interval && a.timeout == b.timeout && a.retries == b.retries;
}

bool ManagerConfig::operator==(const ManagerConfig& other) const {
  return same_defaults(defaults, other.defaults) && monitors == other.monitors &&
         std::ranges::equal(monitor_defaults, other.monitor_defaults,
                            [](const auto& a, const auto& b) {
                              return a.first == b.first && same_defaults(a.second, b.second);
                            });
}

const CheckDefaults& defaults_of(const ManagerConfig& config, std::string_view monitor) {
  const auto it = config.monitor_defaults.find(monitor);
  return it == config.monitor_defaults.end() ? config.defaults : it->second;
}

Expected<ManagerConfig> parse_manager_config(std::string_view text, std::string_view source_name) {
  const std::string source(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  if (!root.IsMap()) {
    return Error{source +
                 ":1: expected a map with 'defaults' and 'monitors' (see CONFIGURATION.md)"};
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>("");
    if (key != "defaults" && key != "monitors") {
      return Error{yaml_location(source_name, entry.first) + "unknown key '" + key +
                   "' (allowed: defaults, monitors)"};
    }
  }
  ManagerConfig config;
  if (const YAML::Node node = root["defaults"]) {
    if (auto ok = defaults_from_yaml(node, config.defaults, yaml_location(source_name, node));
        !ok) {
      return ok.error();
    }
  }
  const YAML::Node monitors = root["monitors"];
  if (!monitors)
    return Error{source + ":1: no 'monitors' map (add monitors: {NAME: {checks: []}})"};
  if (!monitors.IsMap()) {
    return Error{yaml_location(source_name, monitors) +
                 "monitors must be a map of monitor name -> {checks: [...]}"};
  }
  for (const auto& entry : monitors) {
    const std::string name = entry.first.as<std::string>("");
    if (auto valid = protocol::check_monitor_name(name); !valid) {
      return Error{yaml_location(source_name, entry.first) + valid.error().message};
    }
    auto checks = monitor_checks(entry.second, name, config, source_name);
    if (!checks) return checks.error();
    if (!config.monitors.emplace(name, std::move(checks).value()).second) {
      return Error{yaml_location(source_name, entry.first) + "monitor '" + name +
                   "' is listed twice (names must be unique)"};
    }
  }
  return config;
}

Expected<ManagerConfig> load_manager_config(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) {
    return Error{path.string() + ": cannot open the config file (check --config and permissions)"};
  }
  std::ostringstream text;
  text << file.rdbuf();
  return parse_manager_config(text.str(), path.string());
}

}  // namespace netmon::manager
