#pragma once
// Where the logger's lines go: logger_main's `out` stream, or a size-rotated
// file. Lines are written by the subscriber's thread only; flush() is called
// whenever the socket has nothing more queued, so a reader (tail -f) sees
// lines promptly.

#include <ostream>
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

// A stream the sink does not own: logger_main's `out` (std::cout in the
// program). No flush per line: flush() flushes the stream, as the socket goes
// idle. With std::cout synchronised with stdio (the default) the bytes go
// straight to C's stdout, so its buffering is what it was when this sink
// wrote to stdout itself: line-buffered on a terminal, block-buffered on a pipe.
class StreamSink final : public LineSink {
 public:
  explicit StreamSink(std::ostream& stream) : stream_(stream) {}
  void write_line(std::string_view line) override {
    stream_.write(line.data(), static_cast<std::streamsize>(line.size()));
    stream_.put('\n');
    if (!stream_) throw std::runtime_error("cannot write to the output stream");
  }
  void flush() override { stream_.flush(); }

 private:
  std::ostream& stream_;
};

}  // namespace netmon::logger
