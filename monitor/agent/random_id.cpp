#include "monitor/agent/random_id.hpp"

#include <random>

namespace netmon::agent {

std::string random_hex(std::size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::random_device device;
  std::string text;
  text.reserve(bytes * 2);
  for (std::size_t i = 0; i < bytes; ++i) {
    const unsigned byte = device() & 0xffU;
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0xfU]);
  }
  return text;
}

}  // namespace netmon::agent
