#pragma once
// Shared by the logger tests: fixed records, a sink that captures lines and a
// stream buffer that captures what a StreamSink writes.

#include <chrono>
#include <mutex>
#include <streambuf>
#include <string>
#include <vector>

#include "broker/logger/line_sink.hpp"
#include "common/protocol/messages.hpp"

namespace netmon::logger::testing {

// 2026-11-21T05:36:50.265Z
inline std::chrono::system_clock::time_point fixed_time() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'239'410'265));
}

inline protocol::Record result_record(const std::string& monitor, const std::string& check,
                                      std::uint64_t seq, CheckStatus status = CheckStatus::kUp,
                                      const std::string& epoch = "00000000000000aa") {
  CheckResult result;
  result.check_id = check;
  result.type = "tcp";
  result.target = "127.0.0.1:12345";
  result.timestamp = fixed_time();
  result.status = status;
  if (status != CheckStatus::kUp) {
    result.reason = "connect_refused";
    result.error = "connect: Connection refused";
  }
  result.latency = std::chrono::microseconds(554);
  result.timings.total = std::chrono::microseconds(554);
  return protocol::Record{{monitor, 3, epoch, seq}, result};
}

inline protocol::Event monitor_event(const std::string& monitor) {
  return {fixed_time(), monitor, "", "LOST", "CONNECTED", "monitor " + monitor + " connected"};
}

class CaptureSink final : public LineSink {
 public:
  void write_line(std::string_view line) override {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
  }
  void flush() override {}
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// An unbuffered std::streambuf that keeps what is written, readable from
// another thread than the writer's, and counts sync() calls (flushes). Once
// closed, every write fails, as a closed pipe would.
class CaptureStreambuf final : public std::streambuf {
 public:
  std::string text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }
  int syncs() const {
    std::lock_guard lock(mutex_);
    return syncs_;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }

 protected:
  int_type overflow(int_type c) override {
    std::lock_guard lock(mutex_);
    if (closed_ || traits_type::eq_int_type(c, traits_type::eof())) return traits_type::eof();
    text_ += traits_type::to_char_type(c);
    return c;
  }
  std::streamsize xsputn(const char* data, std::streamsize count) override {
    std::lock_guard lock(mutex_);
    if (closed_) return 0;
    text_.append(data, static_cast<std::size_t>(count));
    return count;
  }
  int sync() override {
    std::lock_guard lock(mutex_);
    ++syncs_;
    return closed_ ? -1 : 0;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
  int syncs_ = 0;
  bool closed_ = false;
};

}  // namespace netmon::logger::testing
