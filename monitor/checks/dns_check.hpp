#pragma once

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// dns: one query for `name`/`record` to `server`:`port`. ldns builds the query
// (once, at parse time) and parses the reply; the probe owns a non-blocking
// socket: UDP by default with an automatic TCP retry when the answer comes back
// truncated, or TCP throughout with transport=tcp.
//
// Answers are rendered as text per record type (A "192.0.2.1", MX
// "10 mail.example.test.", TXT the joined strings, SRV "10 5 5060 sip.example.test.",
// SOA "mname rname serial refresh retry expire minimum"); names in lower case
// with a trailing dot. `expect` values are brought to the same form at parse
// time; the check is up when every expected value is among the answers.
Expected<CheckPtr> parse_dns_check(const CheckSpec& spec);

}  // namespace netmon::checks
