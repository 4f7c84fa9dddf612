#include "broker/logger/record_formatter.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace netmon::logger {
namespace {

// Control characters (a newline in an error text from the network) would
// split a line: print them as \xNN.
std::string printable(const std::string& text) {
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

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string milliseconds(std::chrono::microseconds us) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%10.3f ms", static_cast<double>(us.count()) / 1000.0);
  return buffer;
}

std::string dump(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Column widths of human lines: fixed (a live stream has no table to measure),
// wide enough for typical names; longer values push the rest right.
constexpr std::size_t kMonitorWidth = 10;
constexpr std::size_t kCheckWidth = 14;
constexpr std::size_t kTypeWidth = 10;
constexpr std::size_t kTargetWidth = 22;
constexpr std::size_t kStatusWidth = 7;

}  // namespace

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
    return format_timestamp(received) + "  LOSS   " + printable(key.monitor) +
           "  the monitor dropped seq " + std::to_string(loss->from_seq) + ".." +
           std::to_string(loss->to_seq) + " (" + std::to_string(loss->count) + " records, " +
           printable(loss->reason) + ") epoch=" + printable(key.epoch) +
           " seq=" + std::to_string(key.seq);
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
  std::string line =
      format_timestamp(result.timestamp) + "  " + pad_right(printable(key.monitor), kMonitorWidth) +
      " " + pad_right(printable(result.check_id), kCheckWidth) + " " +
      pad_right(printable(result.type), kTypeWidth) + " " +
      pad_right(printable(result.target), kTargetWidth) + " " +
      pad_right(std::string(to_string(result.status)), kStatusWidth) + milliseconds(result.latency);
  if (result.status != CheckStatus::kUp) {
    line += "  " + (result.reason.empty() ? std::string(to_string(result.status))
                                          : printable(result.reason));
    if (!result.error.empty()) line += ": " + printable(result.error);
  }
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
  std::string subject = printable(event.monitor);
  if (!event.check.empty()) subject += "/" + printable(event.check);
  return format_timestamp(event.ts) + "  EVENT  " + subject + "  " + printable(event.from) +
         " -> " + printable(event.to) + "  " + printable(event.text);
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
  return format_timestamp(noticed) + "  GAP    " + printable(gap.monitor) + "  missed seq " +
         std::to_string(gap.from_seq) + ".." + std::to_string(gap.to_seq) + " (" +
         std::to_string(gap.count()) + " records) epoch=" + printable(gap.epoch) +
         "; the live stream is not complete, the manager's store is (netmon-manager export)";
}

}  // namespace netmon::logger
