#include "monitor/checks/traceroute_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_traceroute_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'traceroute' is not built yet"};
}

}  // namespace netmon::checks
