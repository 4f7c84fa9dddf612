#pragma once
// Turns user text into CheckSpecs: YAML or JSON check files (JSON is YAML's
// flow style, so one parser serves both) and `TYPE key=value ...` strings from
// the command line. Errors carry file and line where there is one. Only the
// common fields are validated here; the check type validates its parameters.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"

namespace netmon {

// One check from a YAML map. `where` prefixes errors ("checks.yaml:12: ").
Expected<CheckSpec> check_from_yaml(const YAML::Node& node, const CheckDefaults& defaults,
                                    std::string_view where);

// Reads `defaults` (interval, timeout, retries) from a YAML map into `defaults`.
Expected<void> defaults_from_yaml(const YAML::Node& node, CheckDefaults& defaults,
                                  std::string_view where);

// Checks one parsed check further (the manager: its type's parameters). The
// error it returns is passed on as is, so it carries its own file:line.
using CheckHook = std::function<Expected<void>(const YAML::Node& node, const CheckSpec& spec)>;

// A YAML list of checks, `defaults` applied to each, `validate` (if given) run
// on each. Ids must be unique: a repeated one is reported at its `id:` line as
// "check 'ID': id is used by another check" followed by `duplicate_note`.
Expected<std::vector<CheckSpec>> checks_from_yaml_list(const YAML::Node& list,
                                                       const CheckDefaults& defaults,
                                                       std::string_view source_name,
                                                       const CheckHook& validate = {},
                                                       std::string_view duplicate_note = {});

// A check file: either a list of checks, or a map with optional `defaults`
// and a `checks` list. Ids must be unique.
Expected<std::vector<CheckSpec>> parse_checks_text(std::string_view text,
                                                   std::string_view source_name);
Expected<std::vector<CheckSpec>> load_checks_file(const std::string& path);

// `TYPE key=value key='quoted value' ...`; a repeated key becomes a list.
// `id=` may be given; otherwise `default_id` is used.
Expected<CheckSpec> check_from_args(std::string_view text, const CheckDefaults& defaults,
                                    std::string_view default_id);

// "file:line: " for a node (lines count from 1).
std::string yaml_location(std::string_view source_name, const YAML::Node& node);

}  // namespace netmon
