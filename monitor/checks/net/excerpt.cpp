#include "monitor/checks/net/excerpt.hpp"

namespace netmon::checks {

std::string printable_excerpt(std::string_view bytes, std::size_t max) {
  constexpr char kHex[] = "0123456789abcdef";
  const std::string_view head = bytes.substr(0, max);
  std::string out;
  out.reserve(head.size() + 3);
  for (const char c : head) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (bytes.size() > head.size()) out += "...";
  return out;
}

}  // namespace netmon::checks
