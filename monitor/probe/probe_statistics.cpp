#include "monitor/probe/probe_statistics.hpp"

#include <algorithm>

namespace netmon::probe {

std::optional<std::chrono::microseconds> median_of(
    std::vector<std::chrono::microseconds>& samples) {
  if (samples.empty()) return std::nullopt;
  const std::size_t mid = samples.size() / 2;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(mid),
                   samples.end());
  const std::chrono::microseconds upper = samples[mid];
  if (samples.size() % 2 == 1) return upper;
  // The lower middle is the largest of the lower half.
  const std::chrono::microseconds lower =
      *std::max_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

std::optional<std::chrono::microseconds> p95_of(std::vector<std::chrono::microseconds>& samples) {
  if (samples.empty()) return std::nullopt;
  // Rank ceil(0.95 n), 1-based.
  const std::size_t rank = (samples.size() * 95 + 99) / 100;
  const auto nth = samples.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(samples.begin(), nth, samples.end());
  return *nth;
}

void Counters::add(const CheckResult& result) {
  ++total_;
  if (result.status == CheckStatus::kUp) {
    const std::chrono::microseconds latency = result.latency;
    if (successful_ == 0 || latency < min_) min_ = latency;
    if (successful_ == 0 || latency > max_) max_ = latency;
    ++successful_;
    sum_ += latency;
    samples_.push_back(latency);
    return;
  }
  const std::string_view reason =
      result.reason.empty() ? to_string(result.status) : std::string_view(result.reason);
  auto it = errors_.find(reason);
  if (it == errors_.end()) it = errors_.emplace(std::string(reason), 0).first;
  ++it->second;
}

std::optional<double> Counters::success_rate() const {
  if (total_ == 0) return std::nullopt;
  return 100.0 * static_cast<double>(successful_) / static_cast<double>(total_);
}

std::optional<double> Counters::loss_rate() const {
  const auto success = success_rate();
  if (!success) return std::nullopt;
  return 100.0 - *success;
}

std::optional<LatencySummary> Counters::latency() const {
  if (successful_ == 0) return std::nullopt;
  std::vector<std::chrono::microseconds> copy = samples_;
  LatencySummary summary;
  summary.min = min_;
  summary.max = max_;
  summary.avg = sum_ / static_cast<std::int64_t>(successful_);
  summary.median = *median_of(copy);
  summary.p95 = *p95_of(copy);
  return summary;
}

std::string Counters::top_error() const {
  std::string best;
  std::uint64_t best_count = 0;
  for (const auto& [reason, count] : errors_) {
    if (count > best_count) {
      best = reason;
      best_count = count;
    }
  }
  return best;
}

ProbeStatistics::ProbeStatistics(const std::vector<Row>& rows) : checks_(rows.size()) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    labels_.push_back(rows[i].label);
    auto it = std::find_if(groups_.begin(), groups_.end(),
                           [&](const Group& group) { return group.name == rows[i].group; });
    if (it == groups_.end()) {
      groups_.push_back(Group{rows[i].group, {}, {}, {}});
      it = groups_.end() - 1;
    }
    it->checks.push_back(i);
    group_of_.push_back(static_cast<std::size_t>(it - groups_.begin()));
    auto type = std::find_if(it->types.begin(), it->types.end(),
                             [&](const TypeGroup& entry) { return entry.type == rows[i].type; });
    if (type == it->types.end()) {
      it->types.push_back(TypeGroup{rows[i].type, {}, {}});
      type = it->types.end() - 1;
    }
    type->checks.push_back(i);
    type_of_.push_back(static_cast<std::size_t>(type - it->types.begin()));
  }
}

void ProbeStatistics::add(std::size_t check, const CheckResult& result) {
  checks_[check].add(result);
  Group& group = groups_[group_of_[check]];
  group.counters.add(result);
  group.types[type_of_[check]].counters.add(result);
  ++result_count_;
}

}  // namespace netmon::probe
