#include "monitor/agent/produced_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace netmon::agent {
namespace {

// The last seq of `epoch` the file's last complete line records, 0 if none.
std::uint64_t last_logged_seq(const std::filesystem::path& path, const std::string& epoch) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff tail = std::min<std::streamoff>(size, 4096);
  std::string text(static_cast<std::size_t>(tail), '\0');
  in.seekg(size - tail);
  in.read(text.data(), tail);
  const std::size_t end = text.rfind('\n');
  if (end == std::string::npos) return 0;
  std::size_t start = 0;
  if (end > 0) {
    const std::size_t previous = text.rfind('\n', end - 1);
    if (previous != std::string::npos) start = previous + 1;
  }
  const std::string line = text.substr(start, end - start);
  const std::size_t space = line.find(' ');
  if (space == std::string::npos || line.substr(0, space) != epoch) return 0;
  std::uint64_t seq = 0;
  std::from_chars(line.data() + space + 1, line.data() + line.size(), seq);
  return seq;
}

}  // namespace

ProducedLog::ProducedLog(const std::filesystem::path& path, const std::string& epoch,
                         std::uint64_t last_seq)
    : path_(path), epoch_(epoch) {
  const std::uint64_t logged = last_logged_seq(path, epoch);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("--produced-log " + path.string() + ": cannot open for appending (" +
                             std::strerror(errno) + "); choose a writable file");
  }
  if (logged < last_seq) write_range(logged + 1, last_seq);
}

ProducedLog::~ProducedLog() {
  ::close(fd_);
}

void ProducedLog::write_range(std::uint64_t from, std::uint64_t to) {
  std::string text;
  for (std::uint64_t seq = from; seq <= to; ++seq) {
    text += epoch_;
    text += ' ';
    text += std::to_string(seq);
    text += '\n';
    if (text.size() > (1 << 20)) {
      write_all(text);
      text.clear();
    }
  }
  write_all(text);
}

void ProducedLog::append(const std::vector<OutboxRecord>& records) {
  std::string text;
  text.reserve(records.size() * (epoch_.size() + 12));
  for (const OutboxRecord& record : records) {
    text += epoch_;
    text += ' ';
    text += std::to_string(record.seq);
    text += '\n';
  }
  write_all(text);
}

void ProducedLog::write_all(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = ::write(fd_, text.data() + done, text.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("--produced-log " + path_.string() + ": write failed (" +
                               std::strerror(errno) + ")");
    }
    done += static_cast<std::size_t>(wrote);
  }
}

}  // namespace netmon::agent
