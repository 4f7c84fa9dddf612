#pragma once
// Validators for the strings users give us. Run once, at parse time; the
// run-time code never sees a string these have not accepted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon {

bool is_ip_literal(std::string_view text);
// RFC 1123 host name (letters, digits, '-', dot-separated labels of 1..63, at most 253).
bool is_hostname(std::string_view text);
// A DNS query name: like a host name but '_' is allowed (SRV, DKIM names); "." is the root.
bool is_dns_name(std::string_view text);

struct UrlParts {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  std::uint16_t port = 0;
  std::string path;  // from the first '/' on, "/" when absent
};

// http/https URLs only; no spaces or control characters; host required; port 1..65535.
Expected<UrlParts> parse_url(std::string_view text);

// Decodes the escapes \r \n \t \0 \\ \xHH in payload parameters.
Expected<std::string> decode_escapes(std::string_view text);

}  // namespace netmon
