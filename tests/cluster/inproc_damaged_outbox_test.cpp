// An outbox whose bytes were damaged inside record bodies (issue 7, found by
// the fault suite): the file passes quick_check, so nothing was set aside;
// the monitor replayed the damaged bodies, the manager refused the REPLAY,
// the seqs stayed a gap and the ACK stopped below them forever. Now the rows
// fail their checksum, are deleted, and a LOSS record covers exactly them.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "monitor/agent/result_outbox.hpp"
#include "tests/support/inproc_cluster.hpp"
#include "tests/support/outbox_damage.hpp"

namespace netmon::testing {
namespace {

CheckResult result(int n) {
  CheckResult result;
  result.check_id = "port-9";
  result.type = "tcp";
  result.target = "127.0.0.1:9";
  result.timestamp = std::chrono::system_clock::now();
  result.status = CheckStatus::kDown;
  result.reason = "refused";
  result.details = {{"n", n}};
  return result;
}

TEST(InprocDamagedOutbox, DamagedRowsAreReportedLostTheRestIsStoredAndTheOutboxDrains) {
  InprocCluster cluster;
  auto options = cluster.monitor_options("edge-1", InprocCluster::kQuietRate);
  std::filesystem::create_directories(options.data_dir);
  std::string epoch;
  {
    agent::ResultOutbox outbox(options.data_dir, "edge-1", {});
    std::vector<CheckResult> results;
    for (int n = 1; n <= 50; ++n)
      results.push_back(result(n));
    (void)outbox.append(results, 0);
    epoch = outbox.epoch();
  }
  const auto file = options.data_dir / agent::ResultOutbox::kFileName;
  damage_outbox_row(file, 10, truncated);  // no longer decodes: the manager refused the REPLAY
  damage_outbox_row(file, 30, [](std::string body) {  // decodes, with a wrong target
    return last_character_changed(std::move(body), "127.0.0.1:9");
  });

  auto manager = cluster.start_manager();
  ASSERT_TRUE(manager);
  auto agent = cluster.start_agent(options);
  const bool drained = await([&] {
    const auto stats = agent->stats();
    return stats.connected && stats.last_seq == 51 && stats.acked_seq == 51 &&
           stats.outbox_records == 0;
  });
  const auto stats = agent->stats();
  ASSERT_TRUE(drained) << "acked " << stats.acked_seq << " of " << stats.last_seq
                       << ", outbox holds " << stats.outbox_records;
  EXPECT_EQ(stats.damaged_rows, 2u);

  std::set<std::uint64_t> results;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;
  sqlite::OpenOptions read_only;
  read_only.read_only = true;
  sqlite::Database db(cluster.manager_dir() / "netmon.db", read_only);
  auto rows = db.prepare("SELECT seq, \"check\", target, details FROM records WHERE epoch = ?");
  rows.bind(1, epoch);
  while (rows.step()) {
    const auto seq = static_cast<std::uint64_t>(rows.column_int64(0));
    if (rows.column_text(1) != "_loss") {
      EXPECT_EQ(rows.column_text(2), "127.0.0.1:9") << "damaged content stored at seq " << seq;
      results.insert(seq);
      continue;
    }
    EXPECT_EQ(seq, 51u);
    const auto details = nlohmann::json::parse(rows.column_text(3));
    EXPECT_EQ(details.at("reason"), agent::ResultOutbox::kCorruptReason);
    for (const auto& range : details.at("lost"))
      lost.emplace_back(range.at(0).get<std::uint64_t>(), range.at(1).get<std::uint64_t>());
  }
  std::set<std::uint64_t> expected;
  for (std::uint64_t seq = 1; seq <= 50; ++seq)
    if (seq != 10 && seq != 30) expected.insert(seq);
  EXPECT_EQ(results, expected);
  // The loss claims only what was not stored (seqs 11..29 arrived).
  EXPECT_EQ(lost, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{10, 10}, {30, 30}}));
}

}  // namespace
}  // namespace netmon::testing
