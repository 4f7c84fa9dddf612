#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// dns: one query for `name`/`record` to `server`:`port`. ldns builds the query
// (once, at parse time) and parses the reply; the run owns a non-blocking
// socket: UDP by default with an automatic TCP retry when the answer comes back
// truncated, or TCP throughout with transport=tcp.
//
// Answers are rendered as text per record type (A "192.0.2.1", MX
// "10 mail.example.test.", TXT the joined strings, SRV "10 5 5060 sip.example.test.",
// SOA "mname rname serial refresh retry expire minimum"); names in lower case
// with a trailing dot. `expect` values are brought to the same form at parse
// time; the check is up when every expected value is among the answers.
Expected<CheckPtr> parse_dns_check(const CheckSpec& spec);

// A reply as a run reads it.
struct DnsReply {
  int rcode = 0;
  bool authoritative = false;
  bool truncated = false;
  std::size_t answer_count = 0;      // ANCOUNT, as the header says
  std::vector<std::string> answers;  // the records of the asked type, in text form
};

// What a run of `check` (made by parse_dns_check) does with the bytes of a
// reply whose id matched: the decoder on its own, for tests and fuzzing. The
// error is the bad_reply text.
Expected<DnsReply> parse_dns_reply(const Check& check, std::span<const std::uint8_t> reply);

}  // namespace netmon::checks
