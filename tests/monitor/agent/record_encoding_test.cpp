#include "monitor/agent/record_encoding.hpp"

#include <gtest/gtest.h>

#include "common/protocol/codec.hpp"

namespace netmon::agent {
namespace {

protocol::Record make_record(std::uint64_t seq) {
  CheckResult result;
  result.check_id = "echo";
  result.type = "tcp_echo";
  result.target = "127.0.0.1:12345";
  result.status = CheckStatus::kDown;
  result.reason = "connect_refused";
  result.error = "connection refused";
  result.details = {{"match", false}};
  return {{"edge-1", 3, "00112233aabbccdd", seq}, result};
}

TEST(RecordEncoding, ReplayIsByteForByteTheCodecsReplayOfTheStoredRecords) {
  protocol::Replay replay{"00112233aabbccdd", {}};
  std::vector<OutboxRecord> stored;
  replay.records.push_back(make_record(8));
  replay.records.push_back(
      {{"edge-1", 3, "00112233aabbccdd", 9}, protocol::LossRange{1, 7, 7, "outbox_full"}});
  for (const auto& record : replay.records)
    stored.push_back({record.key.seq, "", protocol::encode_record(record)});

  const std::string bytes = encode_replay(replay.epoch, stored);
  EXPECT_EQ(bytes, protocol::encode(replay));
  auto decoded = protocol::decode_control(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<protocol::Replay>(*decoded), replay);
}

TEST(RecordEncoding, ResultRecordIsByteForByteTheCodecsRecord) {
  const protocol::Record record = make_record(12);
  EXPECT_EQ(encode_result_record(record.key, std::get<CheckResult>(record.body)),
            protocol::encode_record(record));
  CheckResult bare;
  bare.check_id = "x";
  const protocol::RecordKey key{"m", 0, "e", 1};
  EXPECT_EQ(encode_result_record(key, bare), protocol::encode_record({key, bare}));
}

}  // namespace
}  // namespace netmon::agent
