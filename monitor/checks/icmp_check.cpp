#include "monitor/checks/icmp_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_icmp_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'icmp' is not built yet"};
}

}  // namespace netmon::checks
