#include "manager/console/console_render.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <numeric>
#include <optional>
#include <vector>

namespace netmon::console {
namespace {

using nlohmann::json;

constexpr std::string_view kEllipsis = "…";
constexpr std::size_t kGap = 2;  // spaces between table columns

// A cell's state colour: the SGR code, or nullptr for plain text.
const char* state_color(std::string_view state) {
  if (state.starts_with("DOWN")) return "31";
  if (state.starts_with("UP") || state == "CONNECTED") return "32";
  if (state.starts_with("STALE") || state == "LOST" || state == "RECONNECTING") return "33";
  return nullptr;
}

// Control characters (from the network) would move the cursor or change
// colours: one '?' each.
std::string clean(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text)
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

// A value as a cell: strings as they are, null/missing as "-", anything else as JSON.
std::string text_of(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return clean(value.get_ref<const std::string&>());
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", value.get<double>());
    return buffer;
  }
  return clean(value.dump());
}

const json& field(const json& object, std::string_view key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string text_of(const json& object, std::string_view key) {
  return text_of(field(object, key));
}

const json& array_of(const json& object, std::string_view key) {
  static const json kEmpty = json::array();
  const json& value = field(object, key);
  return value.is_array() ? value : kEmpty;
}

// Milliseconds as a latency: "12.3 ms", "-" when unknown.
std::string latency_text(const json& value) {
  if (!value.is_number()) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value.get<double>());
  return std::string(buffer) + " ms";
}

// A duration in ms as the config file writes it: 500ms, 5s, 2m, 1h.
std::string duration_text(const json& value) {
  if (!value.is_number_integer()) return text_of(value);
  const auto ms = value.get<long long>();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// An uptime: "2d 3h", "3h 12m", "4m 5s", "12s".
std::string uptime_text(const json& value) {
  if (!value.is_number()) return text_of(value);
  const auto s = static_cast<long long>(value.get<double>() / 1000);
  if (s >= 86'400)
    return std::to_string(s / 86'400) + "d " + std::to_string(s % 86'400 / 3600) + "h";
  if (s >= 3600) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

std::string bytes_text(const json& value) {
  if (!value.is_number()) return text_of(value);
  double bytes = value.get<double>();
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return buffer;
}

// An RFC 3339 UTC time shortened for a table: HH:MM:SS today, else
// MM-DD HH:MM; anything else as it came.
std::string time_text(const json& value, const RenderOptions& options) {
  if (!value.is_string()) return text_of(value);
  std::string text = clean(value.get_ref<const std::string&>());
  if (text.size() < 19 || text[10] != 'T') return text;
  if (!options.today.empty() && text.compare(0, 10, options.today) == 0) return text.substr(11, 8);
  return text.substr(5, 5) + " " + text.substr(11, 5);
}

// MONITOR/CHECK of a row: a Check names itself "id", other rows name it "check".
std::string check_name(const json& row) {
  return text_of(row, "monitor") + "/" + text_of(row, row.contains("check") ? "check" : "id");
}

std::string colored(std::string_view text, const char* color, const RenderOptions& options) {
  if (!options.color || color == nullptr) return std::string(text);
  return std::string("\x1b[") + color + "m" + std::string(text) + "\x1b[0m";
}

// Rows of cells under a header, cut to fit the width: the flexible columns
// (names, peers, free text) give up width first, widest first, then any
// other; state columns are never cut. Colour is added after padding, so
// escape codes never count as width.
class Table {
 public:
  // `state_columns`: cells that are states, coloured by state_color.
  // `flex_columns`: the first to be cut.
  explicit Table(std::vector<std::string> header, std::vector<std::size_t> state_columns = {},
                 std::vector<std::size_t> flex_columns = {})
      : header_(std::move(header)),
        state_columns_(std::move(state_columns)),
        flex_columns_(std::move(flex_columns)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string render(const RenderOptions& options, std::size_t indent = 0) const {
    std::vector<std::size_t> widths(header_.size(), 0);
    for (std::size_t c = 0; c < header_.size(); ++c) {
      widths[c] = display_width(header_[c]);
      for (const auto& row : rows_)
        if (c < row.size()) widths[c] = std::max(widths[c], display_width(row[c]));
    }
    const std::size_t gaps = kGap * (widths.size() - 1) + indent;
    const std::size_t room = options.width > gaps ? options.width - gaps : widths.size();
    // The widest column of `columns` that can still give up a character.
    auto widest = [&](const std::vector<std::size_t>& columns, std::size_t floor) {
      std::optional<std::size_t> best;
      for (const std::size_t c : columns)
        if (c < widths.size() && widths[c] > floor && (!best || widths[c] > widths[*best]))
          best = c;
      return best;
    };
    std::vector<std::size_t> others;
    for (std::size_t c = 0; c < widths.size(); ++c)
      if (!is_state(c)) others.push_back(c);
    while (std::accumulate(widths.begin(), widths.end(), std::size_t{0}) > room) {
      auto column = widest(flex_columns_, 8);
      if (!column) column = widest(others, 3);
      if (!column) break;
      --widths[*column];
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells, bool header) {
      std::string text(indent, ' ');
      for (std::size_t c = 0; c < widths.size(); ++c) {
        const std::string cell = truncate_to(c < cells.size() ? cells[c] : "", widths[c]);
        const bool last = c + 1 == widths.size();
        const std::string pad =
            last ? "" : std::string(widths[c] - display_width(cell) + kGap, ' ');
        text += header        ? colored(cell, "1", options)
                : is_state(c) ? colored(cell, state_color(cell), options)
                              : cell;
        text += pad;
      }
      while (!text.empty() && text.back() == ' ')
        text.pop_back();
      out += text + "\n";
    };
    line(header_, true);
    for (const auto& row : rows_)
      line(row, false);
    return out;
  }

 private:
  bool is_state(std::size_t column) const {
    return std::find(state_columns_.begin(), state_columns_.end(), column) != state_columns_.end();
  }

  std::vector<std::string> header_;
  std::vector<std::size_t> state_columns_;
  std::vector<std::size_t> flex_columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "label  value" lines with the labels aligned, each cut to the width.
class Fields {
 public:
  void add(std::string label, std::string value) {
    items_.emplace_back(std::move(label), std::move(value));
  }
  std::string render(const RenderOptions& options) const {
    std::size_t label_width = 0;
    for (const auto& [label, value] : items_)
      label_width = std::max(label_width, display_width(label));
    std::string out;
    for (const auto& [label, value] : items_) {
      const std::size_t used = label_width + kGap;
      const std::string cell = truncate_to(value, options.width > used ? options.width - used : 1);
      out += label + std::string(label_width - display_width(label) + kGap, ' ') + cell + "\n";
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// "NAME n  NAME n ..." of a {"NAME": n} object, in the order given.
std::string counts_text(const json& counts, std::initializer_list<std::string_view> order,
                        const RenderOptions& options) {
  std::string out;
  for (const std::string_view name : order) {
    const json& count = field(counts, name);
    if (!out.empty()) out += "  ";
    const bool nonzero = count.is_number() && count.get<double>() != 0;
    out += (nonzero ? colored(name, state_color(name), options) : std::string(name)) + " " +
           text_of(count);
  }
  return out;
}

std::string check_state_text(const json& check) {
  std::string state = text_of(check, "state");
  // A STALE check keeps its last known state beside it.
  if (state == "STALE" && field(check, "last_state").is_string())
    state += " (" + text_of(check, "last_state") + ")";
  return state;
}

std::string params_text(const json& params) {
  if (!params.is_object()) return text_of(params);
  std::string out;
  for (const auto& [name, value] : params.items()) {
    if (!out.empty()) out += " ";
    std::string text;
    if (value.is_array()) {
      for (const auto& item : value)
        text += (text.empty() ? "" : ",") + text_of(item);
    } else {
      text = text_of(value);
    }
    out += clean(name) + "=" + text;
  }
  return out;
}

// Words of `text` in lines of at most `width` columns: the first after
// `indent` spaces, the others after `next_indent`. A word longer than a
// line is split across lines rather than cut (a URL is worth reading whole).
std::string wrap(std::string_view text, std::size_t indent, std::size_t width,
                 std::optional<std::size_t> next_indent = std::nullopt) {
  std::string out;
  std::string line;
  std::size_t margin = indent;
  auto room = [&] { return width > margin + 10 ? width - margin : 10; };
  auto end_line = [&] {
    out += std::string(margin, ' ') + line + "\n";
    line.clear();
    margin = next_indent.value_or(indent);
  };
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(at, end - at);
    at = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && display_width(line) + 1 + display_width(word) > room()) end_line();
    while (display_width(word) > room() - display_width(line) - (line.empty() ? 0 : 1)) {
      // Split at a character boundary: the first `fit` columns go on this line.
      const std::size_t fit = room() - display_width(line) - (line.empty() ? 0 : 1);
      std::size_t bytes = 0;
      for (std::size_t columns = 0; bytes < word.size(); ++bytes) {
        if ((static_cast<unsigned char>(word[bytes]) & 0xC0) != 0x80 && columns++ == fit) break;
      }
      line += (line.empty() ? "" : " ") + std::string(word.substr(0, bytes));
      word.remove_prefix(bytes);
      end_line();
    }
    if (!word.empty()) line += (line.empty() ? "" : " ") + std::string(word);
  }
  if (!line.empty()) end_line();
  return out;
}

std::string render_status(const json& data, const RenderOptions& options) {
  const json& manager = field(data, "manager");
  const json& endpoints = field(data, "endpoints");
  Fields fields;
  fields.add("config", text_of(manager, "config_file"));
  fields.add("data dir", text_of(manager, "data_dir"));
  fields.add("uptime", uptime_text(field(manager, "uptime_ms")));
  fields.add("ingest", text_of(manager, "ingest_per_s") + " results/s, " +
                           text_of(manager, "stored") + " stored, " +
                           bytes_text(field(manager, "store_bytes")));
  fields.add("monitors",
             counts_text(field(data, "monitors"),
                         {"CONNECTED", "RECONNECTING", "LOST", "STOPPED", "NEVER_SEEN"}, options));
  fields.add("checks",
             counts_text(field(data, "checks"), {"UP", "DOWN", "UNKNOWN", "STALE"}, options));
  fields.add("control", text_of(endpoints, "control"));
  fields.add("broker",
             "in " + text_of(endpoints, "broker_in") + "  out " + text_of(endpoints, "broker_out"));
  fields.add("ctl", text_of(endpoints, "ctl"));
  std::string out = fields.render(options);
  const json& down = array_of(data, "down");
  if (!down.empty()) {
    Table table({"DOWN", "REASON", "SINCE", "ERROR"}, {}, {3, 0, 1});
    for (const auto& row : down)
      table.add({check_name(row), text_of(row, "reason"), time_text(field(row, "since"), options),
                 text_of(row, "error")});
    out += "\n" + table.render(options);
  }
  return out;
}

// Since when a monitor is in its state and its id are in `monitor NAME`:
// with them the row does not fit 80 columns.
Table monitor_table(const json& monitors, const RenderOptions& options) {
  Table table({"NAME", "STATE", "PEER", "HEARD", "CONFIG", "CHECKS", "STORED", "OUTBOX"}, {1},
              {0, 2});
  for (const auto& m : monitors) {
    std::string peer = text_of(m, "peer");
    if (peer.starts_with("tcp://")) peer.erase(0, 6);
    table.add({text_of(m, "name"), text_of(m, "state"), peer,
               time_text(field(m, "last_heard"), options),
               "v" + text_of(m, "config_version") + "/v" + text_of(m, "acked_config_version"),
               text_of(m, "checks"), text_of(m, "results_stored"), text_of(m, "outbox_backlog")});
  }
  return table;
}

std::string render_checks(const json& checks, const RenderOptions& options, bool with_monitor) {
  if (checks.empty()) return "no checks\n";
  std::string out;
  Table table({with_monitor ? "CHECK" : "ID", "TYPE", "EVERY", "TIMEOUT", "STATE", "LATENCY",
               "LAST RESULT"},
              {4}, {0});
  for (const auto& c : checks)
    table.add({with_monitor ? check_name(c) : text_of(c, "id"), text_of(c, "type"),
               duration_text(field(c, "interval_ms")), duration_text(field(c, "timeout_ms")),
               check_state_text(c), latency_text(field(c, "last_latency_ms")),
               time_text(field(c, "last_result"), options)});
  out += table.render(options);
  // Every parameter, defaults applied: under the table, one block per check,
  // wrapped rather than cut (a URL is worth reading whole).
  out += "\n";
  for (const auto& c : checks) {
    std::string line =
        (with_monitor ? check_name(c) : text_of(c, "id")) + ": " + params_text(field(c, "params"));
    if (field(c, "retries").is_number()) line += " retries=" + text_of(c, "retries");
    for (const char* key : {"reason", "error"})
      if (field(c, key).is_string() && !text_of(c, key).empty())
        line += std::string(" ") + key + "=" + text_of(c, key);
    out += wrap(line, 2, options.width, 4);
  }
  return out;
}

std::string render_monitor(const json& data, const RenderOptions& options) {
  const json& m = field(data, "monitor");
  Fields fields;
  fields.add("monitor", text_of(m, "name") + " (id " + text_of(m, "id") + ")");
  fields.add("state", colored(text_of(m, "state"), state_color(text_of(m, "state")), options));
  fields.add("peer", text_of(m, "peer"));
  fields.add("since", text_of(m, "since"));
  fields.add("last heard", text_of(m, "last_heard"));
  fields.add("config", "v" + text_of(m, "config_version") + " sent, v" +
                           text_of(m, "acked_config_version") + " acknowledged");
  fields.add("results", text_of(m, "results_stored") + " stored, outbox backlog " +
                            text_of(m, "outbox_backlog"));
  fields.add("epoch", text_of(m, "epoch"));
  fields.add("clock", text_of(m, "clock_ahead_ms") + " ms ahead");
  if (field(m, "outbox_error").is_string() && !text_of(m, "outbox_error").empty())
    fields.add("outbox error", text_of(m, "outbox_error"));
  return fields.render(options) + "\n" + render_checks(array_of(data, "checks"), options, false);
}

std::string render_events(const json& events, const RenderOptions& options) {
  if (events.empty()) return "no events\n";
  Table table({"TIME", "CHECK", "FROM", "TO", "TEXT"}, {2, 3}, {1, 4});
  for (const auto& e : events) {
    const std::string check = field(e, "check").is_string() && !text_of(e, "check").empty()
                                  ? check_name(e)
                                  : text_of(e, "monitor");
    table.add({time_text(field(e, "time"), options), check, text_of(e, "from"), text_of(e, "to"),
               text_of(e, "text")});
  }
  return table.render(options);
}

std::string render_stats(const json& data, const RenderOptions& options) {
  const json& stats = array_of(data, "stats");
  std::string out = "since " + text_of(data, "since") + "\n";
  if (stats.empty()) return out + "no results\n";
  Table table({"CHECK", "RESULTS", "OK %", "MIN", "AVG", "MEDIAN", "P95", "MAX", "DOWNS"}, {}, {0});
  for (const auto& s : stats)
    table.add({check_name(s), text_of(s, "results"), text_of(s, "success_pct"),
               latency_text(field(s, "min_ms")), latency_text(field(s, "avg_ms")),
               latency_text(field(s, "median_ms")), latency_text(field(s, "p95_ms")),
               latency_text(field(s, "max_ms")), text_of(s, "down_episodes")});
  return out + table.render(options);
}

std::string aliases_text(const json& command) {
  std::string out;
  for (const auto& alias : array_of(command, "aliases"))
    out += (out.empty() ? "" : ", ") + text_of(alias);
  return out;
}

// Two columns, syntax and summary, the summary wrapped (not cut: it is the
// one line that says what a command does). A syntax too long for its column
// gets a line of its own.
std::string render_help(const json& commands, const RenderOptions& options) {
  // The column is as wide as the widest syntax that takes at most half the width.
  std::size_t syntax_width = 0;
  for (const auto& c : commands)
    if (const std::size_t w = display_width(text_of(c, "syntax")); w <= options.width / 2)
      syntax_width = std::max(syntax_width, w);
  const std::size_t summary_column = syntax_width + kGap;
  std::string out;
  for (const auto& c : commands) {
    const std::string syntax = text_of(c, "syntax");
    std::string summary = text_of(c, "summary");
    if (const std::string aliases = aliases_text(c); !aliases.empty())
      summary += " (alias " + aliases + ")";
    std::string wrapped = wrap(summary, summary_column, options.width);
    if (display_width(syntax) > syntax_width) {
      out += truncate_to(syntax, options.width) + "\n" + wrapped;
    } else {
      wrapped.replace(0, display_width(syntax), syntax);
      out += wrapped.empty() ? syntax + "\n" : wrapped;
    }
  }
  return out + "\n'help COMMAND' tells more.\n";
}

std::string render_help_command(const json& data, const RenderOptions& options) {
  const json& c = field(data, "command");
  std::string out = text_of(c, "syntax") + "\n" + wrap(text_of(c, "summary"), 2, options.width);
  if (const std::string aliases = aliases_text(c); !aliases.empty())
    out += "  aliases: " + aliases + "\n";
  if (field(c, "details").is_string()) {
    // Details keep their own line breaks (examples are laid out by the manager).
    std::string_view details = field(c, "details").get_ref<const std::string&>();
    out += "\n";
    while (!details.empty()) {
      const std::size_t eol = std::min(details.find('\n'), details.size());
      const std::string line = clean(details.substr(0, eol));
      out += line.empty() ? "\n" : wrap(line, 2, options.width);
      details.remove_prefix(std::min(eol + 1, details.size()));
    }
  }
  for (const auto& type : array_of(data, "types")) {
    out += "\n" + text_of(type, "type") + " parameters:\n";
    Table table({"NAME", "REQUIRED", "DEFAULT", "WHAT"}, {}, {3, 2});
    for (const auto& p : array_of(type, "params"))
      table.add({text_of(p, "name"), text_of(p, "required"), text_of(p, "default"),
                 text_of(p, "summary")});
    out += table.render(options, 2);
  }
  return out;
}

std::string render_candidates(const json& candidates) {
  std::string out;
  for (const auto& candidate : candidates)
    out += text_of(candidate) + "\n";
  return out;
}

}  // namespace

std::size_t display_width(std::string_view text) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      // Our own colour codes (network text has none left: clean()) take no room.
      while (i < text.size() && text[i] != 'm')
        ++i;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++columns;
  }
  return columns;
}

std::string truncate_to(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out;
  std::size_t columns = 0;
  bool colored = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      const std::size_t end = std::min(text.find('m', i), text.size() - 1);
      out.append(text.substr(i, end - i + 1));
      colored = true;
      i = end;
      continue;
    }
    const bool starts = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts && ++columns == width) break;
    out += text[i];
  }
  return out + std::string(kEllipsis) + (colored ? "\x1b[0m" : "");
}

std::string utc_today() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &utc);
  return buffer;
}

RenderOptions stdout_render_options() {
  RenderOptions options;
  const char* no_color = std::getenv("NO_COLOR");
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  options.color = terminal && (no_color == nullptr || *no_color == '\0');
  winsize size{};
  if (terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    options.width = size.ws_col;
  options.today = utc_today();
  return options;
}

std::string render_data(const std::string& message, const json& data,
                        const RenderOptions& options) {
  if (data.is_object()) {
    if (data.contains("manager") && data.contains("endpoints")) return render_status(data, options);
    if (field(data, "monitor").is_object() && data.contains("checks"))
      return render_monitor(data, options);
    if (field(data, "monitors").is_array()) {
      const json& monitors = data["monitors"];
      return monitors.empty() ? "no monitors\n" : monitor_table(monitors, options).render(options);
    }
    if (field(data, "checks").is_array()) return render_checks(data["checks"], options, true);
    if (field(data, "events").is_array()) return render_events(data["events"], options);
    if (field(data, "stats").is_array()) return render_stats(data, options);
    if (field(data, "commands").is_array()) return render_help(data["commands"], options);
    if (field(data, "command").is_object()) return render_help_command(data, options);
    if (field(data, "candidates").is_array()) return render_candidates(data["candidates"]);
    // Change commands, reload and export: the message says it all.
    if (data.contains("delivery") || data.contains("changed") || data.contains("records") ||
        data.contains("config_version"))
      return message.empty() ? "" : clean(message) + "\n";
  }
  if (data.is_null()) return message.empty() ? "" : clean(message) + "\n";
  const std::string pretty = data.dump(2) + "\n";
  return message.empty() ? pretty : clean(message) + "\n" + pretty;
}

}  // namespace netmon::console
