#include "monitor/checks/ntp_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_ntp_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'ntp' is not built yet"};
}

}  // namespace netmon::checks
