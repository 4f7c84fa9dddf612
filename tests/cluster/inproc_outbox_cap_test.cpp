// The outbox cap during a long manager absence (issue 7, defect 3): before the
// fix a stored LOSS never moved the manager's contiguous seq past its range,
// so the ACK stopped below it for the rest of the epoch, the monitor replayed
// the same batches forever and results were lost without a trace.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/inproc_cluster.hpp"

namespace netmon::testing {
namespace {

struct EpochContents {
  std::set<std::uint64_t> results;                            // seqs of stored results
  std::set<std::uint64_t> losses;                             // seqs of stored loss records
  std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;  // what the losses say is gone
  std::uint64_t rows = 0;
};

EpochContents read_epoch(const std::filesystem::path& manager_dir, std::uint64_t monitor_id,
                         const std::string& epoch) {
  EpochContents contents;
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(manager_dir / "netmon.db", options);
  auto statement =
      db.prepare("SELECT seq, \"check\", details FROM records WHERE monitor_id = ? AND epoch = ?");
  statement.bind(1, static_cast<std::int64_t>(monitor_id)).bind(2, epoch);
  while (statement.step()) {
    ++contents.rows;
    const auto seq = static_cast<std::uint64_t>(statement.column_int64(0));
    if (statement.column_text(1) != "_loss") {
      contents.results.insert(seq);
      continue;
    }
    contents.losses.insert(seq);
    const auto details = nlohmann::json::parse(statement.column_text(2));
    for (const auto& range : details.at("lost")) {
      contents.lost.emplace_back(range.at(0).get<std::uint64_t>(),
                                 range.at(1).get<std::uint64_t>());
    }
  }
  return contents;
}

TEST(InprocOutboxCap,
     AfterTheCapDroppedResultsEverySeqIsStoredOrInAReportedLossAndTheOutboxDrains) {
  InprocCluster cluster;
  auto manager = cluster.start_manager();
  ASSERT_TRUE(manager);
  auto options = cluster.monitor_options("edge-1", 300);
  options.outbox_max_records = 200;
  auto agent = cluster.start_agent(options);
  ASSERT_TRUE(await([&] { return agent->stats().acked_seq >= 50; }));

  manager.reset();
  // Several cap events while the manager is away.
  ASSERT_TRUE(await([&] { return agent->stats().dropped_by_cap >= 400; }))
      << "dropped " << agent->stats().dropped_by_cap;
  const auto away = agent->stats();

  manager = cluster.start_manager();
  ASSERT_TRUE(manager);
  EXPECT_TRUE(await([&] { return agent->stats().acked_seq > away.last_seq; }))
      << "the ACK stopped at " << agent->stats().acked_seq << " below the dropped range (last_seq "
      << away.last_seq << ")";
  const auto producer = agent->stats();
  agent.reset();
  const auto final_stats = drain(cluster, options);
  EXPECT_EQ(final_stats.outbox_records, 0u);

  const auto contents =
      read_epoch(cluster.manager_dir(), final_stats.monitor_id, final_stats.epoch);
  ASSERT_FALSE(contents.losses.empty()) << "no loss record was stored";
  std::uint64_t lost_count = 0, stored_inside_loss = 0;
  std::set<std::uint64_t> lost_seqs;
  for (const auto& [from, to] : contents.lost) {
    for (std::uint64_t seq = from; seq <= to; ++seq) {
      if (!lost_seqs.insert(seq).second) ADD_FAILURE() << "seq " << seq << " in two loss ranges";
      if (contents.results.contains(seq) || contents.losses.contains(seq)) ++stored_inside_loss;
      ++lost_count;
    }
  }
  std::uint64_t silently_lost = 0;
  for (std::uint64_t seq = 1; seq <= final_stats.last_seq; ++seq) {
    if (!contents.results.contains(seq) && !contents.losses.contains(seq) &&
        !lost_seqs.contains(seq))
      ++silently_lost;
  }
  EXPECT_EQ(silently_lost, 0u) << "produced seqs neither stored nor reported lost";
  EXPECT_EQ(stored_inside_loss, 0u) << "stored records reported as lost";
  EXPECT_EQ(contents.rows, contents.results.size() + contents.losses.size());
  EXPECT_GE(lost_count, 400u);
  EXPECT_LE(lost_count, producer.dropped_by_cap);
}

}  // namespace
}  // namespace netmon::testing
