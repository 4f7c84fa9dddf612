#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/codec.hpp"

namespace netmon::protocol {
namespace {

Record make_record(std::uint64_t seq) {
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

TEST(HotPathEncoding, ReplayIsByteForByteTheCodecsReplayOfTheStoredRecords) {
  Replay replay{"00112233aabbccdd", {}};
  replay.records.push_back(make_record(8));
  replay.records.push_back(
      {{"edge-1", 3, "00112233aabbccdd", 9}, LossRange{1, 7, 7, "outbox_full"}});
  std::vector<std::string> stored;
  for (const auto& record : replay.records)
    stored.push_back(encode_record(record));
  const std::vector<std::string_view> bodies(stored.begin(), stored.end());

  const std::string bytes = encode_replay(replay.epoch, bodies);
  EXPECT_EQ(bytes, encode(replay));
  auto decoded = decode_control(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<Replay>(*decoded), replay);
}

TEST(HotPathEncoding, ResultRecordIsByteForByteTheCodecsRecord) {
  const Record record = make_record(12);
  EXPECT_EQ(encode_result_record(record.key, std::get<CheckResult>(record.body)),
            encode_record(record));
  CheckResult bare;
  bare.check_id = "x";
  const RecordKey key{"m", 0, "e", 1};
  EXPECT_EQ(encode_result_record(key, bare), encode_record({key, bare}));
}

}  // namespace
}  // namespace netmon::protocol
