#pragma once
// The monitor name of PROTOCOL.md §4 (1..64 of A-Z a-z 0-9 - _ .): one rule for
// the manager's config file and the monitor's --name.

#include <cstddef>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::protocol {

inline constexpr std::size_t kMaxMonitorNameLength = 64;

// Ok for a valid name; otherwise an error that quotes the name, says what is
// wrong with it and the alphabet to use.
Expected<void> check_monitor_name(std::string_view name);

}  // namespace netmon::protocol
