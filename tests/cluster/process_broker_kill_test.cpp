// kill -9 of a standalone netmon-broker (manager with --external-broker), then
// a restart on the same ports: publishers and subscribers carry on through
// the new proxy (a netmon-logger sees new live results of every monitor;
// libzmq has reports of proxied pub/sub going silent after a proxy restart),
// and every (monitor, epoch, seq) produced is in `netmon-manager export`
// exactly once. Real processes over TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cluster/built_binaries.hpp"
#include "tests/support/process_cluster.hpp"

namespace netmon::cluster {
namespace {

// The highest seq of a live result the logger printed, per monitor name.
std::map<std::string, std::uint64_t> highest_seen(const std::filesystem::path& feed) {
  std::map<std::string, std::uint64_t> highest;
  std::ifstream in(feed);
  std::string line;
  while (std::getline(in, line)) {
    const auto object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || object.value("kind", "") != "result") continue;
    auto& seq = highest[object.value("monitor", "")];
    seq = std::max(seq, object.value("seq", std::uint64_t{0}));
  }
  return highest;
}

std::uint64_t highest_produced(const std::filesystem::path& produced_log) {
  const auto keys = read_produced_log(produced_log);
  return keys.empty() ? 0 : keys.rbegin()->first.seq;
}

TEST(BrokerProcess, KilledWithSigkillAndRestartedCarriesLivePubSubOnAndTheStoreStaysComplete) {
  ProcessCluster cluster(built_binaries(), {"edge-1", "edge-2"}, /*external_broker=*/true);
  const auto feed = cluster.dir() / "feed.jsonl";
  cluster.start_broker();
  cluster.start_manager();
  cluster.start_logger(feed);
  ASSERT_EQ(cluster.start_streaming(kProcessTestRate, kProcessTestTimeout), "") << cluster.logs();
  ASSERT_TRUE(
      await([&] { return highest_seen(feed).size() == cluster.size(); }, kProcessTestTimeout))
      << "the logger saw no live results before the broker restart\n"
      << cluster.logs();

  ProcessCluster::kill(cluster.broker());
  const std::uint64_t produced_at_kill = cluster.produced_total();
  ASSERT_TRUE(await([&] { return cluster.produced_total() >= produced_at_kill + 500; },
                    kProcessTestTimeout));
  cluster.start_broker();

  // Results produced from now on can only reach the logger live, through the
  // restarted broker (the logger has no replay): every monitor must show one.
  std::map<std::string, std::uint64_t> restart_seq;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    restart_seq[cluster.name(i)] = highest_produced(cluster.produced_log(i));
  const bool live_again = await(
      [&] {
        const auto seen = highest_seen(feed);
        for (const auto& [name, seq] : restart_seq) {
          const auto at = seen.find(name);
          if (at == seen.end() || at->second <= seq) return false;
        }
        return true;
      },
      kProcessTestTimeout);
  EXPECT_TRUE(live_again) << "pub/sub through the restarted broker went silent\n" << cluster.logs();

  ASSERT_TRUE(cluster.await_stored_progress(1000, kProcessTestTimeout))
      << cluster.progress() << cluster.logs();
  EXPECT_EQ(cluster.drain_stop_and_compare(kProcessTestTimeout, 1000), "") << cluster.logs();
}

}  // namespace
}  // namespace netmon::cluster
