#pragma once
// `netmon-manager export`: prints stored records from DIR/netmon.db, opened
// read-only, so it works while the manager runs (WAL) and while it does not.
// Ordered by monitor name, epoch, seq. jsonl: one object per line with the
// keys monitor, epoch, seq, check, type, target, ts, status, reason,
// latency_ms, details; json: one array of the same objects.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::manager {

enum class ExportFormat { kJsonl, kJson };

struct ExportOptions {
  std::filesystem::path data_dir;
  // Only records whose ts is at or after this.
  std::optional<std::chrono::system_clock::time_point> since;
  ExportFormat format = ExportFormat::kJsonl;
};

// RFC 3339 ("2026-11-21T08:00:00Z", fraction and +hh:mm offset allowed) or a
// duration back from `now` ("90s", "15m", "1h", "2d").
Expected<std::chrono::system_clock::time_point> parse_since(
    std::string_view text, std::chrono::system_clock::time_point now);

Expected<ExportFormat> parse_export_format(std::string_view text);

// Writes the records; returns how many.
Expected<std::uint64_t> export_records(const ExportOptions& options, std::ostream& out);

}  // namespace netmon::manager
