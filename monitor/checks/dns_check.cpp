#include "monitor/checks/dns_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_dns_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'dns' is not built yet"};
}

}  // namespace netmon::checks
