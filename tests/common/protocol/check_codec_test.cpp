#include "common/protocol/check_codec.hpp"

#include <gtest/gtest.h>

namespace netmon {
namespace {

CheckSpec sample_spec() {
  CheckSpec spec;
  spec.id = "web";
  spec.type = "http";
  spec.interval = std::chrono::milliseconds(2500);
  spec.timeout = std::chrono::milliseconds(700);
  spec.retries = 4;
  spec.params = {{"url", "http://127.0.0.1/"},
                 {"expect_status", std::vector<std::string>{"200", "300-399"}}};
  return spec;
}

CheckResult sample_result() {
  CheckResult result;
  result.check_id = "dns-a";
  result.type = "dns";
  result.target = "example.test@127.0.0.1:53";
  result.timestamp =
      std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  result.status = CheckStatus::kDown;
  result.reason = "rcode_nxdomain";
  result.error = "NXDOMAIN";
  result.latency = std::chrono::microseconds(812);
  result.timings.resolve = std::chrono::microseconds(3);
  result.timings.connect = std::chrono::microseconds(40);
  result.timings.total = std::chrono::microseconds(900);
  result.details = {{"rcode", "NXDOMAIN"},
                    {"answers", nlohmann::json::array({"a", "b"})},
                    {"hops", {{{"ttl", 1}, {"rtt_ms", 0.25}}}},
                    {"negative", -3},
                    {"flag", true},
                    {"none", nullptr}};
  return result;
}

TEST(Codec, CheckSpecRoundTrips) {
  const CheckSpec spec = sample_spec();
  auto decoded = decode_check_spec(encode_check_spec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, spec);
}

TEST(Codec, CheckResultRoundTripsForEveryStatus) {
  for (const CheckStatus status :
       {CheckStatus::kUp, CheckStatus::kDown, CheckStatus::kTimeout, CheckStatus::kError}) {
    CheckResult result = sample_result();
    result.status = status;
    auto decoded = decode_check_result(encode_check_result(result));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, result);
  }
}

TEST(Codec, IgnoresUnknownKeys) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(6);
  packer.pack("id");
  packer.pack("x");
  packer.pack("type");
  packer.pack("tcp");
  packer.pack("interval_ms");
  packer.pack(1000);
  packer.pack("timeout_ms");
  packer.pack(100);
  packer.pack("retries");
  packer.pack(2);
  packer.pack("future_field");
  packer.pack(std::vector<int>{1, 2, 3});
  auto decoded = decode_check_spec(std::string_view(buffer.data(), buffer.size()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->id, "x");
}

TEST(Codec, RejectsTruncatedBytes) {
  const std::string bytes = encode_check_result(sample_result());
  for (std::size_t cut : {std::size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
    auto decoded = decode_check_result(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().message, "truncated message");
  }
}

TEST(Codec, RejectsTrailingBytes) {
  const std::string bytes = encode_check_spec(sample_spec()) + "x";
  EXPECT_FALSE(decode_check_spec(bytes));
}

TEST(Codec, RefusesHugeDeclaredSizesWithoutAllocating) {
  // 0xdd = array32 declaring 2^32-1 elements in five bytes.
  const std::string bomb("\xdd\xff\xff\xff\xff", 5);
  auto decoded = decode_check_spec(bomb);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("limits"), std::string::npos) << decoded.error().message;
}

TEST(Codec, RefusesDeepNesting) {
  std::string nested(40, '\x91');  // 40 nested one-element arrays
  nested.push_back('\xc0');
  EXPECT_FALSE(decode_check_result(nested));
}

TEST(Codec, RejectsWrongFieldTypes) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(5);
  packer.pack("id");
  packer.pack(7);
  packer.pack("type");
  packer.pack("tcp");
  packer.pack("interval_ms");
  packer.pack(1000);
  packer.pack("timeout_ms");
  packer.pack(100);
  packer.pack("retries");
  packer.pack(2);
  auto decoded = decode_check_spec(std::string_view(buffer.data(), buffer.size()));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "check: field 'id' is not a string");
}

TEST(Codec, RejectsUnknownStatus) {
  CheckResult result = sample_result();
  std::string bytes = encode_check_result(result);
  const std::string from = "down";
  bytes.replace(bytes.find(from), from.size(), "sick");
  auto decoded = decode_check_result(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "result: field 'status' has unknown value 'sick'");
}

// A result map with the required fields only, stamped `ts_us`.
std::string result_at(std::int64_t ts_us) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(4);
  packer.pack("check");
  packer.pack("web");
  packer.pack("type");
  packer.pack("http");
  packer.pack("ts_us");
  packer.pack(ts_us);
  packer.pack("status");
  packer.pack("up");
  return {buffer.data(), buffer.size()};
}

// Found by fuzzing: system_clock counts nanoseconds, so turning a ts_us beyond
// +-2^63 ns into a time point overflowed (undefined behaviour).
TEST(Codec, RejectsTimestampsBeyondTheWallClockRange) {
  for (const std::int64_t ts_us : {INT64_MAX, INT64_MIN, std::int64_t{9'223'372'036'854'776},
                                   std::int64_t{-9'223'372'036'854'776}}) {
    auto decoded = decode_check_result(result_at(ts_us));
    ASSERT_FALSE(decoded) << ts_us;
    EXPECT_EQ(decoded.error().message,
              "result: field 'ts_us' is out of range (a wall-clock time in the years 1678..2262)");
  }
  for (const std::int64_t ts_us : {std::int64_t{9'223'372'036'854'775},
                                   std::int64_t{-9'223'372'036'854'775}, std::int64_t{0}}) {
    auto decoded = decode_check_result(result_at(ts_us));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(
        std::chrono::duration_cast<std::chrono::microseconds>(decoded->timestamp.time_since_epoch())
            .count(),
        ts_us);
  }
}

// PROTOCOL.md §6: check, type, ts_us and status are required; the others
// read as empty when absent.
TEST(Codec, ResultReadsAbsentOptionalFieldsAsDefaults) {
  auto decoded = decode_check_result(result_at(1'000));
  ASSERT_TRUE(decoded) << decoded.error().message;
  CheckResult expected;
  expected.check_id = "web";
  expected.type = "http";
  expected.timestamp = std::chrono::system_clock::time_point(std::chrono::microseconds(1'000));
  expected.status = CheckStatus::kUp;
  EXPECT_EQ(*decoded, expected);
}

TEST(Codec, ResultRefusesAMissingRequiredField) {
  for (const std::string_view key : {"check", "type", "ts_us", "status"}) {
    // Rename the key in place (same length), so the map no longer holds it.
    std::string renamed = encode_check_result(sample_result());
    const std::string packed_key = [&] {
      msgpack::sbuffer buffer;
      Packer packer(buffer);
      pack_str(packer, key);
      return std::string(buffer.data(), buffer.size());
    }();
    const std::size_t at = renamed.find(packed_key);
    ASSERT_NE(at, std::string::npos) << key;
    renamed[at + packed_key.size() - 1] = '~';
    auto decoded = decode_check_result(renamed);
    ASSERT_FALSE(decoded) << key;
    EXPECT_EQ(decoded.error().message, "result: field '" + std::string(key) + "' is missing");
  }
}

TEST(Codec, ResultTimingsReadAbsentPhasesAsUnreached) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(5);
  packer.pack("check");
  packer.pack("web");
  packer.pack("type");
  packer.pack("http");
  packer.pack("ts_us");
  packer.pack(0);
  packer.pack("status");
  packer.pack("up");
  packer.pack("timings");
  packer.pack_map(1);
  packer.pack("tls_us");
  packer.pack(7);
  auto decoded = decode_check_result(std::string_view(buffer.data(), buffer.size()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  PhaseTimings expected;
  expected.tls = std::chrono::microseconds(7);
  EXPECT_EQ(decoded->timings, expected);
}

TEST(Codec, CheckSpecWithoutParamsHasNone) {
  CheckSpec spec = sample_spec();
  spec.params.clear();
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(5);
  packer.pack("id");
  packer.pack(spec.id);
  packer.pack("type");
  packer.pack(spec.type);
  packer.pack("interval_ms");
  packer.pack(spec.interval.count());
  packer.pack("timeout_ms");
  packer.pack(spec.timeout.count());
  packer.pack("retries");
  packer.pack(spec.retries);
  auto decoded = decode_check_spec(std::string_view(buffer.data(), buffer.size()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, spec);
}

TEST(Codec, CheckSpecRefusesRetriesOutOfRange) {
  CheckSpec spec = sample_spec();
  spec.retries = kMaxRetries + 1;
  auto decoded = decode_check_spec(encode_check_spec(spec));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "check: field 'retries' out of range");
}

TEST(CheckResultJson, HasTheExportShape) {
  const nlohmann::json json = to_json(sample_result());
  EXPECT_EQ(json["timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(json["status"], "down");
  EXPECT_EQ(json["reason"], "rcode_nxdomain");
  EXPECT_DOUBLE_EQ(json["latency_ms"].get<double>(), 0.812);
  EXPECT_DOUBLE_EQ(json["timings"]["connect_ms"].get<double>(), 0.04);
  EXPECT_FALSE(json["timings"].contains("tls_ms"));
}

}  // namespace
}  // namespace netmon
