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
            "2026-11-21T05:36:50.265Z  edge-1     web            http       "
            "http://127.0.0.1:8080/ down       12.345 ms  http_status: status 500");
}

TEST(RecordFormatter, LeavesReasonOutOfAnUpLine) {
  const RecordFormatter formatter(OutputFormat::kHuman);
  EXPECT_EQ(formatter.record(testing::result_record("edge-2", "echo", 1), fixed_time()),
            "2026-11-21T05:36:50.265Z  edge-2     echo           tcp        127.0.0.1:12345        "
            "up          0.554 ms");
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
            "2026-11-21T05:36:50.265Z  LOSS   edge-1  the monitor dropped seq 5..9 (5 records, "
            "outbox_full) epoch=0123456789abcdef seq=43");
  EXPECT_EQ(RecordFormatter(OutputFormat::kJson).record(loss, fixed_time()),
            R"({"count":5,"epoch":"0123456789abcdef","from_seq":5,"kind":"loss",)"
            R"("monitor":"edge-1","monitor_id":7,"reason":"outbox_full","seq":43,)"
            R"("timestamp":"2026-11-21T05:36:50.265Z","to_seq":9})");
}

TEST(RecordFormatter, MarksEventsClearly) {
  const protocol::Event event{fixed_time(), "edge-1", "web",
                              "UP",         "DOWN",   "check edge-1/web DOWN after 3 failures"};
  EXPECT_EQ(RecordFormatter(OutputFormat::kHuman).event(event),
            "2026-11-21T05:36:50.265Z  EVENT  edge-1/web  UP -> DOWN  "
            "check edge-1/web DOWN after 3 failures");
  EXPECT_EQ(RecordFormatter(OutputFormat::kJson).event(event),
            R"({"check":"web","from":"UP","kind":"event","monitor":"edge-1",)"
            R"("text":"check edge-1/web DOWN after 3 failures",)"
            R"("timestamp":"2026-11-21T05:36:50.265Z","to":"DOWN"})");
}

TEST(RecordFormatter, NamesMonitorEpochAndMissingRangeInAGapLine) {
  const Gap gap{"edge-1", "0123456789abcdef", 2, 4};
  EXPECT_EQ(RecordFormatter(OutputFormat::kHuman).gap(gap, fixed_time()),
            "2026-11-21T05:36:50.265Z  GAP    edge-1  missed seq 2..4 (3 records) "
            "epoch=0123456789abcdef; the live stream is not complete, the manager's store is "
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
