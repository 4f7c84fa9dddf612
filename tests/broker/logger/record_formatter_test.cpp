#include "broker/logger/record_formatter.hpp"

#include <gtest/gtest.h>

#include "tests/broker/logger/logger_test_support.hpp"

namespace netmon::logger {
namespace {

using testing::fixed_time;

protocol::Record http_down_record() {
  CheckResult result;
  result.check_id = "web";
  result.type = "http";
  result.target = "http://127.0.0.1:8080/";
  result.timestamp = fixed_time();
  result.status = CheckStatus::kDown;
  result.reason = "http_status";
  result.error = "status 500";
  result.latency = std::chrono::microseconds(12'345);
  result.timings.connect = std::chrono::microseconds(500);
  result.timings.total = std::chrono::microseconds(12'345);
  result.details = {{"status_code", 500}};
  return {{"edge-1", 7, "0123456789abcdef", 42}, result};
}

TEST(RecordFormatter, FormatsAResultAsATimestampedMonitorTaggedHumanLine) {
  const RecordFormatter formatter(OutputFormat::kHuman);
  EXPECT_EQ(formatter.record(http_down_record(), fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-1       web              http       "
            "http://127.0.0.1:8080/       down       12.345 ms  http_status: status 500");
}

TEST(RecordFormatter, LeavesReasonOutOfAnUpLine) {
  const RecordFormatter formatter(OutputFormat::kHuman);
  EXPECT_EQ(formatter.record(testing::result_record("edge-2", "echo", 1), fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-2       echo             tcp        127.0.0.1:12345    "
            "          up          0.554 ms");
}

TEST(RecordFormatter, SaysTheStatusOnceWhenAFailureHasNoReason) {
  auto record = http_down_record();
  auto& result = std::get<CheckResult>(record.body);
  result.status = CheckStatus::kTimeout;
  result.reason = "";
  result.error = "no answer within 5000 ms";
  const RecordFormatter formatter(OutputFormat::kHuman);
  EXPECT_EQ(formatter.record(record, fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-1       web              http       "
            "http://127.0.0.1:8080/       timeout    12.345 ms  no answer within 5000 ms");
  result.error = "";
  EXPECT_EQ(formatter.record(record, fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-1       web              http       "
            "http://127.0.0.1:8080/       timeout    12.345 ms");
}

TEST(RecordFormatter, CutsLongValuesWithAnEllipsisSoTheColumnsStay) {
  auto record = http_down_record();
  record.key.monitor = "edge-with-a-long-name";
  auto& result = std::get<CheckResult>(record.body);
  result.check_id = "homepage-of-the-shop";
  result.target = "https://www.example.com/a/very/long/path?query=1";
  const std::string line = RecordFormatter(OutputFormat::kHuman).record(record, fixed_time());
  EXPECT_EQ(line,
            "2026-11-21T05:36:50.265Z  edge-with-a\u2026 homepage-of-the\u2026 http       "
            "https://www.example.com/a/v\u2026 down       12.345 ms  http_status: status 500");
  // The status column starts where it does on a short line.
  EXPECT_EQ(
      line.find("down") - 3 * (std::string("\u2026").size() - 1),
      RecordFormatter(OutputFormat::kHuman).record(http_down_record(), fixed_time()).find("down"));
}

TEST(RecordFormatter, FitColumnCountsCharactersNotBytes) {
  EXPECT_EQ(fit_column("abc", 5), "abc  ");
  EXPECT_EQ(fit_column("abcde", 5), "abcde");
  EXPECT_EQ(fit_column("abcdef", 5), "abcd\u2026");
  EXPECT_EQ(fit_column("caf\u00e9s", 5), "caf\u00e9s") << "five characters, six bytes";
  EXPECT_EQ(fit_column("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026")
      << "a UTF-8 sequence is never split";
}

TEST(RecordFormatter, ColoursTheStatusOnlyWhenAskedTo) {
  const auto down = http_down_record();
  const std::string coloured =
      RecordFormatter(OutputFormat::kHuman, true).record(down, fixed_time());
  EXPECT_NE(coloured.find("\x1b[31mdown   \x1b[0m"), std::string::npos) << coloured;
  const std::string up = RecordFormatter(OutputFormat::kHuman, true)
                             .record(testing::result_record("edge-2", "echo", 1), fixed_time());
  EXPECT_NE(up.find("\x1b[32mup     \x1b[0m"), std::string::npos) << up;
  const std::string plain = RecordFormatter(OutputFormat::kHuman).record(down, fixed_time());
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << plain;
  const std::string json = RecordFormatter(OutputFormat::kJson, true).record(down, fixed_time());
  EXPECT_EQ(json.find('\x1b'), std::string::npos) << "JSON is never coloured: " << json;
}

TEST(RecordFormatter, FormatsAResultAsOneJsonObjectWithMonitorEpochAndSeq) {
  const RecordFormatter formatter(OutputFormat::kJson);
  EXPECT_EQ(formatter.record(http_down_record(), fixed_time()),
            R"({"check":"web","details":{"status_code":500},"epoch":"0123456789abcdef",)"
            R"("error":"status 500","kind":"result","latency_ms":12.345,"monitor":"edge-1",)"
            R"("monitor_id":7,"reason":"http_status","seq":42,"status":"down",)"
            R"("target":"http://127.0.0.1:8080/","timestamp":"2026-11-21T05:36:50.265Z",)"
            R"("timings":{"connect_ms":0.5,"total_ms":12.345},"type":"http"})");
}

TEST(RecordFormatter, MarksLossRecordsClearly) {
  const protocol::Record loss{{"edge-1", 7, "0123456789abcdef", 43},
                              protocol::LossRange{5, 9, 5, "outbox_full"}};
  EXPECT_EQ(RecordFormatter(OutputFormat::kHuman).record(loss, fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-1                        LOSS       dropped seq 5..9 "
            "(5 records, outbox_full) epoch=0123456789abcdef seq=43");
  EXPECT_EQ(RecordFormatter(OutputFormat::kJson).record(loss, fixed_time()),
            R"({"count":5,"epoch":"0123456789abcdef","from_seq":5,"kind":"loss",)"
            R"("monitor":"edge-1","monitor_id":7,"reason":"outbox_full","seq":43,)"
            R"("timestamp":"2026-11-21T05:36:50.265Z","to_seq":9})");
}

// JSON keeps the manager's whole text: it is data, not a line to read.
TEST(RecordFormatter, MarksEventsClearly) {
  const protocol::Event event{
      fixed_time(), "edge-1", "web", "UP", "DOWN", "check edge-1/web UP -> DOWN after 3 failures"};
  EXPECT_EQ(RecordFormatter(OutputFormat::kHuman).event(event),
            "2026-11-21T05:36:50.265Z  edge-1       web              EVENT      UP -> DOWN  "
            "after 3 failures");
  EXPECT_EQ(RecordFormatter(OutputFormat::kJson).event(event),
            R"({"check":"web","from":"UP","kind":"event","monitor":"edge-1",)"
            R"("text":"check edge-1/web UP -> DOWN after 3 failures",)"
            R"("timestamp":"2026-11-21T05:36:50.265Z","to":"DOWN"})");
}

// The manager's texts (manager/record_batch.cpp, monitor_session.cpp) restate
// subject and transition for its own log; the line shows them once.
TEST(RecordFormatter, EventLinesSayEachThingOnce) {
  const RecordFormatter formatter(OutputFormat::kHuman);
  const protocol::Event down{fixed_time(),
                             "edge-1",
                             "port",
                             "UNKNOWN",
                             "DOWN",
                             "check edge-1/port UNKNOWN -> DOWN status=down "
                             "reason=connect_refused after 2 consecutive failures"};
  EXPECT_EQ(formatter.event(down),
            "2026-11-21T05:36:50.265Z  edge-1       port             EVENT      UNKNOWN -> DOWN  "
            "reason=connect_refused after 2 consecutive failures");
  const protocol::Event timeout{fixed_time(),
                                "edge-1",
                                "port",
                                "UP",
                                "DOWN",
                                "check edge-1/port UP -> DOWN status=timeout after 3 "
                                "consecutive failures"};
  EXPECT_EQ(event_detail(timeout), "status=timeout after 3 consecutive failures")
      << "a status the new state does not say stays";
  for (const char* text : {"check edge-1/port UP -> DOWN after 3 status=down",
                           "check edge-1/port UP -> DOWN after status=down 3"}) {
    const protocol::Event anywhere{fixed_time(), "edge-1", "port", "UP", "DOWN", text};
    EXPECT_EQ(event_detail(anywhere).find("status=down"), std::string::npos) << text;
  }
  const protocol::Event other{fixed_time(), "edge-1", "port",
                              "UP",         "DOWN",   "check edge-10/port UP -> DOWN"};
  EXPECT_EQ(event_detail(other), other.text) << "another subject's text is kept whole";
  const protocol::Event longer{fixed_time(), "edge-1",    "",
                               "LOST",       "CONNECTED", "monitor edge-10: said HELLO"};
  EXPECT_EQ(event_detail(longer), longer.text) << "edge-10 is not edge-1";
  const protocol::Event up{fixed_time(), "edge-1", "echo",
                           "UNKNOWN",    "UP",     "check edge-1/echo UNKNOWN -> UP status=up"};
  EXPECT_EQ(formatter.event(up),
            "2026-11-21T05:36:50.265Z  edge-1       echo             EVENT      UNKNOWN -> UP");
  const protocol::Event lost{
      fixed_time(), "edge-2", "",
      "CONNECTED",  "LOST",   "monitor edge-2 CONNECTED -> LOST (no heartbeat for 3000 ms)"};
  EXPECT_EQ(formatter.event(lost),
            "2026-11-21T05:36:50.265Z  edge-2                        EVENT      CONNECTED -> LOST  "
            "no heartbeat for 3000 ms");
  const protocol::Event skew{fixed_time(),
                             "edge-2",
                             "",
                             "CONNECTED",
                             "CONNECTED",
                             "monitor edge-2: clock skew, a result is dated 5 s ahead of the "
                             "manager's clock"};
  EXPECT_EQ(formatter.event(skew),
            "2026-11-21T05:36:50.265Z  edge-2                        EVENT      CONNECTED  "
            "clock skew, a result is dated 5 s ahead of the manager's clock");
  EXPECT_NE(RecordFormatter(OutputFormat::kHuman, true).event(down).find("\x1b[31mDOWN\x1b[0m"),
            std::string::npos);
}

TEST(RecordFormatter, NamesMonitorEpochAndMissingRangeInAGapLine) {
  const Gap gap{"edge-1", "0123456789abcdef", 2, 4};
  EXPECT_EQ(
      RecordFormatter(OutputFormat::kHuman).gap(gap, fixed_time()),
      "2026-11-21T05:36:50.265Z  edge-1                        GAP        missed seq 2..4 "
      "(3 records) epoch=0123456789abcdef; the live stream is not complete, the manager's store is "
      "(netmon-manager export)");
  EXPECT_EQ(RecordFormatter(OutputFormat::kJson).gap(gap, fixed_time()),
            R"({"count":3,"epoch":"0123456789abcdef","from_seq":2,"kind":"gap",)"
            R"("monitor":"edge-1","timestamp":"2026-11-21T05:36:50.265Z","to_seq":4})");
}

TEST(RecordFormatter, KeepsOneLinePerMessageWhateverTheNetworkSends) {
  auto record = http_down_record();
  std::get<CheckResult>(record.body).error = "line one\nline two\r";
  const std::string human = RecordFormatter(OutputFormat::kHuman).record(record, fixed_time());
  EXPECT_EQ(human.find('\n'), std::string::npos);
  EXPECT_NE(human.find("line one\\x0aline two\\x0d"), std::string::npos) << human;

  std::get<CheckResult>(record.body).error = "bad utf-8 \xff\xfe";
  const std::string json = RecordFormatter(OutputFormat::kJson).record(record, fixed_time());
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find(R"("error":"bad utf-8 )"), std::string::npos) << json;
}

}  // namespace
}  // namespace netmon::logger
