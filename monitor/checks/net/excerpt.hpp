#pragma once
// Received bytes as text for results: the JSON export must stay valid UTF-8
// (nlohmann::json::dump() throws on anything else), and people must be able
// to read what a server sent.

#include <cstddef>
#include <string>
#include <string_view>

namespace netmon::checks {

// The first `max` bytes of `bytes`, printable ASCII as is, \\ \r \n \t
// escaped, any other byte as \xHH; "..." appended when `bytes` was longer.
std::string printable_excerpt(std::string_view bytes, std::size_t max);

}  // namespace netmon::checks
