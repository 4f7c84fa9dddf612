#pragma once
// The one table of check types and their parameter parsers, without the
// probes: what the manager needs to accept or reject a config file's checks.
// The monitor's registry (check_registry.hpp) lists the same types, each with
// the parse that also builds its run.

#include <span>
#include <string_view>

#include "common/check_spec.hpp"
#include "common/expected.hpp"

namespace netmon::checks {

using ValidateFn = Expected<void> (*)(const CheckSpec& spec);

struct CheckParamsType {
  std::string_view name;
  ValidateFn validate;
};

std::span<const CheckParamsType> check_params_types();

// `check 'ID': type 'T' is unknown (allowed: ...)`, naming every type.
Error unknown_check_type(const CheckSpec& spec);

// Validates the common fields and the type's parameters: a spec this accepts,
// checks::prepare_check accepts too.
Expected<void> validate_check(const CheckSpec& spec);

}  // namespace netmon::checks
