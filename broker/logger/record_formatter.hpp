#pragma once
// Turns what the logger receives into one output line (no trailing newline):
// a human line or a JSON object. Everything printed comes from the network,
// so human lines escape control characters and JSON replaces invalid UTF-8:
// one message is always exactly one line.
//
// Human lines are a live table with fixed columns (a stream has no table to
// measure): time, monitor, check, then the type or, for what is not a
// result, EVENT / LOSS / GAP in its place, so a monitor's and a check's lines
// line up whatever they are:
//   2026-11-21T05:36:50.265Z  edge-1       web              http       http://127.0.0.1:8080/ down
//   12.345 ms  http_status: status 500 2026-11-21T05:36:50.265Z  edge-1       web EVENT      UP ->
//   DOWN  reason=http_status after 3 consecutive failures
// A value longer than its column is cut with an ellipsis (…); the last
// column of a line (reason and error, an event's text) is never cut.

#include <chrono>
#include <string>
#include <string_view>

#include "broker/logger/gap_tracker.hpp"
#include "common/protocol/messages.hpp"

namespace netmon::logger {

enum class OutputFormat { kHuman, kJson };

class RecordFormatter {
 public:
  // `color`: ANSI colours on statuses and states, for a terminal only.
  explicit RecordFormatter(OutputFormat format, bool color = false)
      : format_(format), color_(color) {}

  // A RESULT, or a LOSS record (which carries no time of its own: `received` is used).
  std::string record(const protocol::Record& record,
                     std::chrono::system_clock::time_point received) const;
  std::string event(const protocol::Event& event) const;
  // A range of seqs the logger did not see, noticed at `noticed`.
  std::string gap(const Gap& gap, std::chrono::system_clock::time_point noticed) const;

 private:
  std::string paint(std::string_view text, std::string_view word) const;

  OutputFormat format_;
  bool color_;
};

// `text` in exactly `width` columns: padded with spaces, or cut to width - 1
// characters (UTF-8 sequences are kept whole) plus '…'.
std::string fit_column(std::string_view text, std::size_t width);

// What an event's text says beyond the subject and the transition the line
// already shows: the manager writes "check edge-1/web UP -> DOWN status=down
// reason=connect_refused after 3 consecutive failures" (whole, for its log
// and the store), the line needs "reason=connect_refused after 3 consecutive
// failures". Text that does not restate them is returned as it is.
std::string event_detail(const protocol::Event& event);

}  // namespace netmon::logger
