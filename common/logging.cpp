#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace netmon {
namespace {
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";
}

void setup_logging(const std::string& level) {
  spdlog::set_pattern(kPattern);
  spdlog::set_level(spdlog::level::from_str(level));
}

std::shared_ptr<spdlog::logger> component_logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = spdlog::stderr_color_mt(component);
  logger->set_pattern(kPattern);
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace netmon
