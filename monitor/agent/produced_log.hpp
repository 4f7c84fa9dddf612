#pragma once
// --produced-log FILE: one line "<epoch> <seq>" per record committed to the
// outbox, written after each commit, so process tests can compare what a
// monitor produced with what the manager stored. A kill between a commit and
// its lines is repaired at the next start from the outbox's last seq.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "monitor/agent/result_outbox.hpp"

namespace netmon::agent {

class ProducedLog {
 public:
  // Opens FILE for appending and adds any committed seq of `epoch` up to
  // `last_seq` that its last line does not reach. Throws std::runtime_error.
  ProducedLog(const std::filesystem::path& path, const std::string& epoch, std::uint64_t last_seq);
  ProducedLog(const ProducedLog&) = delete;
  ProducedLog& operator=(const ProducedLog&) = delete;
  ~ProducedLog();

  // One write per batch.
  void append(const std::vector<OutboxRecord>& records);

 private:
  void write_range(std::uint64_t from, std::uint64_t to);
  void write_all(const std::string& text);

  std::filesystem::path path_;
  std::string epoch_;
  int fd_ = -1;
};

}  // namespace netmon::agent
