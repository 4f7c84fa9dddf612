#include "common/protocol/codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace netmon::protocol {
namespace {

CheckSpec sample_check(std::string id) {
  CheckSpec spec;
  spec.id = std::move(id);
  spec.type = "tcp";
  spec.interval = std::chrono::milliseconds(1000);
  spec.timeout = std::chrono::milliseconds(500);
  spec.params = {{"host", "127.0.0.1"}, {"port", "80"}};
  return spec;
}

Record sample_result_record(std::uint64_t seq) {
  CheckResult result;
  result.check_id = "web";
  result.type = "http";
  result.target = "http://127.0.0.1/";
  result.timestamp = std::chrono::system_clock::time_point(std::chrono::microseconds(1'000'000));
  result.status = CheckStatus::kUp;
  result.details = {{"status_code", 200}};
  return Record{RecordKey{"edge-1", 7, "00112233aabbccdd", seq}, result};
}

std::vector<ControlMessage> every_control_message() {
  return {
      Hello{"edge-1", "0123456789abcdef0123456789abcdef", 7, 3, "00112233aabbccdd", 10, 42},
      Hello{"edge-1", "0123456789abcdef0123456789abcdef", 7, 3, "00112233aabbccdd", 1, 0,
            "ffeeddccbbaa9988", 41},
      Welcome{7, 41, 1000, 3},
      Reject{"name_in_use", "monitor name 'edge-1' is held by another instance"},
      Config{4, {sample_check("a"), sample_check("b")}},
      ConfigAck{4, {{"a", "0011223344556677"}, {"b", "8899aabbccddeeff"}}, ""},
      ConfigAck{5, {}, "check 'x': port 0 out of range 1..65535"},
      Replay{"00112233aabbccdd",
             {sample_result_record(5), Record{RecordKey{"edge-1", 7, "00112233aabbccdd", 6},
                                              LossRange{1, 4, 4, "outbox_full"}}}},
      Ack{"00112233aabbccdd", 41},
      ReplayReq{"00112233aabbccdd", 12, 20},
      Heartbeat{},
      Heartbeat{"00112233aabbccdd", 42},
      Bye{},
  };
}

TEST(ProtocolCodec, EveryControlMessageRoundTrips) {
  for (const ControlMessage& message : every_control_message()) {
    auto decoded = decode_control(encode(message));
    ASSERT_TRUE(decoded) << type_name(message) << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, message) << type_name(message);
  }
}

TEST(ProtocolCodec, RecordsRoundTripWithTopics) {
  const Record result = sample_result_record(9);
  auto decoded = decode_record(encode_record(result));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, result);
  EXPECT_EQ(record_topic(result), "res/edge-1/web");

  const Record loss{RecordKey{"edge-1", 7, "e", 10}, LossRange{3, 9, 7, "outbox_age"}};
  auto decoded_loss = decode_record(encode_record(loss));
  ASSERT_TRUE(decoded_loss) << decoded_loss.error().message;
  EXPECT_EQ(*decoded_loss, loss);
  EXPECT_EQ(record_topic(loss), "res/edge-1/_loss");
}

TEST(ProtocolCodec, EventsRoundTripWithTopics) {
  const Event event{std::chrono::system_clock::time_point(std::chrono::microseconds(5)),
                    "edge-1",
                    "web",
                    "UP",
                    "DOWN",
                    "edge-1/web DOWN after 2 failures"};
  auto decoded = decode_event(encode_event(event));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, event);
  EXPECT_EQ(event_topic(event), "evt/check/edge-1/web");
  Event lost = event;
  lost.check.clear();
  EXPECT_EQ(event_topic(lost), "evt/monitor/edge-1");
}

// Found by fuzzing: a ts_us beyond +-2^63 ns overflowed turning into a time point.
TEST(ProtocolCodec, RejectsEventsStampedBeyondTheWallClockRange) {
  for (const std::int64_t ts_us : {INT64_MAX, INT64_MIN}) {
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(8);
    for (const auto& [key, value] :
         {std::pair{"proto", "NMP"}, std::pair{"type", "EVENT"}, std::pair{"monitor", "edge-1"},
          std::pair{"from", "UP"}, std::pair{"to", "DOWN"}, std::pair{"text", "down"}}) {
      packer.pack(key);
      packer.pack(value);
    }
    packer.pack("v");
    packer.pack(kVersion);
    packer.pack("ts_us");
    packer.pack(ts_us);
    auto decoded = decode_event(std::string_view(buffer.data(), buffer.size()));
    ASSERT_FALSE(decoded) << ts_us;
    EXPECT_EQ(decoded.error().message,
              "EVENT: event: field 'ts_us' is out of range (a wall-clock time in the years "
              "1678..2262)");
  }
}

TEST(ProtocolCodec, RejectsTruncatedMessages) {
  const std::string bytes = encode(every_control_message()[0]);
  for (std::size_t cut = 1; cut < bytes.size(); cut += 7) {
    auto decoded = decode_control(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().message, "truncated message");
  }
}

TEST(ProtocolCodec, RejectsABadSignature) {
  std::string bytes = encode(ControlMessage{Heartbeat{}});
  bytes.replace(bytes.find("NMP"), 3, "XYZ");
  auto decoded = decode_control(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "bad signature 'XYZ'");
}

TEST(ProtocolCodec, RejectsAnotherVersion) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(3);
  packer.pack("proto");
  packer.pack("NMP");
  packer.pack("v");
  packer.pack(2);
  packer.pack("type");
  packer.pack("HEARTBEAT");
  auto decoded = decode_control(std::string_view(buffer.data(), buffer.size()));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "protocol version 2 (this peer speaks 1)");
}

// A HELLO body of protocol version `version` (or another type).
std::string header_only(std::uint64_t version, const char* type) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(3);
  packer.pack("proto");
  packer.pack("NMP");
  packer.pack("v");
  packer.pack(version);
  packer.pack("type");
  packer.pack(type);
  return {buffer.data(), buffer.size()};
}

TEST(ProtocolCodec, TellsAHelloOfAnotherVersionFromEverythingElse) {
  EXPECT_TRUE(is_other_version_hello(header_only(2, "HELLO")));
  EXPECT_FALSE(is_other_version_hello(header_only(kVersion, "HELLO")));
  EXPECT_FALSE(is_other_version_hello(header_only(2, "HEARTBEAT")));
  EXPECT_FALSE(is_other_version_hello("\xc1 not msgpack"));
}

TEST(ProtocolCodec, RejectsUnknownTypes) {
  std::string bytes = encode(ControlMessage{Heartbeat{}});
  bytes.replace(bytes.find("HEARTBEAT"), 9, "HEARTBEEP");
  auto decoded = decode_control(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "unknown message type 'HEARTBEEP'");
}

TEST(ProtocolCodec, RejectsMissingAndMistypedFields) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(5);
  packer.pack("proto");
  packer.pack("NMP");
  packer.pack("v");
  packer.pack(1);
  packer.pack("type");
  packer.pack("ACK");
  packer.pack("epoch");
  packer.pack("e");
  packer.pack("seq");
  packer.pack("not a number");
  auto decoded = decode_control(std::string_view(buffer.data(), buffer.size()));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "ACK: message: field 'seq' is not a non-negative integer");
}

// A HEARTBEAT body with `extra` fields after the header.
std::string heartbeat_with(const std::vector<std::pair<std::string, msgpack::object>>& extra) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(static_cast<std::uint32_t>(3 + extra.size()));
  packer.pack("proto");
  packer.pack("NMP");
  packer.pack("v");
  packer.pack(1);
  packer.pack("type");
  packer.pack("HEARTBEAT");
  for (const auto& [key, value] : extra) {
    packer.pack(key);
    packer.pack(value);
  }
  return {buffer.data(), buffer.size()};
}

TEST(ProtocolCodec, AHeartbeatWithoutEpochAndLastSeqStaysValidAndCarriesNone) {
  const std::string bytes = encode(ControlMessage{Heartbeat{}});
  EXPECT_EQ(bytes, heartbeat_with({})) << "the manager's heartbeat must stay empty";
  auto decoded = decode_control(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(std::get<Heartbeat>(*decoded), Heartbeat{});

  const std::string with_fields = encode(ControlMessage{Heartbeat{"00112233aabbccdd", 7}});
  EXPECT_NE(with_fields.find("last_seq"), std::string::npos);
  decoded = decode_control(with_fields);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(std::get<Heartbeat>(*decoded).epoch, "00112233aabbccdd");
  EXPECT_EQ(std::get<Heartbeat>(*decoded).last_seq, 7u);
}

TEST(ProtocolCodec, RejectsAHeartbeatWithAMistypedOrUnpairedEpochOrLastSeq) {
  msgpack::zone zone;
  const auto object = [&](const auto& value) { return msgpack::object(value, zone); };
  auto decoded = decode_control(
      heartbeat_with({{"epoch", object("00112233aabbccdd")}, {"last_seq", object("five")}}));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message,
            "HEARTBEAT: message: field 'last_seq' is not a non-negative integer");

  decoded = decode_control(heartbeat_with({{"epoch", object(5)}, {"last_seq", object(5)}}));
  ASSERT_FALSE(decoded) << "a numeric epoch was accepted";
  EXPECT_NE(decoded.error().message.find("'epoch'"), std::string::npos) << decoded.error().message;

  decoded = decode_control(heartbeat_with({{"last_seq", object(5)}}));
  ASSERT_FALSE(decoded) << "a last_seq without its epoch was accepted";
  EXPECT_EQ(decoded.error().message,
            "HEARTBEAT: fields 'epoch' and 'last_seq' come together or not at all");
}

TEST(ProtocolCodec, RejectsOversizedMessagesBeforeParsing) {
  const std::string huge(kMaxMessageBytes + 1, '\x90');
  auto decoded = decode_control(huge);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "message larger than 1 MiB");
}

TEST(ProtocolCodec, RefusesAllocationBombs) {
  // A map declaring 2^32-1 entries in five bytes.
  auto decoded = decode_control(std::string("\xdf\xff\xff\xff\xff", 5));
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("limits"), std::string::npos);
}

TEST(ProtocolCodec, IgnoresUnknownFields) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(6);
  packer.pack("proto");
  packer.pack("NMP");
  packer.pack("v");
  packer.pack(1);
  packer.pack("type");
  packer.pack("ACK");
  packer.pack("epoch");
  packer.pack("e");
  packer.pack("seq");
  packer.pack(5);
  packer.pack("from_the_future");
  packer.pack(true);
  auto decoded = decode_control(std::string_view(buffer.data(), buffer.size()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(std::get<Ack>(*decoded).seq, 5u);
}

TEST(ProtocolCodec, DigestIsStableAndSensitiveToEveryField) {
  const CheckSpec spec = sample_check("a");
  const std::string digest = check_digest(spec);
  EXPECT_EQ(digest.size(), 16u);
  EXPECT_EQ(digest, check_digest(sample_check("a")));
  CheckSpec changed = spec;
  changed.params["port"] = std::string("81");
  EXPECT_NE(check_digest(changed), digest);
  changed = spec;
  changed.timeout = std::chrono::milliseconds(501);
  EXPECT_NE(check_digest(changed), digest);
}

// Issue 7, defect 1: text that is not UTF-8 reached the store's JSON writer,
// which threw and ended the manager's loop. Decoding keeps it, escaped.
TEST(ProtocolCodec, TextThatIsNotUtf8DecodesEscapedInEveryField) {
  Record record = sample_result_record(1);
  record.key.monitor = "edge\xff";
  record.key.epoch = "0011\xfe";
  auto& result = std::get<CheckResult>(record.body);
  result.check_id = "web\xc3";
  result.target = "t\x80";
  result.reason = "r\xff";
  result.error = "e\xff";
  result.details = {{"txt", "ok\xff"}, {"k\xfe", {"\xfd", 1}}};
  auto decoded = decode_record(encode_record(record));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->key.monitor, "edge\\xff");
  EXPECT_EQ(decoded->key.epoch, "0011\\xfe");
  const auto& got = std::get<CheckResult>(decoded->body);
  EXPECT_EQ(got.check_id, "web\\xc3");
  EXPECT_EQ(got.target, "t\\x80");
  EXPECT_EQ(got.reason, "r\\xff");
  EXPECT_EQ(got.error, "e\\xff");
  EXPECT_EQ(got.details.dump(), R"({"k\\xfe":["\\xfd",1],"txt":"ok\\xff"})");
}

// Issue 7, defect 4: seq 2^64-1 was stored as -1; a LOSS may only cover seqs
// before its own.
TEST(ProtocolCodec, RefusesSeqsOutsideOneToTwoToTheSixtyThreeAndLossesNotBeforeTheirSeq) {
  for (std::uint64_t seq : {std::uint64_t{0}, kMaxSeq + 1, ~std::uint64_t{0}}) {
    EXPECT_FALSE(decode_record(encode_record(sample_result_record(seq)))) << seq;
  }
  EXPECT_TRUE(decode_record(encode_record(sample_result_record(kMaxSeq))));
  auto loss = [](std::uint64_t seq, std::uint64_t from, std::uint64_t to) {
    return Record{RecordKey{"edge-1", 7, "00112233aabbccdd", seq},
                  LossRange{from, to, to - from + 1, "outbox_full"}};
  };
  EXPECT_TRUE(decode_record(encode_record(loss(10, 2, 9))));
  EXPECT_FALSE(decode_record(encode_record(loss(10, 2, 10)))) << "covers itself";
  EXPECT_FALSE(decode_record(encode_record(loss(10, 0, 5)))) << "from 0";
  EXPECT_FALSE(decode_record(encode_record(loss(10, 6, 5)))) << "reversed";
}

}  // namespace
}  // namespace netmon::protocol
