#include "monitor/checks/udp_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_udp_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'udp' is not built yet"};
}

}  // namespace netmon::checks
