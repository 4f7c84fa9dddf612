#pragma once
// Running figures of a netmon-probe session: per check, per check type of a
// target and per target, how many results, how many succeeded (and so the
// loss), the latency of the successful ones (min/avg/max/median/p95) and the
// failures by reason token. Latency is summed up per check type at most: a
// ping's round trip and a TCP connect time are different measures.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_result.hpp"

namespace netmon::probe {

struct LatencySummary {
  std::chrono::microseconds min{0};
  std::chrono::microseconds max{0};
  std::chrono::microseconds avg{0};
  std::chrono::microseconds median{0};
  std::chrono::microseconds p95{0};
};

// Median of `samples` (mean of the two middle ones for an even count); the
// vector is reordered. nullopt when empty.
std::optional<std::chrono::microseconds> median_of(std::vector<std::chrono::microseconds>& samples);
// The 95th percentile by nearest rank (the smallest sample with at least 95 %
// of the samples at or below it); the vector is reordered. nullopt when empty.
std::optional<std::chrono::microseconds> p95_of(std::vector<std::chrono::microseconds>& samples);

class Counters {
 public:
  void add(const CheckResult& result);

  std::uint64_t total() const { return total_; }
  std::uint64_t successful() const { return successful_; }
  std::uint64_t error_count() const { return total_ - successful_; }
  // Percent 0..100; nullopt before the first result.
  std::optional<double> success_rate() const;
  // Percent of results that were not a success (as ping counts packet loss).
  std::optional<double> loss_rate() const;
  // Over successful results only; nullopt when there are none.
  std::optional<LatencySummary> latency() const;
  // Failures by reason token (status name when a result has no reason).
  const std::map<std::string, std::uint64_t, std::less<>>& errors() const { return errors_; }
  // The most frequent reason (the alphabetically first on a tie); empty when none.
  std::string top_error() const;

 private:
  std::uint64_t total_ = 0;
  std::uint64_t successful_ = 0;
  std::chrono::microseconds sum_{0};
  std::chrono::microseconds min_{0};
  std::chrono::microseconds max_{0};
  std::vector<std::chrono::microseconds> samples_;  // successful latencies, for the median
  std::map<std::string, std::uint64_t, std::less<>> errors_;
};

class ProbeStatistics {
 public:
  struct Row {
    std::string group;  // target row
    std::string type;   // check type row under it
    std::string label;  // check row under that
  };
  struct TypeGroup {
    std::string type;
    Counters counters;
    std::vector<std::size_t> checks;  // indexes into the check rows, in order
  };
  struct Group {
    std::string name;
    Counters counters;                // every result of the target; its latency mixes types
    std::vector<TypeGroup> types;     // in first-use order
    std::vector<std::size_t> checks;  // indexes into the check rows, in order
  };

  // One row per check, in the session's order; groups appear in first-use order.
  explicit ProbeStatistics(const std::vector<Row>& rows);

  void add(std::size_t check, const CheckResult& result);

  std::size_t check_count() const { return checks_.size(); }
  const Counters& check(std::size_t index) const { return checks_[index]; }
  const std::string& label(std::size_t index) const { return labels_[index]; }
  const std::vector<Group>& groups() const { return groups_; }
  // Results counted so far, all checks together.
  std::uint64_t result_count() const { return result_count_; }

 private:
  std::vector<Counters> checks_;
  std::vector<std::string> labels_;
  std::vector<std::size_t> group_of_;
  std::vector<std::size_t> type_of_;  // index into its group's types
  std::vector<Group> groups_;
  std::uint64_t result_count_ = 0;
};

}  // namespace netmon::probe
