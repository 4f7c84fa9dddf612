#include "broker/logger/record_formatter.hpp"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace netmon::logger {
namespace {

// Control characters (a newline in an error text from the network) would
// split a line: print them as \xNN.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string milliseconds(std::chrono::microseconds us) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%10.3f ms", static_cast<double>(us.count()) / 1000.0);
  return buffer;
}

std::string dump(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Wide enough for typical names; "traceroute" and "timeout" are the longest
// type and status.
constexpr std::size_t kMonitorWidth = 12;
constexpr std::size_t kCheckWidth = 16;
constexpr std::size_t kKindWidth = 10;
constexpr std::size_t kTargetWidth = 28;
constexpr std::size_t kStatusWidth = 7;

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::string_view trim_front(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// SGR colours: what is well is green, what is down or lost red, the rest
// (timeouts, unknown, reconnecting, losses, gaps) yellow, errors magenta.
const char* color_of(std::string_view word) {
  if (word == "up" || word == "UP" || word == "CONNECTED") return "\x1b[32m";
  if (word == "down" || word == "DOWN" || word == "LOST") return "\x1b[31m";
  if (word == "error") return "\x1b[35m";
  return "\x1b[33m";
}

}  // namespace

std::string fit_column(std::string_view text, std::size_t width) {
  std::size_t characters = 0;
  for (const char c : text)
    characters += !is_continuation(c);
  if (characters <= width) return std::string(text) + std::string(width - characters, ' ');
  // Keep width - 1 characters: end before the first byte of the next one.
  std::size_t kept = 0;
  std::size_t end = 0;
  while (end < text.size()) {
    if (!is_continuation(text[end]) && kept++ == width - 1) break;
    ++end;
  }
  return std::string(text.substr(0, end)) + "\u2026";
}

std::string event_detail(const protocol::Event& event) {
  std::string_view text = event.text;
  const std::string subject = (event.check.empty() ? "monitor " + event.monitor
                                                   : "check " + event.monitor + "/" + event.check);
  // Only the whole name: "monitor edge-10" does not restate edge-1.
  if (!text.starts_with(subject) || (text.size() > subject.size() && text[subject.size()] != ' ' &&
                                     text[subject.size()] != ':')) {
    return event.text;
  }
  text.remove_prefix(subject.size());
  if (text.starts_with(':')) text.remove_prefix(1);
  text = trim_front(text);
  if (const std::string transition = event.from + " -> " + event.to; text.starts_with(transition)) {
    text = trim_front(text.substr(transition.size()));
  }
  // "(why)" after the transition is all there is left to say: without brackets.
  if (text.starts_with('(') && text.ends_with(')') && text.find('(', 1) == std::string_view::npos) {
    text = text.substr(1, text.size() - 2);
  }
  // status=down beside a change to DOWN says it twice (status=timeout does not).
  std::string detail(text);
  const std::string status = "status=" + lower(event.to);
  if (detail == status) return "";
  if (detail.starts_with(status + " ")) return detail.substr(status.size() + 1);
  if (detail.ends_with(" " + status)) return detail.substr(0, detail.size() - status.size() - 1);
  if (const auto at = detail.find(" " + status + " "); at != std::string::npos) {
    detail.erase(at, status.size() + 1);
  }
  return detail;
}

std::string RecordFormatter::paint(std::string_view text, std::string_view word) const {
  if (!color_) return std::string(text);
  return color_of(word) + std::string(text) + "\x1b[0m";
}

std::string RecordFormatter::record(const protocol::Record& record,
                                    std::chrono::system_clock::time_point received) const {
  const auto& key = record.key;
  if (const auto* loss = std::get_if<protocol::LossRange>(&record.body)) {
    if (format_ == OutputFormat::kJson) {
      return dump({{"kind", "loss"},
                   {"timestamp", format_timestamp(received)},
                   {"monitor", key.monitor},
                   {"monitor_id", key.monitor_id},
                   {"epoch", key.epoch},
                   {"seq", key.seq},
                   {"from_seq", loss->from_seq},
                   {"to_seq", loss->to_seq},
                   {"count", loss->count},
                   {"reason", loss->reason}});
    }
    return format_timestamp(received) + "  " + fit_column(printable(key.monitor), kMonitorWidth) +
           " " + std::string(kCheckWidth, ' ') + " " + paint(fit_column("LOSS", kKindWidth), "") +
           " dropped seq " + std::to_string(loss->from_seq) + ".." + std::to_string(loss->to_seq) +
           " (" + std::to_string(loss->count) + " records, " + printable(loss->reason) +
           ") epoch=" + printable(key.epoch) + " seq=" + std::to_string(key.seq);
  }
  const auto& result = std::get<CheckResult>(record.body);
  if (format_ == OutputFormat::kJson) {
    nlohmann::json object = to_json(result);
    object["kind"] = "result";
    object["monitor"] = key.monitor;
    object["monitor_id"] = key.monitor_id;
    object["epoch"] = key.epoch;
    object["seq"] = key.seq;
    return dump(object);
  }
  const std::string_view status = to_string(result.status);
  std::string line = format_timestamp(result.timestamp) + "  " +
                     fit_column(printable(key.monitor), kMonitorWidth) + " " +
                     fit_column(printable(result.check_id), kCheckWidth) + " " +
                     fit_column(printable(result.type), kKindWidth) + " " +
                     fit_column(printable(result.target), kTargetWidth) + " " +
                     paint(fit_column(status, kStatusWidth), status) + milliseconds(result.latency);
  // Why it failed: "reason: error", or whichever of them there is (the status
  // column already says timeout or error).
  std::string why = printable(result.reason);
  if (!result.error.empty()) why += (why.empty() ? "" : ": ") + printable(result.error);
  if (result.status != CheckStatus::kUp && !why.empty()) line += "  " + why;
  return line;
}

std::string RecordFormatter::event(const protocol::Event& event) const {
  if (format_ == OutputFormat::kJson) {
    nlohmann::json object = {{"kind", "event"},          {"timestamp", format_timestamp(event.ts)},
                             {"monitor", event.monitor}, {"from", event.from},
                             {"to", event.to},           {"text", event.text}};
    if (!event.check.empty()) object["check"] = event.check;
    return dump(object);
  }
  // A condition of a monitor in the same state (a refused second connection,
  // clock skew) has no transition: its state once.
  const std::string to = printable(event.to);
  std::string state = paint(to, event.to);
  if (event.from != event.to) state = printable(event.from) + " -> " + state;
  std::string line = format_timestamp(event.ts) + "  " +
                     fit_column(printable(event.monitor), kMonitorWidth) + " " +
                     fit_column(printable(event.check), kCheckWidth) + " " +
                     fit_column("EVENT", kKindWidth) + " " + state;
  if (const std::string detail = event_detail(event); !detail.empty()) {
    line += "  " + printable(detail);
  }
  return line;
}

std::string RecordFormatter::gap(const Gap& gap,
                                 std::chrono::system_clock::time_point noticed) const {
  if (format_ == OutputFormat::kJson) {
    return dump({{"kind", "gap"},
                 {"timestamp", format_timestamp(noticed)},
                 {"monitor", gap.monitor},
                 {"epoch", gap.epoch},
                 {"from_seq", gap.from_seq},
                 {"to_seq", gap.to_seq},
                 {"count", gap.count()}});
  }
  return format_timestamp(noticed) + "  " + fit_column(printable(gap.monitor), kMonitorWidth) +
         " " + std::string(kCheckWidth, ' ') + " " + paint(fit_column("GAP", kKindWidth), "") +
         " missed seq " + std::to_string(gap.from_seq) + ".." + std::to_string(gap.to_seq) + " (" +
         std::to_string(gap.count()) + " records) epoch=" + printable(gap.epoch) +
         "; the live stream is not complete, the manager's store is (netmon-manager export)";
}

}  // namespace netmon::logger
