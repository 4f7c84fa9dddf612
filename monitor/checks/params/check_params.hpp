#pragma once
// The one table of check types and their parameter parsers, without the
// probes: what the manager needs to accept or reject a config file's checks.
// The monitor's registry (check_registry.hpp) lists the same types, each with
// the parse that also builds its run.

#include <span>
#include <string_view>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

using ValidateFn = Expected<void> (*)(const CheckSpec& spec);

struct CheckParamsType {
  std::string_view name;
  ValidateFn validate;
  std::string_view summary;           // one line, for `help add`
  std::span<const ParamInfo> params;  // the type's own parameters, in the order help shows them
};

std::span<const CheckParamsType> check_params_types();

// The type named `name`, or nullptr.
const CheckParamsType* find_check_params_type(std::string_view name);

// The fields every check has besides its type (id, interval, timeout, retries):
// they are written as key=value beside the type's own parameters.
std::span<const ParamInfo> common_check_params();

// `check 'ID': type 'T' is unknown (allowed: ...)`, naming every type.
Error unknown_check_type(const CheckSpec& spec);

// Validates the common fields and the type's parameters: a spec this accepts,
// checks::prepare_check accepts too.
Expected<void> validate_check(const CheckSpec& spec);

}  // namespace netmon::checks
