#pragma once
// Where the logger's lines go: stdout, or a size-rotated file. Lines are
// written by the subscriber's thread only; flush() is called whenever the
// socket has nothing more queued, so a reader (tail -f) sees lines promptly.

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace netmon::logger {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // Writes `line` plus a newline. Throws std::runtime_error when the line cannot be written.
  virtual void write_line(std::string_view line) = 0;
  virtual void flush() = 0;
};

// A stdio stream the sink does not own (stdout).
class StreamSink final : public LineSink {
 public:
  explicit StreamSink(std::FILE* stream) : stream_(stream) {}
  void write_line(std::string_view line) override {
    if (std::fwrite(line.data(), 1, line.size(), stream_) != line.size() ||
        std::fputc('\n', stream_) == EOF) {
      throw std::runtime_error("cannot write to the output stream");
    }
  }
  void flush() override { std::fflush(stream_); }

 private:
  std::FILE* stream_;
};

}  // namespace netmon::logger
