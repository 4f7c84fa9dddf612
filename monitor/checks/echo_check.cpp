#include "monitor/checks/echo_check.hpp"

namespace netmon::checks {

Expected<CheckPtr> parse_tcp_echo_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'tcp_echo' is not built yet"};
}

Expected<CheckPtr> parse_udp_echo_check(const CheckSpec& spec) {
  return Error{check_error_prefix(spec) + "type 'udp_echo' is not built yet"};
}

}  // namespace netmon::checks
