#include "monitor/probe/probe_report.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace netmon::probe {
namespace {

constexpr std::size_t kSpoolBufferBytes = 64 * 1024;

double to_ms(std::chrono::microseconds value) {
  return static_cast<double>(value.count()) / 1000.0;
}

// Milliseconds rounded to the microsecond, so averages do not print 15 digits.
double rounded_ms(std::chrono::microseconds value) {
  return std::round(to_ms(value) * 1000.0) / 1000.0;
}

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string pad_left(const std::string& text, std::size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string errors_cell(const Counters& counters) {
  std::string cell = std::to_string(counters.error_count());
  if (counters.errors().empty()) return cell;
  const std::string top = counters.top_error();
  const std::uint64_t top_count = counters.errors().find(top)->second;
  cell += " (" + top;
  if (top_count != counters.error_count()) {
    cell += " " + std::to_string(top_count) + ", other " +
            std::to_string(counters.error_count() - top_count);
  }
  return cell + ")";
}

// The latency columns' width together: MIN AVG MAX MEDIAN P95.
constexpr std::size_t kLatencyWidth = 10 + 10 + 10 + 11 + 10;

// A target's row has no latency: its checks may be of different types, and a
// ping's round trip averaged with a TCP connect time means nothing.
enum class Latency { kShown, kNone };

std::string table_row(const std::string& name, std::size_t name_width, const Counters& counters,
                      Latency shown) {
  const auto loss = counters.loss_rate();
  const auto latency = counters.latency();
  const auto ms = [&](std::chrono::microseconds LatencySummary::*field) {
    return latency ? fixed(to_ms((*latency).*field), 3) : std::string("-");
  };
  std::string row = pad_right(name, name_width) + pad_left(std::to_string(counters.total()), 8) +
                    pad_left(loss ? fixed(*loss, 1) + "%" : std::string("-"), 8);
  if (shown == Latency::kShown) {
    row += pad_left(ms(&LatencySummary::min), 10) + pad_left(ms(&LatencySummary::avg), 10) +
           pad_left(ms(&LatencySummary::max), 10) + pad_left(ms(&LatencySummary::median), 11) +
           pad_left(ms(&LatencySummary::p95), 10);
  } else {
    row += std::string(kLatencyWidth, ' ');
  }
  return row + "  " + errors_cell(counters) + "\n";
}

nlohmann::ordered_json latency_json(const Counters& counters) {
  const auto latency = counters.latency();
  if (!latency) {
    return {{"min", nullptr},
            {"max", nullptr},
            {"avg", nullptr},
            {"median", nullptr},
            {"p95", nullptr}};
  }
  return {{"min", rounded_ms(latency->min)},
          {"max", rounded_ms(latency->max)},
          {"avg", rounded_ms(latency->avg)},
          {"median", rounded_ms(latency->median)},
          {"p95", rounded_ms(latency->p95)}};
}

nlohmann::ordered_json percent_json(std::optional<double> rate) {
  return rate ? nlohmann::ordered_json(std::round(*rate * 100.0) / 100.0) : nullptr;
}

nlohmann::ordered_json counters_json(const Counters& counters, Latency shown) {
  const auto latency = counters.latency();
  nlohmann::ordered_json errors = nlohmann::ordered_json::object();
  for (const auto& [reason, count] : counters.errors())
    errors[reason] = count;
  nlohmann::ordered_json out{
      {"total", counters.total()},
      {"successful", counters.successful()},
      {"success_rate", percent_json(counters.success_rate())},
      {"loss_pct", percent_json(counters.loss_rate())},
  };
  if (shown == Latency::kShown) {
    out["avg_ms"] = latency ? nlohmann::ordered_json(rounded_ms(latency->avg)) : nullptr;
    out["latency_ms"] = latency_json(counters);
  }
  out["error_count"] = counters.error_count();
  out["errors"] = std::move(errors);
  return out;
}

}  // namespace

std::string format_result_line(const CheckResult& result, std::uint64_t round,
                               std::size_t check_width, std::size_t target_width) {
  std::string line =
      format_timestamp(result.timestamp) + "  #" + pad_right(std::to_string(round), 4) + " " +
      pad_right(result.check_id, check_width) + "  " + pad_right(result.target, target_width) +
      "  " + pad_right(std::string(to_string(result.status)), 7) +
      pad_left(fixed(to_ms(result.latency), 3), 10) + " ms";
  if (result.status != CheckStatus::kUp) {
    line += "  " + (result.reason.empty() ? std::string(to_string(result.status)) : result.reason);
    if (!result.error.empty()) line += ": " + result.error;
  }
  return line + "\n";
}

std::string format_statistics(const ProbeStatistics& stats, const std::string& title) {
  // Under each target a row per check type; a type with several checks (tcp
  // on several ports) has its checks under it, a type with one is that check.
  const std::string heading = "TARGET / CHECK";
  std::size_t width = heading.size();
  for (const auto& group : stats.groups()) {
    width = std::max(width, group.name.size());
    for (const auto& type : group.types) {
      width = std::max(width, type.type.size() + 2);
      for (const std::size_t check : type.checks) {
        width = std::max(width, stats.label(check).size() + (type.checks.size() > 1 ? 4 : 2));
      }
    }
  }
  width += 2;
  std::string out = "--- " + title + " ---\n";
  out += pad_right(heading, width) + pad_left("RESULTS", 8) + pad_left("LOSS", 8) +
         pad_left("MIN ms", 10) + pad_left("AVG ms", 10) + pad_left("MAX ms", 10) +
         pad_left("MEDIAN ms", 11) + pad_left("P95 ms", 10) + "  ERRORS\n";
  for (const auto& group : stats.groups()) {
    out += table_row(group.name, width, group.counters, Latency::kNone);
    for (const auto& type : group.types) {
      if (type.checks.size() == 1) {
        const std::size_t check = type.checks.front();
        out += table_row("  " + stats.label(check), width, stats.check(check), Latency::kShown);
        continue;
      }
      out += table_row("  " + type.type, width, type.counters, Latency::kShown);
      for (const std::size_t check : type.checks) {
        out += table_row("    " + stats.label(check), width, stats.check(check), Latency::kShown);
      }
    }
  }
  return out;
}

nlohmann::ordered_json statistics_json(const ProbeStatistics& stats,
                                       const std::vector<std::uint16_t>& ports) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& group : stats.groups()) {
    nlohmann::ordered_json entry = counters_json(group.counters, Latency::kNone);
    nlohmann::ordered_json types = nlohmann::ordered_json::object();
    for (const auto& type : group.types)
      types[type.type] = counters_json(type.counters, Latency::kShown);
    nlohmann::ordered_json checks = nlohmann::ordered_json::object();
    nlohmann::ordered_json by_port = nlohmann::ordered_json::object();
    for (const std::size_t check : group.checks) {
      checks[stats.label(check)] = counters_json(stats.check(check), Latency::kShown);
      if (check < ports.size() && ports[check] != 0) {
        by_port[std::to_string(ports[check])] = counters_json(stats.check(check), Latency::kShown);
      }
    }
    entry["types"] = std::move(types);
    entry["checks"] = std::move(checks);
    entry["ports"] = std::move(by_port);
    out[group.name] = std::move(entry);
  }
  return out;
}

RawDataSpool::RawDataSpool() : file_(std::tmpfile()) {}

RawDataSpool::~RawDataSpool() {
  if (file_) std::fclose(file_);
}

void RawDataSpool::append(const CheckResult& result, std::uint64_t round) {
  // to_json's keys in reading order (its object sorts them), after the round.
  nlohmann::json plain = to_json(result);
  nlohmann::ordered_json entry{{"round", round}};
  for (const char* key : {"timestamp", "check", "type", "target", "status", "reason", "error",
                          "latency_ms", "timings", "details"}) {
    if (auto it = plain.find(key); it != plain.end()) {
      entry[key] = *it;  // json to ordered_json: a copy either way
      plain.erase(it);
    }
  }
  for (auto& [key, value] : plain.items())
    entry[key] = value;
  buffer_ += entry.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  buffer_ += '\n';
  ++count_;
  if (file_ && buffer_.size() >= kSpoolBufferBytes) flush_buffer();
}

void RawDataSpool::flush_buffer() {
  if (buffer_.empty()) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) failed_ = true;
  buffer_.clear();
}

bool RawDataSpool::write_elements(std::FILE* out, const std::string& indent) {
  bool first = true;
  const auto emit = [&](std::string_view line) {
    if (line.empty()) return;
    if (!first) std::fputs(",\n", out);
    first = false;
    std::fputs(indent.c_str(), out);
    std::fwrite(line.data(), 1, line.size(), out);
  };
  if (file_) {
    flush_buffer();
    if (std::fflush(file_) != 0 || failed_) return false;
    std::rewind(file_);
    std::string line;
    char chunk[8192];
    while (std::fgets(chunk, sizeof chunk, file_)) {
      line += chunk;
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        emit(line);
        line.clear();
      }
    }
    emit(line);
    std::fseek(file_, 0, SEEK_END);  // appending may continue
    if (std::ferror(file_)) return false;
  } else {
    std::size_t start = 0;
    while (start < buffer_.size()) {
      std::size_t end = buffer_.find('\n', start);
      if (end == std::string::npos) end = buffer_.size();
      emit(std::string_view(buffer_).substr(start, end - start));
      start = end + 1;
    }
  }
  if (!first) std::fputs("\n", out);
  return std::ferror(out) == 0;
}

Expected<void> write_json_report(const std::string& path, const nlohmann::ordered_json& session,
                                 const nlohmann::ordered_json& statistics, RawDataSpool& raw_data) {
  const nlohmann::ordered_json head{{"session", session}, {"statistics", statistics}};
  // dump(2) of an object ends in "\n}"; raw_data is appended before that brace
  // so its (possibly many) entries stream from the spool one per line.
  std::string text = head.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.resize(text.size() - 2);

  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    return Error{"cannot " + std::string(what) + " '" + path + "' (" + reason + ")"};
  };
  std::FILE* out = std::fopen(temp.c_str(), "w");
  if (!out) return fail("write");
  std::fputs(text.c_str(), out);
  std::fputs(",\n  \"raw_data\": [\n", out);
  const bool raw_ok = raw_data.write_elements(out, "    ");
  std::fputs("  ]\n}\n", out);
  const bool flushed = std::fflush(out) == 0 && std::ferror(out) == 0 && ::fsync(fileno(out)) == 0;
  if (std::fclose(out) != 0 || !flushed || !raw_ok) return fail("write");
  if (std::rename(temp.c_str(), path.c_str()) != 0) return fail("rename a temporary file to");
  return {};
}

}  // namespace netmon::probe
