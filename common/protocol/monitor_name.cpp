#include "common/protocol/monitor_name.hpp"

#include <string>

namespace netmon::protocol {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

const char* name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxMonitorNameLength) return "is longer than 64 characters";
  for (const char c : name) {
    if (!name_char(c)) return "may only use A-Z a-z 0-9 - _ .";
  }
  return nullptr;
}

}  // namespace

Expected<void> check_monitor_name(std::string_view name) {
  if (const char* problem = name_problem(name)) {
    return Error{"monitor name '" + std::string(name) + "' " + problem +
                 " (use 1..64 of A-Z a-z 0-9 - _ .)"};
  }
  return {};
}

}  // namespace netmon::protocol
