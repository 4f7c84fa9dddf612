#pragma once
// Turns what the logger receives into one output line (no trailing newline):
// a human line or a JSON object. Everything printed comes from the network,
// so human lines escape control characters and JSON replaces invalid UTF-8:
// one message is always exactly one line.

#include <chrono>
#include <string>

#include "broker/logger/gap_tracker.hpp"
#include "common/protocol/messages.hpp"

namespace netmon::logger {

enum class OutputFormat { kHuman, kJson };

class RecordFormatter {
 public:
  explicit RecordFormatter(OutputFormat format) : format_(format) {}

  // A RESULT, or a LOSS record (which carries no time of its own: `received` is used).
  std::string record(const protocol::Record& record,
                     std::chrono::system_clock::time_point received) const;
  std::string event(const protocol::Event& event) const;
  // A range of seqs the logger did not see, noticed at `noticed`.
  std::string gap(const Gap& gap, std::chrono::system_clock::time_point noticed) const;

 private:
  OutputFormat format_;
};

}  // namespace netmon::logger
