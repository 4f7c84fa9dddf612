#pragma once
// Turns a ctl reply into what netmon-ctl prints: aligned tables that fit the
// terminal width for every data shape of the ctl protocol (status, monitors,
// monitor, checks, events, stats, help, help COMMAND, complete), the message
// alone for change commands, and message + pretty JSON for a shape it does
// not know. The shape is told by the data's keys, not by the command word,
// so aliases (list_all_queues, viewconf, ...) need nothing here.
//
// Everything rendered came from the network: cells are sanitised (control
// characters shown as '?'), and a value of an unexpected type is shown as
// its JSON text instead of throwing.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace netmon::console {

struct RenderOptions {
  bool color = false;      // ANSI colours for states (DOWN red, UP green, STALE/LOST yellow)
  std::size_t width = 80;  // the terminal's columns; cells are cut with '…' to fit
  std::string today;       // "YYYY-MM-DD" (UTC): times of that day print as HH:MM:SS
};

// The text of an ok reply (ends with a newline unless empty). `data` is the
// parsed reply data (null when the reply had none).
std::string render_data(const std::string& message, const nlohmann::json& data,
                        const RenderOptions& options);

// For what goes to stdout: colour on a terminal unless NO_COLOR is set and
// not empty (no-color.org), the terminal's width (80 when not a terminal), today.
RenderOptions stdout_render_options();

// Today's date in UTC, for RenderOptions::today.
std::string utc_today();

// The number of terminal columns `text` takes: UTF-8 code points (every
// character netmon prints is one column wide), colour codes (ESC ... m) none.
std::size_t display_width(std::string_view text);
// `text` cut to `width` columns, its last one '…' when anything was cut;
// colour codes are kept whole (and reset after the '…').
std::string truncate_to(std::string_view text, std::size_t width);

}  // namespace netmon::console
