#pragma once
// What every fuzz target shares: an invariant check that stops the run with a
// message (libFuzzer then saves the input), and a reader that takes typed
// values off the front of the input (libFuzzer's FuzzedDataProvider is
// clang-only; the replay build uses gcc).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace netmon::fuzz {

inline void require(bool holds, std::string_view invariant) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(invariant.size()),
               invariant.data());
  std::abort();
}

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return at_ == size_; }
  // 0 once the input is used up.
  std::uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
  // Big-endian; missing bytes read as 0.
  std::uint64_t u64() {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
      value = value << 8 | u8();
    return value;
  }
  // A length byte, then up to that many bytes.
  std::string short_bytes() { return bytes(u8()); }
  std::string bytes(std::size_t count) {
    const std::size_t taken = std::min(count, size_ - at_);
    std::string out(reinterpret_cast<const char*>(data_ + at_), taken);
    at_ += taken;
    return out;
  }
  std::string rest() { return bytes(size_ - at_); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace netmon::fuzz
