#include "monitor/checks/http_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_http_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'http' is not built yet"};
}

}  // namespace netmon::checks
