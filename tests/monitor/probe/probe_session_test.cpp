#include "monitor/probe/probe_session.hpp"

#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "tests/support/temp_dir.hpp"

namespace netmon::probe {
namespace {

// Loopback listeners need no running loop: the kernel completes the handshake.
struct Ports {
  asio::io_context io;
  asio::ip::tcp::acceptor listener{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::string open = std::to_string(listener.local_endpoint().port());
  std::string closed = [this] {
    asio::ip::tcp::acceptor bound(io, {asio::ip::make_address("127.0.0.1"), 0});
    return std::to_string(bound.local_endpoint().port());  // closed when `bound` goes
  }();
};

ProbeOptions options_for(const std::vector<std::string>& args) {
  ParsedCommand<ProbeOptions> parsed = parse_probe_args(args);
  if (!parsed.options) {
    ADD_FAILURE() << parsed.message;
    return {};
  }
  return std::move(*parsed.options);
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str());
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(ProbeSession, RunsCountRoundsAgainstAnOpenAndAClosedPort) {
  Ports ports;
  testing::TempDir dir("netmon-probe-test-");
  std::ostringstream out;
  ProbeSession session(options_for({"127.0.0.1", "-p", ports.open, ports.closed, "--no-ping", "-c",
                                    "3", "-i", "100ms", "-o", (dir / "r.json").string()}),
                       out);
  session.run();

  EXPECT_EQ(session.stop_reason(), StopReason::kCount);
  EXPECT_EQ(session.rounds_started(), 3u);
  EXPECT_EQ(session.rounds_completed(), 3u);
  EXPECT_EQ(session.overruns(), 0u);
  const ProbeStatistics& stats = session.statistics();
  ASSERT_EQ(stats.groups().size(), 1u);
  EXPECT_EQ(stats.groups()[0].name, "127.0.0.1");
  EXPECT_EQ(stats.groups()[0].counters.total(), 6u);
  EXPECT_EQ(stats.groups()[0].counters.successful(), 3u);
  EXPECT_EQ(stats.check(0).successful(), 3u);
  EXPECT_EQ(stats.check(1).total(), 3u);
  EXPECT_EQ(stats.check(1).successful(), 0u);
  EXPECT_EQ(stats.check(1).errors().at("connect_refused"), 3u);
  EXPECT_EQ(session.exit_code(), kExitFailure);  // the closed port failed in the last round
  EXPECT_EQ(out.str(), "");                      // no -v: nothing printed during three rounds

  ASSERT_TRUE(session.write_output().ok());
  const nlohmann::json json = read_json((dir / "r.json").string());
  const nlohmann::json& meta = json["session"];
  EXPECT_EQ(meta["targets"], nlohmann::json::array({"127.0.0.1"}));
  EXPECT_EQ(meta["ports"], nlohmann::json::array({std::stoi(ports.open), std::stoi(ports.closed)}));
  EXPECT_DOUBLE_EQ(meta["interval_s"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(meta["timeout_s"].get<double>(), 0.08);
  EXPECT_EQ(meta["rounds"], 3);
  EXPECT_EQ(meta["count"], 3);
  EXPECT_EQ(meta["ended_by"], "count");
  EXPECT_EQ(meta["checks"].size(), 2u);
  EXPECT_EQ(meta["checks"][0]["id"], "tcp-127.0.0.1-" + ports.open);
  EXPECT_EQ(meta["checks"][0]["type"], "tcp");
  EXPECT_EQ(meta["checks"][0]["label"], "tcp/" + ports.open);
  EXPECT_EQ(meta["checks"][0]["params"]["port"], ports.open);
  EXPECT_EQ(meta["checks"][0]["params"]["host"], "127.0.0.1");
  EXPECT_LE(meta["start"].get<std::string>(), meta["end"].get<std::string>());
  const nlohmann::json& target = json["statistics"]["127.0.0.1"];
  EXPECT_EQ(target["total"], 6);
  EXPECT_EQ(target["successful"], 3);
  EXPECT_DOUBLE_EQ(target["success_rate"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(target["ports"][ports.open]["success_rate"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(target["ports"][ports.closed]["success_rate"].get<double>(), 0.0);
  EXPECT_EQ(target["ports"][ports.closed]["error_count"], 3);
  ASSERT_EQ(json["raw_data"].size(), 6u);
  for (const auto& entry : json["raw_data"]) {
    const bool open = entry["target"] == "127.0.0.1:" + ports.open;
    EXPECT_EQ(entry["status"], open ? "up" : "down");
    EXPECT_GE(entry["round"].get<int>(), 1);
    EXPECT_LE(entry["round"].get<int>(), 3);
  }
}

TEST(ProbeSession, ExitsZeroWhenEveryCheckOfTheLastRoundSucceeded) {
  Ports ports;
  std::ostringstream out;
  ProbeSession session(
      options_for({"127.0.0.1", "-p", ports.open, "--no-ping", "-c", "2", "-i", "100ms"}), out);
  session.run();
  EXPECT_EQ(session.rounds_completed(), 2u);
  EXPECT_EQ(session.statistics().check(0).successful(), 2u);
  EXPECT_EQ(session.exit_code(), kExitOk);
}

TEST(ProbeSession, RunsChecksGivenAsTextAndGroupsThemByTarget) {
  Ports ports;
  std::ostringstream out;
  ProbeSession session(
      options_for({"--check", "tcp host=127.0.0.1 port=" + ports.open, "--check",
                   "tcp id=shut host=127.0.0.1 port=" + ports.closed, "-c", "1", "-i", "100ms"}),
      out);
  session.run();
  const auto& groups = session.statistics().groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "127.0.0.1:" + ports.open);
  EXPECT_EQ(groups[0].counters.successful(), 1u);
  EXPECT_EQ(groups[1].name, "127.0.0.1:" + ports.closed);
  EXPECT_EQ(session.statistics().label(1), "shut");
  EXPECT_EQ(session.statistics().check(1).top_error(), "connect_refused");
}

TEST(ProbeSession, VerbosePrintsEveryResultAndTheTableEveryTenRounds) {
  Ports ports;
  std::ostringstream out;
  ProbeSession session(options_for({"127.0.0.1", "-p", ports.open, ports.closed, "--no-ping", "-c",
                                    "11", "-i", "100ms", "-v"}),
                       out);
  session.run();
  const std::string text = out.str();
  EXPECT_EQ(count_of(text, "  up  "), 11u) << text;
  EXPECT_EQ(count_of(text, "  down  "), 11u) << text;
  EXPECT_EQ(count_of(text, "connect_refused: connect: "), 11u) << text;
  EXPECT_EQ(count_of(text, "--- statistics after round 10 ("), 1u) << text;
  EXPECT_NE(text.find("#11 "), std::string::npos);
}

TEST(ProbeSession, SigintEndsAnEndlessRunAndTheOutputIsStillWritten) {
  Ports ports;
  testing::TempDir dir("netmon-probe-test-");
  std::ostringstream out;
  ProbeSession session(options_for({"127.0.0.1", "-p", ports.open, "--no-ping", "-i", "100ms", "-o",
                                    (dir / "r.json").string()}),
                       out);
  session.stop_on_signals();
  std::uint64_t seen = 0;
  session.set_observer([&](const CheckResult&, std::uint64_t round) {
    if (++seen == 2) {
      EXPECT_EQ(round, 2u);
      std::raise(SIGINT);  // what Ctrl+C does; the session's handler turns it into a stop
    }
  });
  session.run();  // returns only because of the signal: no -c

  EXPECT_EQ(session.stop_reason(), StopReason::kSignal);
  EXPECT_EQ(session.stop_signal(), SIGINT);
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(session.rounds_completed(), 2u);
  EXPECT_EQ(session.exit_code(), kExitOk);
  EXPECT_NE(session.summary_title().find("ended by SIGINT"), std::string::npos);
  ASSERT_TRUE(session.write_output().ok());
  const nlohmann::json json = read_json((dir / "r.json").string());
  EXPECT_EQ(json["session"]["ended_by"], "SIGINT");
  EXPECT_TRUE(json["session"]["count"].is_null());
  EXPECT_EQ(json["raw_data"].size(), 2u);
}

TEST(ProbeSession, SigtermEndsTheRunLikeCtrlC) {
  Ports ports;
  std::ostringstream out;
  ProbeSession session(options_for({"127.0.0.1", "-p", ports.open, "--no-ping", "-i", "100ms"}),
                       out);
  session.stop_on_signals();
  bool raised = false;
  session.set_observer([&](const CheckResult&, std::uint64_t) {
    if (!std::exchange(raised, true)) std::raise(SIGTERM);
  });
  session.run();
  EXPECT_EQ(session.stop_reason(), StopReason::kSignal);
  EXPECT_EQ(session.stop_signal(), SIGTERM);
  EXPECT_EQ(session.rounds_completed(), 1u);
}

// The next two block the loop on purpose (a sleep inside a result callback)
// to create a stalled loop; nothing waits on the sleep to synchronise.

TEST(ProbeSession, CountsACheckStillRunningAtTheNextRoundAsAnOverrun) {
  // Round 1 is stalled until ~520 ms, so round 2 starts late (~520 ms) and its
  // slow check (waits for a banner that never comes, times out after 320 ms)
  // is still running when round 3 is due at 800 ms: an overrun, not a second run.
  Ports ports;
  std::ostringstream out;
  ProbeSession session(
      options_for({"--check", "tcp host=127.0.0.1 port=" + ports.open, "--check",
                   "tcp id=slow host=127.0.0.1 port=" + ports.open + " expect=hello", "-i", "400ms",
                   "--timeout", "320ms", "-c", "3"}),
      out);
  bool stalled = false;
  session.set_observer([&](const CheckResult&, std::uint64_t) {
    if (!stalled) {
      stalled = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(520));
    }
  });
  session.run();
  EXPECT_EQ(session.rounds_started(), 3u);
  EXPECT_EQ(session.overruns(), 1u);
  EXPECT_EQ(session.missed_rounds(), 0u);
  EXPECT_EQ(session.statistics().check(1).total(), 2u);  // rounds 1 and 2 only
  EXPECT_EQ(session.statistics().check(1).errors().at("timeout"), 2u);
  EXPECT_EQ(session.statistics().check(0).total(), 3u);
  EXPECT_EQ(session.exit_code(), kExitFailure);  // the slow check's last run timed out
  EXPECT_NE(session.summary_title().find("1 overrun(s)"), std::string::npos);
}

TEST(ProbeSession, ACheckWhoseTimeoutOutlastsTheIntervalSkipsTheRoundsItSpans) {
  // The slow check waits for a banner that never comes until its 500 ms
  // timeout: round 1's run spans rounds 2 and 3 (200, 400 ms), round 4's run
  // (600 ms) spans round 5 (800 ms). The fast one runs every round.
  Ports ports;
  std::ostringstream out;
  ProbeSession session(
      options_for({"--check", "tcp host=127.0.0.1 port=" + ports.open, "--check",
                   "tcp id=slow host=127.0.0.1 port=" + ports.open + " expect=hello", "-i", "200ms",
                   "--timeout", "500ms", "-c", "5"}),
      out);
  std::vector<std::uint64_t> slow_rounds;
  session.set_observer([&](const CheckResult& result, std::uint64_t round) {
    if (result.check_id == "slow") slow_rounds.push_back(round);
  });
  session.run();
  EXPECT_EQ(session.stop_reason(), StopReason::kCount);
  EXPECT_EQ(session.rounds_started(), 5u);
  EXPECT_EQ(session.statistics().check(0).total(), 5u);
  EXPECT_EQ(slow_rounds, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_EQ(session.statistics().check(1).errors().at("timeout"), 2u);
  EXPECT_EQ(session.overruns(), 3u);
  EXPECT_EQ(session.exit_code(), kExitFailure);  // the slow check's last result is a timeout
}

// Sends "hello" on every connection `delay` after accepting it, on a thread.
class SlowBanner {
 public:
  explicit SlowBanner(std::chrono::milliseconds delay) : delay_(delay) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SlowBanner() {
    io_.stop();
    thread_.join();
  }
  std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }

 private:
  void accept() {
    acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      auto peer = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
      auto timer = std::make_shared<asio::steady_timer>(io_, delay_);
      timer->async_wait([peer, timer](const std::error_code&) {
        std::error_code ignored;
        asio::write(*peer, asio::buffer("hello", 5), ignored);
      });
      accept();
    });
  }

  std::chrono::milliseconds delay_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread_;
};

TEST(ProbeSession, ExitsZeroWhenEveryChecksLastResultIsUpThoughARoundSkippedIt) {
  // The banner comes 150 ms after the connect: round 1's run spans round 2
  // (an overrun) and ends up. Nothing failed, so exit 0 (the old rule, "every
  // check of the last complete round", said 1 for the overrun of round 2).
  SlowBanner server(std::chrono::milliseconds(150));
  std::ostringstream out;
  ProbeSession session(
      options_for({"--check", "tcp host=127.0.0.1 port=" + server.port() + " expect=hello", "-i",
                   "100ms", "--timeout", "1s", "-c", "2"}),
      out);
  session.run();
  EXPECT_EQ(session.rounds_started(), 2u);
  EXPECT_EQ(session.overruns(), 1u);
  ASSERT_EQ(session.statistics().check(0).total(), 1u);
  EXPECT_EQ(session.statistics().check(0).successful(), 1u);
  EXPECT_EQ(session.exit_code(), kExitOk);
}

TEST(ProbeSession, SkipsRoundsWhoseStartPassedWhileTheLoopWasStalled) {
  Ports ports;
  std::ostringstream out;
  ProbeSession session(
      options_for({"127.0.0.1", "-p", ports.open, "--no-ping", "-i", "100ms", "-c", "3"}), out);
  bool stalled = false;
  session.set_observer([&](const CheckResult&, std::uint64_t) {
    if (!stalled) {
      stalled = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
  session.run();
  EXPECT_EQ(session.rounds_started(), 3u);
  EXPECT_GE(session.missed_rounds(), 1u);
  EXPECT_EQ(session.statistics().check(0).total(), 3u);
  EXPECT_EQ(session.exit_code(), kExitOk);
}

TEST(ProbeSession, StopCancelsChecksInFlightWithoutCountingThem) {
  // The second check waits for a banner the listener never sends: it stays in
  // flight until its 9 s timeout unless the stop cancels it.
  Ports ports;
  std::ostringstream out;
  ProbeSession session(options_for({"--check", "tcp host=127.0.0.1 port=" + ports.open, "--check",
                                    "tcp host=127.0.0.1 port=" + ports.open + " expect=hello", "-i",
                                    "10s", "--timeout", "9s"}),
                       out);
  std::uint64_t results = 0;
  session.set_observer([&](const CheckResult& result, std::uint64_t) {
    ++results;
    EXPECT_EQ(result.check_id, "tcp-1");
    session.stop();
  });
  const auto started = std::chrono::steady_clock::now();
  session.run();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(session.stop_reason(), StopReason::kStopped);
  EXPECT_EQ(results, 1u);
  EXPECT_EQ(session.rounds_started(), 1u);
  EXPECT_EQ(session.rounds_completed(), 0u);
  EXPECT_EQ(session.statistics().result_count(), 1u);
  EXPECT_EQ(session.exit_code(), kExitFailure);  // no round completed
  EXPECT_NE(session.summary_title().find("0 rounds"), std::string::npos);
}

}  // namespace
}  // namespace netmon::probe
