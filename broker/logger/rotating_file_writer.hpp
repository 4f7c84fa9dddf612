#pragma once
// Appends lines to a file and rotates it by size: when the next line would
// take FILE past max_bytes, FILE.(keep-1) -> FILE.keep, ..., FILE -> FILE.1
// and a fresh FILE is started. Lines are never split across files (a line
// longer than max_bytes gets a file of its own) and every line written is in
// one of FILE, FILE.1 .. FILE.keep until it is rotated past FILE.keep.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "broker/logger/line_sink.hpp"

namespace netmon::logger {

class RotatingFileWriter final : public LineSink {
 public:
  static constexpr std::uint64_t kDefaultMaxBytes = 10 * 1024 * 1024;
  static constexpr unsigned kDefaultKeep = 5;

  // Opens `path` for appending (creating it). max_bytes >= 1, keep >= 1.
  // Throws std::runtime_error naming the path and the reason.
  explicit RotatingFileWriter(std::filesystem::path path,
                              std::uint64_t max_bytes = kDefaultMaxBytes,
                              unsigned keep = kDefaultKeep);

  void write_line(std::string_view line) override;
  void flush() override;

  std::uint64_t rotations() const { return rotations_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  void open();
  void rotate();
  std::filesystem::path numbered(unsigned index) const;

  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  unsigned keep_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::uint64_t size_ = 0;
  std::uint64_t rotations_ = 0;
};

}  // namespace netmon::logger
