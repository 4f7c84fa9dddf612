#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

#include "common/timestamp.hpp"

namespace netmon {
namespace {

// %* is the time: spdlog's own date flags have no RFC 3339 offset ("Z" or
// "+01:00"), and log lines must carry the same time text as result lines.
constexpr const char* kPattern = "%* %^%-5l%$ [%n] %v";

class TimestampFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text = format_timestamp(message.time);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TimestampFlag>();
  }
};

// Levels are coloured on a terminal, unless NO_COLOR (https://no-color.org)
// is set and not empty.
spdlog::color_mode log_color_mode() {
  const char* no_color = std::getenv("NO_COLOR");
  return no_color != nullptr && *no_color != '\0' ? spdlog::color_mode::never
                                                  : spdlog::color_mode::automatic;
}

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<TimestampFlag>('*').set_pattern(kPattern);
  return formatter;
}

void setup_logging(const std::string& level) {
  spdlog::set_formatter(make_log_formatter());
  spdlog::set_level(spdlog::level::from_str(level));
}

namespace {
std::mutex routed_mutex;
std::shared_ptr<spdlog::sinks::sink> routed_sink;  // guarded by routed_mutex
}  // namespace

// Call before the threads that log start: a logger's sink list is not
// guarded against concurrent logging.
void route_logs_to(std::shared_ptr<spdlog::sinks::sink> sink) {
  std::lock_guard lock(routed_mutex);
  routed_sink = std::move(sink);
  if (!routed_sink) return;
  routed_sink->set_formatter(make_log_formatter());
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->sinks().assign(1, routed_sink);
  });
}

std::shared_ptr<spdlog::logger> component_logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) return existing;
  std::lock_guard lock(routed_mutex);
  if (routed_sink) {
    auto logger = std::make_shared<spdlog::logger>(component, routed_sink);
    logger->set_level(spdlog::get_level());
    spdlog::register_logger(logger);
    return logger;
  }
  auto logger = spdlog::stderr_color_mt(component, log_color_mode());
  logger->set_formatter(make_log_formatter());
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace netmon
