#pragma once
// One named spdlog logger per component ("monitor", "probe", "echo", ...), all
// with the same timestamped pattern, so every process's lines read alike.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace netmon {

// Sets the level and pattern of every netmon logger. `level` is an spdlog name
// (trace, debug, info, warn, error, critical, off).
void setup_logging(const std::string& level = "info");

// The component's logger, created on first use; never null.
std::shared_ptr<spdlog::logger> component_logger(const std::string& component);

}  // namespace netmon
