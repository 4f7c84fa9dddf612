#pragma once
// The one explicit table of check types (no static self-registration: a
// static library silently drops object files nothing references).

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

std::span<const CheckType> check_types();

// A spec that passed validation, with its ready-to-run check.
struct PreparedCheck {
  CheckSpec spec;
  CheckPtr check;
  std::string target;  // check->target(), computed once rather than per run
};

// Validates the common fields and the type's parameters.
Expected<PreparedCheck> prepare_check(const CheckSpec& spec);

// prepare_check for every spec, in order, and no id used twice: what a
// monitor accepts as its check list.
Expected<std::vector<PreparedCheck>> prepare_checks(std::span<const CheckSpec> specs);

}  // namespace netmon::checks
