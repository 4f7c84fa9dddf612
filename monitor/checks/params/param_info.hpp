#pragma once
// What a check type's parameter is, for `help add` and completion: kept
// beside each type's parse so the two are edited together (a test holds each
// list equal to the names that parse accepts).

#include <string_view>

namespace netmon::checks {

struct ParamInfo {
  std::string_view name;
  bool required = false;
  // A value the parse accepts and that means what leaving it out means; empty
  // when there is no such value (the summary then says what happens).
  std::string_view default_value;
  std::string_view summary;  // one line
};

}  // namespace netmon::checks
