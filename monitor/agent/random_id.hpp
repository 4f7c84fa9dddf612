#pragma once
// Random identifiers as lower-case hex: outbox epochs (8 bytes) and monitor
// instance ids (16 bytes), PROTOCOL.md §4.

#include <cstddef>
#include <string>

namespace netmon::agent {

// `bytes` random bytes from the OS's entropy source, as 2 × bytes hex digits.
std::string random_hex(std::size_t bytes);

}  // namespace netmon::agent
