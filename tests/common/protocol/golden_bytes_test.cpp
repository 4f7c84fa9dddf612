// Golden bytes: one body per message table of docs/PROTOCOL.md (§3 header,
// §5 control messages, §6 bus messages), written out here byte by byte from
// the document's field lists. Each is encoded from a fixed message and
// compared, and decoded back, so the document, the field lists in
// common/protocol/message_fields.hpp and the bytes on the wire cannot drift
// apart. A changed byte here is a protocol change: the document changes with
// it.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/protocol/codec.hpp"

namespace netmon::protocol {
namespace {

using std::chrono::microseconds;

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes) {
    hex.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    hex.push_back(kDigits[static_cast<unsigned char>(c) & 0xf]);
  }
  return hex;
}

void expect_control_golden(const ControlMessage& message, std::string_view hex) {
  EXPECT_EQ(to_hex(encode(message)), hex) << type_name(message);
  auto decoded = decode_control(from_hex(hex));
  ASSERT_TRUE(decoded) << type_name(message) << ": " << decoded.error().message;
  EXPECT_EQ(*decoded, message) << type_name(message);
}

void expect_record_golden(const Record& record, std::string_view hex) {
  EXPECT_EQ(to_hex(encode_record(record)), hex);
  auto decoded = decode_record(from_hex(hex));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, record);
}

constexpr std::string_view kEpoch = "00112233aabbccdd";
const std::chrono::system_clock::time_point kTime{microseconds(1'700'000'000'000'000)};

RecordKey key(std::uint64_t seq) {
  return {"edge-1", 7, std::string(kEpoch), seq};
}

constexpr std::string_view kHello =
    "8c"                                        // a map of 12: the header and 9 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a548454c4c4f"                    // type: "HELLO"
    "a46e616d65a6656467652d31"                  // name: "edge-1"
    "a8696e7374616e6365d920303132333435363738"  // instance: "0123456789abcdef0123456789abcdef"
    "3961626364656630313233343536373839616263"
    "646566"
    "aa6d6f6e69746f725f696407"                  // monitor_id: 7
    "ae636f6e6669675f76657273696f6e03"          // config_version: 3
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a966697273745f7365710a"                    // first_seq: 10
    "a86c6173745f7365712a"                      // last_seq: 42
    "ab656e6465645f65706f6368b066666565646463"  // ended_epoch: "ffeeddccbbaa9988"
    "636262616139393838"
    "ae656e6465645f6c6173745f73657129";  // ended_last_seq: 41

constexpr std::string_view kWelcome =
    "87"                                // a map of 7: the header and 4 fields
    "a570726f746fa34e4d50"              // proto: "NMP"
    "a17601"                            // v: 1
    "a474797065a757454c434f4d45"        // type: "WELCOME"
    "aa6d6f6e69746f725f696407"          // monitor_id: 7
    "a961636b65645f73657129"            // acked_seq: 41
    "ac6865617274626561745f6d73cd03e8"  // heartbeat_ms: 1000
    "a86c6976656e65737303";             // liveness: 3

constexpr std::string_view kReject =
    "85"                                        // a map of 5: the header and 2 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a652454a454354"                  // type: "REJECT"
    "a6726561736f6eab6e616d655f696e5f757365"    // reason: "name_in_use"
    "a474657874b76e616d652027656467652d312720"  // text: "name 'edge-1' is in use"
    "697320696e20757365";

constexpr std::string_view kConfig =
    "85"                                        // a map of 5: the header and 2 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a6434f4e464947"                  // type: "CONFIG"
    "a776657273696f6e04"                        // version: 4
    "a6636865636b7391"                          // checks: an array of 1
    "86"                                        //   a map of 6
    "a26964a3776562"                            //     id: "web"
    "a474797065a468747470"                      //     type: "http"
    "ab696e74657276616c5f6d73cd03e8"            //     interval_ms: 1000
    "aa74696d656f75745f6d73cd01f4"              //     timeout_ms: 500
    "a77265747269657301"                        //     retries: 1
    "a6706172616d7382"                          //     params: a map of 2
    "ad6578706563745f73746174757392a3323030a3"  //       expect_status: ["200", "301"]
    "333031"
    "a375726cb1687474703a2f2f3132372e302e302e"  //       url: "http://127.0.0.1/"
    "312f";

constexpr std::string_view kConfigAck =
    "86"                                        // a map of 6: the header and 3 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065aa434f4e4649475f41434b"          // type: "CONFIG_ACK"
    "a776657273696f6e04"                        // version: 4
    "a76469676573747381"                        // digests: a map of 1
    "a3776562b0303031313232333334343535363637"  //   web: "0011223344556677"
    "37"
    "a56572726f72bf636865636b20276462273a2070"  // error: "check 'db': port 0 out of range"
    "6f72742030206f7574206f662072616e6765";

constexpr std::string_view kReplay =
    "85"                                        // a map of 5: the header and 2 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a65245504c4159"                  // type: "REPLAY"
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a77265636f72647391"                        // records: an array of 1
    "8b"                                        //   a map of 11
    "a570726f746fa34e4d50"                      //     proto: "NMP"
    "a17601"                                    //     v: 1
    "a474797065a44c4f5353"                      //     type: "LOSS"
    "a76d6f6e69746f72a6656467652d31"            //     monitor: "edge-1"
    "aa6d6f6e69746f725f696407"                  //     monitor_id: 7
    "a565706f6368b030303131323233336161626263"  //     epoch: "00112233aabbccdd"
    "636464"
    "a373657106"                               //     seq: 6
    "a866726f6d5f73657101"                     //     from_seq: 1
    "a6746f5f73657105"                         //     to_seq: 5
    "a5636f756e7405"                           //     count: 5
    "a6726561736f6eab6f7574626f785f66756c6c";  //     reason: "outbox_full"

constexpr std::string_view kAck =
    "85"                                        // a map of 5: the header and 2 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a341434b"                        // type: "ACK"
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a373657129";  // seq: 41

constexpr std::string_view kReplayReq =
    "86"                                        // a map of 6: the header and 3 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065aa5245504c41595f524551"          // type: "REPLAY_REQ"
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a866726f6d5f7365710c"  // from_seq: 12
    "a6746f5f73657114";     // to_seq: 20

constexpr std::string_view kMonitorHeartbeat =
    "86"                                        // a map of 6: the header and 3 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a9484541525442454154"            // type: "HEARTBEAT"
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a86c6173745f7365712a"                      // last_seq: 42
    "ac6f7574626f785f6572726f72a96469736b2066"  // outbox_error: "disk full"
    "756c6c";

constexpr std::string_view kManagerHeartbeat =
    "83"                               // a map of 3: the header and 0 fields
    "a570726f746fa34e4d50"             // proto: "NMP"
    "a17601"                           // v: 1
    "a474797065a9484541525442454154";  // type: "HEARTBEAT"

constexpr std::string_view kBye =
    "83"                    // a map of 3: the header and 0 fields
    "a570726f746fa34e4d50"  // proto: "NMP"
    "a17601"                // v: 1
    "a474797065a3425945";   // type: "BYE"

constexpr std::string_view kResult =
    "88"                                        // a map of 8: the header and 5 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a6524553554c54"                  // type: "RESULT"
    "a76d6f6e69746f72a6656467652d31"            // monitor: "edge-1"
    "aa6d6f6e69746f725f696407"                  // monitor_id: 7
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a373657109"                                // seq: 9
    "a6726573756c748a"                          // result: a map of 10
    "a5636865636ba3776562"                      //   check: "web"
    "a474797065a468747470"                      //   type: "http"
    "a6746172676574b1687474703a2f2f3132372e30"  //   target: "http://127.0.0.1/"
    "2e302e312f"
    "a574735f7573cf00060a24181e4000"            //   ts_us: 1700000000000000
    "a6737461747573a4646f776e"                  //   status: "down"
    "a6726561736f6eaf636f6e6e6563745f72656675"  //   reason: "connect_refused"
    "736564"
    "a56572726f72b2636f6e6e656374696f6e207265"  //   error: "connection refused"
    "6675736564"
    "aa6c6174656e63795f7573cd05dc"  //   latency_us: 1500
    "a774696d696e677383"            //   timings: a map of 3
    "aa7265736f6c76655f757364"      //     resolve_us: 100
    "aa636f6e6e6563745f7573cd012c"  //     connect_us: 300
    "a8746f74616c5f7573cd05dc"      //     total_us: 1500
    "a764657461696c7381"            //   details: a map of 1
    "a8617474656d70747302";         //     attempts: 2

constexpr std::string_view kLoss =
    "8b"                                        // a map of 11: the header and 8 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a44c4f5353"                      // type: "LOSS"
    "a76d6f6e69746f72a6656467652d31"            // monitor: "edge-1"
    "aa6d6f6e69746f725f696407"                  // monitor_id: 7
    "a565706f6368b030303131323233336161626263"  // epoch: "00112233aabbccdd"
    "636464"
    "a37365710a"                               // seq: 10
    "a866726f6d5f73657103"                     // from_seq: 3
    "a6746f5f73657109"                         // to_seq: 9
    "a5636f756e7407"                           // count: 7
    "a6726561736f6eab6f7574626f785f66756c6c";  // reason: "outbox_full"

constexpr std::string_view kEvent =
    "89"                                        // a map of 9: the header and 6 fields
    "a570726f746fa34e4d50"                      // proto: "NMP"
    "a17601"                                    // v: 1
    "a474797065a54556454e54"                    // type: "EVENT"
    "a574735f7573cf00060a24181e4000"            // ts_us: 1700000000000000
    "a76d6f6e69746f72a6656467652d31"            // monitor: "edge-1"
    "a5636865636ba3776562"                      // check: "web"
    "a466726f6da25550"                          // from: "UP"
    "a2746fa4444f574e"                          // to: "DOWN"
    "a474657874af656467652d312f77656220444f57"  // text: "edge-1/web DOWN"
    "4e";

TEST(ProtocolGolden, Hello) {
  expect_control_golden(Hello{"edge-1", "0123456789abcdef0123456789abcdef", 7, 3,
                              std::string(kEpoch), 10, 42, "ffeeddccbbaa9988", 41},
                        kHello);
}

TEST(ProtocolGolden, Welcome) {
  expect_control_golden(Welcome{7, 41, 1000, 3}, kWelcome);
}

TEST(ProtocolGolden, Reject) {
  expect_control_golden(Reject{"name_in_use", "name 'edge-1' is in use"}, kReject);
}

TEST(ProtocolGolden, Config) {
  CheckSpec check;
  check.id = "web";
  check.type = "http";
  check.interval = std::chrono::milliseconds(1000);
  check.timeout = std::chrono::milliseconds(500);
  check.retries = 1;
  check.params = {{"url", "http://127.0.0.1/"},
                  {"expect_status", std::vector<std::string>{"200", "301"}}};
  expect_control_golden(Config{4, {check}}, kConfig);
}

TEST(ProtocolGolden, ConfigAck) {
  expect_control_golden(
      ConfigAck{4, {{"web", "0011223344556677"}}, "check 'db': port 0 out of range"}, kConfigAck);
}

TEST(ProtocolGolden, Replay) {
  expect_control_golden(
      Replay{std::string(kEpoch), {Record{key(6), LossRange{1, 5, 5, "outbox_full"}}}}, kReplay);
}

TEST(ProtocolGolden, Ack) {
  expect_control_golden(Ack{std::string(kEpoch), 41}, kAck);
}

TEST(ProtocolGolden, ReplayReq) {
  expect_control_golden(ReplayReq{std::string(kEpoch), 12, 20}, kReplayReq);
}

TEST(ProtocolGolden, HeartbeatOfAMonitorAndOfTheManager) {
  expect_control_golden(Heartbeat{std::string(kEpoch), 42, "disk full"}, kMonitorHeartbeat);
  expect_control_golden(Heartbeat{}, kManagerHeartbeat);
}

TEST(ProtocolGolden, Bye) {
  expect_control_golden(Bye{}, kBye);
}

TEST(ProtocolGolden, Result) {
  CheckResult result;
  result.check_id = "web";
  result.type = "http";
  result.target = "http://127.0.0.1/";
  result.timestamp = kTime;
  result.status = CheckStatus::kDown;
  result.reason = "connect_refused";
  result.error = "connection refused";
  result.latency = microseconds(1500);
  result.timings.resolve = microseconds(100);
  result.timings.connect = microseconds(300);
  result.timings.total = microseconds(1500);
  result.details = {{"attempts", 2}};
  expect_record_golden(Record{key(9), result}, kResult);
  EXPECT_EQ(to_hex(encode_result_record(key(9), result)), kResult);
}

TEST(ProtocolGolden, Loss) {
  expect_record_golden(Record{key(10), LossRange{3, 9, 7, "outbox_full"}}, kLoss);
}

TEST(ProtocolGolden, Event) {
  const Event event{kTime, "edge-1", "web", "UP", "DOWN", "edge-1/web DOWN"};
  EXPECT_EQ(to_hex(encode_event(event)), kEvent);
  auto decoded = decode_event(from_hex(kEvent));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, event);
}

}  // namespace
}  // namespace netmon::protocol
