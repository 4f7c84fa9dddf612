#include "broker/logger/log_subscriber.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "broker/logger/rotating_file_writer.hpp"
#include "broker/result_broker.hpp"
#include "common/protocol/codec.hpp"
#include "tests/broker/logger/logger_test_support.hpp"
#include "tests/support/await.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::logger {
namespace {

using Clock = std::chrono::steady_clock;
using netmon::testing::await;
using testing::CaptureSink;
using testing::monitor_event;
using testing::result_record;

constexpr auto kDeadline = std::chrono::seconds(10);

std::string unique_inproc(const char* what) {
  static std::atomic<int> counter{0};
  return std::string("inproc://logger-test-") + what + "-" + std::to_string(counter++);
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
    return line.find(needle) != std::string::npos;
  });
}

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& needle) {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(),
      [&](const std::string& line) { return line.find(needle) != std::string::npos; }));
}

// A real ResultBroker on inproc, a test PUB on its input and a logger on its
// output, the way the monitors and netmon-logger are wired.
class LogSubscriberTest : public ::testing::Test {
 protected:
  LogSubscriberTest()
      : broker_(context_, {unique_inproc("in"), unique_inproc("out")}),
        publisher_(context_, zmq::socket_type::pub) {
    publisher_.connect(broker_.in_endpoint());
  }
  ~LogSubscriberTest() override {
    if (logger_) logger_->stop();
  }

  void start_logger(LoggerFilter filter = {}, OutputFormat format = OutputFormat::kHuman) {
    LoggerOptions options;
    options.broker = broker_.out_endpoint();
    options.filter = std::move(filter);
    options.format = format;
    logger_ = std::make_unique<LogSubscriber>(context_, options, sink_);
    logger_->start();
  }

  void send(const std::string& topic, const std::string& body) {
    publisher_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    publisher_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  void publish(const protocol::Record& record) {
    send(protocol::record_topic(record), protocol::encode_record(record));
  }
  void publish(const protocol::Event& event) {
    send(protocol::event_topic(event), protocol::encode_event(event));
  }

  // PUB/SUB drops until the subscription has travelled (slow joiner): repeat
  // `publish_one` until a line arrives, then start from an empty sink.
  void warm_up(const std::function<void()>& publish_one) {
    ASSERT_TRUE(await(
        [&] {
          if (!sink_.lines().empty()) return true;
          publish_one();
          return false;
        },
        kDeadline))
        << "no line reached the logger";
    EXPECT_TRUE(
        await([&] { return logger_->stats().received == logger_->stats().lines; }, kDeadline))
        << "condition not met within the deadline";
    sink_.clear();
  }
  void warm_up_with_event(const std::string& monitor = "edge-1") {
    warm_up([&] { publish(monitor_event(monitor)); });
  }

  // Waits for a line containing `needle`: everything published before it has been handled.
  void wait_for_line(const std::string& needle) {
    ASSERT_TRUE(await([&] { return contains(sink_.lines(), needle); }, kDeadline))
        << "no line containing '" << needle << "' within the deadline";
  }
  // Publishes a marker event (monitor edge-1) and waits for it: every message
  // published before has been handled, since one publisher's messages keep
  // their order through the broker. The marker line is removed again.
  void sync() {
    const std::string marker = "sync-" + std::to_string(++syncs_);
    publish(protocol::Event{testing::fixed_time(), "edge-1", "", "LOST", "CONNECTED", marker});
    wait_for_line(marker);
    auto lines = sink_.lines();
    sink_.clear();
    for (const auto& line : lines) {
      if (line.find(marker) == std::string::npos) sink_.write_line(line);
    }
  }

  zmq::context_t context_;
  ResultBroker broker_;
  zmq::socket_t publisher_;
  CaptureSink sink_;
  std::unique_ptr<LogSubscriber> logger_;
  int syncs_ = 0;
};

TEST(TopicPrefixes, MapTheMonitorAndCheckFiltersToTopics) {
  EXPECT_EQ(topic_prefixes({}), (std::vector<std::string>{"res/", "evt/"}));
  EXPECT_EQ(topic_prefixes({"edge-1", "", std::nullopt, true}),
            (std::vector<std::string>{"res/edge-1/", "evt/monitor/edge-1", "evt/check/edge-1/"}));
  EXPECT_EQ(topic_prefixes({"edge-1", "web", std::nullopt, false}),
            (std::vector<std::string>{"res/edge-1/web", "res/edge-1/_loss"}));
  // A check without a monitor cannot be a prefix: filtered after decoding.
  EXPECT_EQ(topic_prefixes({"", "web", std::nullopt, false}), (std::vector<std::string>{"res/"}));
}

TEST_F(LogSubscriberTest, PrintsEveryResultAndEventAsAHumanLine) {
  start_logger();
  warm_up_with_event();
  publish(result_record("edge-1", "echo", 1));
  publish(result_record("edge-2", "port", 1, CheckStatus::kDown));
  publish(monitor_event("edge-2"));
  wait_for_line("EVENT");
  const auto lines = sink_.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "2026-11-21T05:36:50.265Z  edge-1       echo             tcp        127.0.0.1:12345    "
            "          up          0.554 ms");
  EXPECT_EQ(lines[1],
            "2026-11-21T05:36:50.265Z  edge-2       port             tcp        127.0.0.1:12345    "
            "          down        0.554 ms  connect_refused: connect: Connection refused");
  EXPECT_EQ(lines[2],
            "2026-11-21T05:36:50.265Z  edge-2                        EVENT      LOST -> CONNECTED  "
            "connected");
  EXPECT_TRUE(logger_->stats().ready);
}

TEST_F(LogSubscriberTest, PrintsJsonLinesWithMonitorEpochAndSeq) {
  start_logger({}, OutputFormat::kJson);
  warm_up_with_event();
  publish(result_record("edge-1", "echo", 9));
  wait_for_line(R"("seq":9)");
  const auto lines = sink_.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            R"({"check":"echo","details":{},"epoch":"00000000000000aa","error":"","kind":"result",)"
            R"("latency_ms":0.554,"monitor":"edge-1","monitor_id":3,"reason":"","seq":9,)"
            R"("status":"up","target":"127.0.0.1:12345","timestamp":"2026-11-21T05:36:50.265Z",)"
            R"("timings":{"total_ms":0.554},"type":"tcp"})");
}

TEST_F(LogSubscriberTest, MonitorFilterPassesItsMonitorAndExcludesOthers) {
  start_logger({"edge-1", "", std::nullopt, true});
  warm_up_with_event("edge-1");
  publish(result_record("edge-2", "echo", 1));
  publish(result_record("edge-10", "echo", 1));  // shares the prefix "edge-1"
  publish(monitor_event("edge-2"));
  publish(result_record("edge-1", "echo", 1));
  wait_for_line("edge-1       echo");
  const auto lines = sink_.lines();
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_FALSE(contains(lines, "edge-2"));
  EXPECT_FALSE(contains(lines, "edge-10"));
}

TEST_F(LogSubscriberTest, CheckFilterPassesItsCheckAndExcludesOthers) {
  start_logger({"", "web", std::nullopt, true});
  warm_up_with_event();
  publish(result_record("edge-1", "web2", 1));  // shares the prefix "web"
  publish(result_record("edge-1", "dns", 2));
  publish(protocol::Event{testing::fixed_time(), "edge-1", "dns", "UP", "DOWN", "dns down"});
  publish(result_record("edge-1", "web", 3));
  publish(result_record("edge-2", "web", 1));
  wait_for_line("edge-2       web");
  const auto lines = sink_.lines();
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_TRUE(contains(lines, "edge-1       web "));
  EXPECT_FALSE(contains(lines, "web2"));
  EXPECT_FALSE(contains(lines, "dns"));
  // Seqs 1 and 2 were other checks' records: no gap claimed for them.
  EXPECT_FALSE(contains(lines, "GAP"));
  EXPECT_GE(logger_->stats().filtered, 3u);
}

TEST_F(LogSubscriberTest, MonitorAndCheckFilterStillShowsTheMonitorsLossRecords) {
  start_logger({"edge-1", "web", std::nullopt, true});
  warm_up_with_event();
  publish(result_record("edge-1", "dns", 1));
  publish(protocol::Record{{"edge-1", 3, "00000000000000aa", 9},
                           protocol::LossRange{2, 8, 7, "outbox_full"}});
  publish(result_record("edge-1", "web", 10));
  wait_for_line("edge-1       web");
  const auto lines = sink_.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(contains(lines, "LOSS       dropped seq 2..8 (7 records"));
}

TEST_F(LogSubscriberTest, StatusFilterPassesItsStatusAndExcludesOthers) {
  start_logger({"", "", CheckStatus::kDown, true});
  warm_up_with_event();
  publish(result_record("edge-1", "up-check", 1, CheckStatus::kUp));
  publish(result_record("edge-1", "timeout-check", 2, CheckStatus::kTimeout));
  publish(result_record("edge-1", "down-check", 3, CheckStatus::kDown));
  wait_for_line("down-check");
  const auto lines = sink_.lines();
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_FALSE(contains(lines, "up-check"));
  EXPECT_FALSE(contains(lines, "timeout-check"));
  EXPECT_EQ(logger_->stats().filtered, 2u);
}

TEST_F(LogSubscriberTest, NoEventsExcludesEvents) {
  start_logger({"", "", std::nullopt, false});
  warm_up([&] { publish(result_record("warm", "x", 1)); });
  publish(monitor_event("edge-1"));
  publish(result_record("edge-1", "echo", 1));
  wait_for_line("edge-1       echo");
  EXPECT_FALSE(contains(sink_.lines(), "EVENT"));
  EXPECT_EQ(logger_->stats().events, 0u);  // not even subscribed
}

TEST_F(LogSubscriberTest, ReportsAGapForASeqJumpAndNoneForConsecutiveSeqs) {
  start_logger();
  warm_up_with_event();
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    publish(result_record("edge-1", "echo", seq));
  sync();
  EXPECT_FALSE(contains(sink_.lines(), "GAP"));
  EXPECT_EQ(logger_->stats().gaps, 0u);

  publish(result_record("edge-1", "echo", 7));
  publish(result_record("edge-1", "echo", 8));
  sync();
  const auto lines = sink_.lines();
  ASSERT_EQ(count_containing(lines, "GAP"), 1u);
  EXPECT_TRUE(contains(lines,
                       "edge-1                        GAP        missed seq 4..6 (3 records) "
                       "epoch=00000000000000aa"));
  EXPECT_EQ(logger_->stats().gaps, 1u);
  EXPECT_EQ(logger_->stats().missing, 3u);
}

TEST_F(LogSubscriberTest, CountsFilteredOutResultsForGaps) {
  // --status down hides the up results, but they were seen: no gap.
  start_logger({"", "", CheckStatus::kDown, true});
  warm_up_with_event();
  publish(result_record("edge-1", "echo", 1, CheckStatus::kDown));
  publish(result_record("edge-1", "echo", 2, CheckStatus::kUp));
  publish(result_record("edge-1", "echo", 3, CheckStatus::kDown));
  sync();
  EXPECT_EQ(count_containing(sink_.lines(), "edge-1       echo"), 2u);
  EXPECT_FALSE(contains(sink_.lines(), "GAP"));
}

TEST_F(LogSubscriberTest, TreatsANewEpochAsNoGap) {
  start_logger({}, OutputFormat::kJson);
  warm_up_with_event();
  publish(result_record("edge-1", "echo", 41, CheckStatus::kUp, "00000000000000aa"));
  publish(result_record("edge-1", "echo", 42, CheckStatus::kUp, "00000000000000aa"));
  publish(result_record("edge-1", "echo", 1, CheckStatus::kUp, "00000000000000bb"));
  publish(result_record("edge-1", "echo", 2, CheckStatus::kUp, "00000000000000bb"));
  sync();
  EXPECT_EQ(count_containing(sink_.lines(), R"("kind":"result")"), 4u);
  EXPECT_FALSE(contains(sink_.lines(), R"("kind":"gap")"));
}

TEST_F(LogSubscriberTest, CountsMalformedMessagesWhileGoodOnesContinue) {
  start_logger();
  warm_up_with_event();
  const std::string good = protocol::encode_record(result_record("edge-1", "echo", 1));
  send("res/edge-1/echo", "not msgpack at all");
  send("res/edge-1/echo", good.substr(0, good.size() / 2));  // truncated
  send("evt/monitor/edge-1", good);                          // a record where an event belongs
  publisher_.send(zmq::str_buffer("res/edge-1/echo"), zmq::send_flags::none);     // no body frame
  publisher_.send(zmq::str_buffer("res/edge-1/echo"), zmq::send_flags::sndmore);  // 3 frames
  publisher_.send(zmq::buffer(good), zmq::send_flags::sndmore);
  publisher_.send(zmq::buffer(good), zmq::send_flags::none);
  publish(result_record("edge-1", "echo", 2));
  sync();
  const auto stats = logger_->stats();
  EXPECT_EQ(stats.malformed, 5u);
  EXPECT_EQ(count_containing(sink_.lines(), "edge-1       echo"), 1u);
}

TEST_F(LogSubscriberTest, WritesEveryLineToRotatedFilesWithoutLosingOne) {
  netmon::testing::TempDir dir("netmon-logger.");
  const auto file = dir / "results.jsonl";
  constexpr int kRecords = 300;
  constexpr unsigned kKeep = 20;  // room for everything: ~300 B per line, 8 KiB per file
  {
    RotatingFileWriter writer(file, 8 * 1024, kKeep);
    LoggerOptions options;
    options.broker = broker_.out_endpoint();
    options.format = OutputFormat::kJson;
    options.filter.events = false;
    LogSubscriber logger(context_, options, writer);
    logger.start();
    // Warm up with a record of another monitor until it is written (slow joiner).
    ASSERT_TRUE(await(
        [&] {
          if (logger.stats().lines != 0) return true;
          publish(result_record("warm", "x", 1));
          return false;
        },
        kDeadline));
    for (int seq = 1; seq <= kRecords; ++seq) {
      publish(result_record("edge-1", "echo", static_cast<std::uint64_t>(seq)));
    }
    // The newest line is always in FILE itself (rotation happens before a write).
    const std::string last =
        R"("monitor":"edge-1","monitor_id":3,"reason":"","seq":)" + std::to_string(kRecords) + ",";
    EXPECT_TRUE(await(
        [&] {
          std::ifstream in(file);
          for (std::string line; std::getline(in, line);) {
            if (line.find(last) != std::string::npos) return true;
          }
          return false;
        },
        kDeadline));
    logger.stop();
    EXPECT_GE(writer.rotations(), 5u);
  }
  std::vector<std::uint64_t> seqs;
  std::vector<std::filesystem::path> files;
  for (unsigned index = kKeep; index >= 1; --index) {
    files.push_back(file.string() + "." + std::to_string(index));
  }
  files.push_back(file);
  for (const auto& path : files) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      const auto json = nlohmann::json::parse(line);
      if (json.at("monitor") == "edge-1") seqs.push_back(json.at("seq").get<std::uint64_t>());
    }
  }
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kRecords));
  for (int n = 0; n < kRecords; ++n)
    EXPECT_EQ(seqs[n], static_cast<std::uint64_t>(n + 1));
}

TEST(LogSubscriberReady, BecomesReadyOnlyOnceTheBrokerIsConnectedOverTcp) {
  zmq::context_t context;
  // Reserve a free port by binding a broker, note it, and stop it again.
  std::string endpoint;
  {
    ResultBroker probe(context, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
    endpoint = probe.out_endpoint();
  }
  CaptureSink sink;
  LoggerOptions options;
  options.broker = endpoint;
  LogSubscriber logger(context, options, sink);
  logger.start();
  EXPECT_FALSE(logger.stats().ready);  // nothing listens there

  std::unique_ptr<ResultBroker> broker;
  const auto bind_end = Clock::now() + kDeadline;
  while (!broker) {
    try {
      broker =
          std::make_unique<ResultBroker>(context, BrokerEndpoints{"tcp://127.0.0.1:0", endpoint});
    } catch (const zmq::error_t& e) {
      // libzmq closes the old listener on its I/O thread, shortly after.
      ASSERT_EQ(e.num(), EADDRINUSE) << e.what();
      ASSERT_LT(Clock::now(), bind_end);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // backoff between binds
    }
  }
  EXPECT_TRUE(await([&] { return logger.stats().ready; }, kDeadline));
  logger.stop();
}

TEST_F(LogSubscriberTest, EndsTheLoopWithAnErrorWhenTheOutputFails) {
  class FailingSink final : public LineSink {
   public:
    void write_line(std::string_view) override { throw std::runtime_error("disk full"); }
    void flush() override {}
  } failing;
  LoggerOptions options;
  options.broker = broker_.out_endpoint();
  LogSubscriber logger(context_, options, failing);
  std::optional<Expected<void>> result;
  std::atomic<bool> ended{false};
  std::thread loop([&] {
    result.emplace(logger.run());
    ended = true;
  });
  (void)await(  // the first line that arrives fails
      [&] {
        if (ended) return true;
        publish(monitor_event("edge-1"));
        return false;
      },
      kDeadline);
  if (!ended) logger.request_stop();  // the feature is missing: do not hang
  loop.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().message, "disk full");
}

TEST_F(LogSubscriberTest, StopsPromptlyAndIdempotently) {
  start_logger();
  const auto begin = Clock::now();
  logger_->stop();
  logger_->stop();
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(2));
}

}  // namespace
}  // namespace netmon::logger
