#pragma once
// What netmon-probe shows and writes: the -v result line, the statistics
// table, and the -o JSON document ({session, statistics, raw_data}).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/check_result.hpp"
#include "common/expected.hpp"
#include "monitor/probe/probe_statistics.hpp"

namespace netmon::probe {

// "2026-11-21T04:39:05.123Z  #3  tcp-web-443  web:443  down  1.204 ms  connect_refused: ..."
// with the check and target columns padded to the given widths.
std::string format_result_line(const CheckResult& result, std::uint64_t round,
                               std::size_t check_width, std::size_t target_width);

// The aligned statistics table under a one-line title.
std::string format_statistics(const ProbeStatistics& stats, const std::string& title);

// {target: {total, successful, success_rate, loss_pct, error_count,
//  errors{reason: n}, types{type: {...}}, checks{label: {...}}, ports{port: {...}}}}
// where each type, check and port adds avg_ms and
// latency_ms{min,max,avg,median,p95} (a target has no latency: its checks may
// be of different types). Rates are percent (0..100); values that do not
// exist yet are null.
// `ports[i]` is the tcp port of check i in the HOST form (0 = not a port check).
nlohmann::ordered_json statistics_json(const ProbeStatistics& stats,
                                       const std::vector<std::uint16_t>& ports);

// Every result of the session, kept as compact JSON lines in an anonymous
// temporary file (memory stays flat in long runs) until the report is written.
class RawDataSpool {
 public:
  RawDataSpool();
  ~RawDataSpool();
  RawDataSpool(const RawDataSpool&) = delete;
  RawDataSpool& operator=(const RawDataSpool&) = delete;

  // to_json(result) plus "round".
  void append(const CheckResult& result, std::uint64_t round);
  std::uint64_t size() const { return count_; }
  // Writes the entries as the elements of a JSON array (", \n" separated, each
  // line starting with `indent`). Returns false on an I/O error.
  bool write_elements(std::FILE* out, const std::string& indent);

 private:
  void flush_buffer();

  std::FILE* file_ = nullptr;  // null if no temporary file could be made: all in buffer_
  std::string buffer_;
  std::uint64_t count_ = 0;
  bool failed_ = false;
};

// Writes {"session": session, "statistics": statistics, "raw_data": [...]} to
// `path` through a temporary file in the same directory and a rename, so a
// reader never sees half a file.
Expected<void> write_json_report(const std::string& path, const nlohmann::ordered_json& session,
                                 const nlohmann::ordered_json& statistics, RawDataSpool& raw_data);

}  // namespace netmon::probe
