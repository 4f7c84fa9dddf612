#pragma once
// Text that came from outside (a socket, a file, the store) before it is
// trusted as UTF-8 or written to a log.

#include <cstddef>
#include <string>
#include <string_view>

namespace netmon {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` when it is valid UTF-8; otherwise a copy in which every byte that is
// not part of a well-formed sequence is written as the four characters \xNN.
// Decoders use it so that hostile or merely binary text (a DNS TXT record, a
// banner) is kept, readable, and safe for every later JSON or log writer.
std::string to_valid_utf8(std::string_view text);

// `text` made safe for one log line: printable ASCII stays; every other byte
// (control bytes, NUL, backslash, anything >= 0x80) becomes \xNN, so the
// line is unambiguous. Input beyond `max_bytes` is cut and marked "...".
std::string loggable(std::string_view text, std::size_t max_bytes = 64);

}  // namespace netmon
