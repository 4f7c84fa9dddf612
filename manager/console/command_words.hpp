#pragma once
// The console's word splitting, as a POSIX shell does it for one simple
// command: blanks separate words, '...' groups literally, "..." groups with
// \" \\ \$ \` escapes, and a backslash outside quotes escapes any character.
// No expansion of any kind: the manager gets the words as typed.

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace netmon::console {

// The words of `line`; an Error naming the unterminated quote or the
// trailing backslash.
Expected<std::vector<std::string>> split_words(std::string_view line);

}  // namespace netmon::console
