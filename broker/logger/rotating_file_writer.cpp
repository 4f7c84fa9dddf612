#include "broker/logger/rotating_file_writer.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace netmon::logger {
namespace {

std::runtime_error file_error(const std::filesystem::path& path, const std::string& what,
                              int error) {
  return std::runtime_error("--output " + path.string() + ": cannot " + what + ": " +
                            std::strerror(error));
}

}  // namespace

RotatingFileWriter::RotatingFileWriter(std::filesystem::path path, std::uint64_t max_bytes,
                                       unsigned keep)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {
  if (max_bytes_ == 0) throw std::runtime_error("--max-bytes must be at least 1");
  if (keep_ == 0) {
    throw std::runtime_error("--keep must be at least 1 (rotated files to keep besides FILE)");
  }
  open();
}

void RotatingFileWriter::open() {
  file_.reset(std::fopen(path_.c_str(), "a"));
  if (!file_) throw file_error(path_, "open for appending", errno);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path_, ec);
  size_ = ec ? 0 : size;
}

std::filesystem::path RotatingFileWriter::numbered(unsigned index) const {
  return path_.string() + "." + std::to_string(index);
}

void RotatingFileWriter::rotate() {
  file_.reset();  // fclose flushes: every line written so far is in FILE
  for (unsigned index = keep_ - 1; index >= 1; --index) {
    if (std::filesystem::exists(numbered(index))) {
      // rename() replaces FILE.(index+1): the oldest file leaves here.
      if (std::rename(numbered(index).c_str(), numbered(index + 1).c_str()) != 0) {
        throw file_error(numbered(index), "rotate to " + numbered(index + 1).string(), errno);
      }
    }
  }
  if (std::rename(path_.c_str(), numbered(1).c_str()) != 0) {
    throw file_error(path_, "rotate to " + numbered(1).string(), errno);
  }
  ++rotations_;
  open();
}

void RotatingFileWriter::write_line(std::string_view line) {
  if (!file_) open();  // a failed rotation left it closed
  const std::uint64_t bytes = line.size() + 1;
  if (size_ > 0 && size_ + bytes > max_bytes_) rotate();
  if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
      std::fputc('\n', file_.get()) == EOF) {
    throw file_error(path_, "write", errno);
  }
  size_ += bytes;
}

void RotatingFileWriter::flush() {
  if (file_ && std::fflush(file_.get()) != 0) throw file_error(path_, "flush", errno);
}

}  // namespace netmon::logger
