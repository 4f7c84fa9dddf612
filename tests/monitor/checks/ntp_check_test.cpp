#include "monitor/checks/ntp_check.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;
using testing::ProbeHarness;
using Bytes = std::vector<std::uint8_t>;

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

// Independent of the code under test: Unix time to NTP 32.32 fixed point.
std::uint64_t ntp_now(std::chrono::milliseconds shift) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      (std::chrono::system_clock::now() + shift).time_since_epoch())
                      .count();
  const std::uint64_t seconds = static_cast<std::uint64_t>(ns / 1'000'000'000) + 2'208'988'800ULL;
  const std::uint64_t fraction =
      (static_cast<std::uint64_t>(ns % 1'000'000'000) << 32) / 1'000'000'000;
  return (seconds << 32) | fraction;
}

void put64(Bytes& packet, std::size_t at, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    packet[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

void put32(Bytes& packet, std::size_t at, std::uint32_t value) {
  for (int i = 3; i >= 0; --i) {
    packet[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

std::uint64_t get64(const Bytes& packet, std::size_t at) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i)
    value = (value << 8) | packet[at + i];
  return value;
}

// What the fake server puts in one reply.
struct Reply {
  int leap = 0;
  int version = 4;
  int mode = 4;
  int stratum = 2;
  std::array<std::uint8_t, 4> reference_id{127, 0, 0, 1};
  std::chrono::milliseconds clock_shift{0};  // the server's clock minus the real one
  bool echo_originate = true;                // false: answer someone else's request
  bool zero_transmit = false;
  std::int8_t precision = -20;
  std::uint32_t root_delay = 0x00008000;       // 0.5 s in 16.16
  std::uint32_t root_dispersion = 0x00000800;  // 1/32 s
  std::optional<std::string> raw;              // send these bytes instead of a header
};

// A loopback SNTP server: answers every request with the configured replies, in order.
class FakeNtpServer {
 public:
  FakeNtpServer(asio::io_context& io, std::vector<Reply> replies)
      : socket_(io, {kLoopback, 0}), replies_(std::move(replies)) {
    receive();
  }
  std::string port() const { return std::to_string(socket_.local_endpoint().port()); }
  const std::vector<Bytes>& requests() const { return requests_; }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), peer_,
                               [this](const std::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 requests_.emplace_back(buffer_.begin(), buffer_.begin() + n);
                                 for (const Reply& reply : replies_)
                                   answer(reply, requests_.back());
                                 receive();
                               });
  }

  void answer(const Reply& reply, const Bytes& request) {
    Bytes packet(48, 0);
    if (reply.raw) {
      packet.assign(reply.raw->begin(), reply.raw->end());
    } else {
      packet[0] = static_cast<std::uint8_t>((reply.leap << 6) | (reply.version << 3) | reply.mode);
      packet[1] = static_cast<std::uint8_t>(reply.stratum);
      packet[2] = 6;
      packet[3] = static_cast<std::uint8_t>(reply.precision);
      put32(packet, 4, reply.root_delay);
      put32(packet, 8, reply.root_dispersion);
      std::copy(reply.reference_id.begin(), reply.reference_id.end(), packet.begin() + 12);
      const std::uint64_t now = ntp_now(reply.clock_shift);
      put64(packet, 16, now - (std::uint64_t{16} << 32));
      const std::uint64_t originate = request.size() >= 48 ? get64(request, 40) : 0;
      put64(packet, 24, reply.echo_originate ? originate : originate ^ 0x5a5a);
      put64(packet, 32, now);
      put64(packet, 40, reply.zero_transmit ? 0 : now + 1000);
    }
    socket_.send_to(asio::buffer(packet), peer_);
  }

  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  std::array<std::uint8_t, 512> buffer_{};
  std::vector<Reply> replies_;
  std::vector<Bytes> requests_;
};

CheckSpec ntp_spec(const std::string& port, ParamMap extra = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  extra.emplace("server", "127.0.0.1");
  extra.emplace("port", port);
  return make_spec("ntp", std::move(extra), timeout);
}

// ---- validation ----

TEST(NtpReply, IsJudgedWithoutASocketAndOnlyWhenItEchoesTheNonce) {
  constexpr std::uint64_t kNonce = 0x1122334455667788ULL;
  const std::uint64_t t1 = std::uint64_t{0xeb000000} << 32;
  Bytes packet(48, 0);
  packet[0] = 0x24;  // LI 0, version 4, mode 4 (server)
  packet[1] = 2;
  put64(packet, 24, kNonce + 1);
  put64(packet, 32, t1 + (std::uint64_t{1} << 30));  // server clock 0.25 s ahead
  put64(packet, 40, t1 + (std::uint64_t{1} << 30));
  checks::NtpExchange exchange{kNonce, t1, t1, 0, 2};
  EXPECT_FALSE(checks::judge_ntp_reply(packet, exchange)) << "someone else's reply";
  put64(packet, 24, kNonce);
  const auto outcome = checks::judge_ntp_reply(packet, exchange);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, CheckStatus::kUp);
  EXPECT_EQ(outcome->details["offset_ms"], 250.0);
  EXPECT_EQ(outcome->details["foreign_replies"], 2);
  const auto truncated = checks::judge_ntp_reply(std::span(packet).first(47), exchange);
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->reason, "bad_reply");
}

TEST(NtpCheck, DefaultsToPort123) {
  auto prepared = checks::prepare_check(make_spec("ntp", {{"server", "127.0.0.1"}}));
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->check->target(), "127.0.0.1:123");
}

// ---- timestamp arithmetic ----

TEST(NtpCheck, ConvertsUnixEpochToNtpEra0) {
  EXPECT_EQ(checks::to_ntp_time(std::chrono::system_clock::time_point{}),
            std::uint64_t{2'208'988'800} << 32);
  EXPECT_EQ(checks::to_ntp_duration(std::chrono::milliseconds(1500)),
            (std::uint64_t{1} << 32) + (std::uint64_t{1} << 31));
}

TEST(NtpCheck, ComputesOffsetAndDelayAcrossEraRollover) {
  // The client sends 0.25 s before the 2036 rollover; the server is 1 s ahead,
  // so its timestamps are already in era 1 (small values).
  const std::uint64_t t1 = (std::uint64_t{0xffffffff} << 32) | 0xc0000000;  // era 0, .75
  const std::uint64_t t2 = (std::uint64_t{0} << 32) | 0xc8000000;           // era 1
  const std::uint64_t t3 = t2 + (std::uint64_t{1} << 28);                   // held 1/16 s
  const std::uint64_t t4 = t1 + (std::uint64_t{1} << 29) + (std::uint64_t{1} << 28);
  const checks::NtpSample sample = checks::ntp_sample(t1, t2, t3, t4);
  // T2-T1 = 1.03125 s, T3-T2 = 0.0625 s, T4-T1 = 0.1875 s.
  EXPECT_DOUBLE_EQ(sample.delay_s, 0.125);
  EXPECT_DOUBLE_EQ(sample.offset_s, 1.03125 + (0.0625 - 0.1875) / 2);
}

TEST(NtpCheck, ComputesNegativeOffsetWhenServerIsBehind) {
  const std::uint64_t t1 = std::uint64_t{100} << 32;
  const std::uint64_t t2 = std::uint64_t{98} << 32;
  const checks::NtpSample sample = checks::ntp_sample(t1, t2, t2, t1);
  EXPECT_DOUBLE_EQ(sample.offset_s, -2.0);
  EXPECT_DOUBLE_EQ(sample.delay_s, 0.0);
}

// ---- exchanges with a loopback server ----

TEST(NtpCheck, MeasuresOffsetOfServerWhoseClockIsAhead) {
  ProbeHarness harness;
  Reply reply;
  reply.clock_shift = std::chrono::milliseconds(250);
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.target, "127.0.0.1:" + server.port());
  EXPECT_NEAR(result.details["offset_ms"].get<double>(), 250.0, 50.0) << result.details.dump();
  EXPECT_GE(result.details["delay_ms"].get<double>(), -1.0);
  EXPECT_LT(result.details["delay_ms"].get<double>(), 100.0);
  EXPECT_EQ(result.details["stratum"], 2);
  EXPECT_EQ(result.details["reference_id"], "127.0.0.1");
  EXPECT_EQ(result.details["leap"], 0);
  EXPECT_EQ(result.details["version"], 4);
  EXPECT_DOUBLE_EQ(result.details["root_delay_ms"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(result.details["root_dispersion_ms"].get<double>(), 31.25);
  EXPECT_EQ(result.details["precision"], -20);
  EXPECT_TRUE(result.timings.first_byte.has_value());
  EXPECT_LE(result.latency, result.timings.total);

  ASSERT_EQ(server.requests().size(), 1u);
  const Bytes& request = server.requests().front();
  ASSERT_EQ(request.size(), 48u);
  EXPECT_EQ(request[0], 0x23);  // LI 0, VN 4, mode 3
  EXPECT_NE(get64(request, 40), 0u) << "the transmit timestamp carries the nonce";
}

TEST(NtpCheck, MeasuresNegativeOffsetOfServerWhoseClockIsBehind) {
  ProbeHarness harness;
  Reply reply;
  reply.clock_shift = std::chrono::milliseconds(-1500);
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_NEAR(result.details["offset_ms"].get<double>(), -1500.0, 50.0);
}

TEST(NtpCheck, UsesFreshNonceForEveryRun) {
  ProbeHarness harness;
  FakeNtpServer server(harness.io(), {Reply{}});
  ASSERT_EQ(harness.run(ntp_spec(server.port())).status, CheckStatus::kUp);
  ASSERT_EQ(harness.run(ntp_spec(server.port())).status, CheckStatus::kUp);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_NE(get64(server.requests()[0], 40), get64(server.requests()[1], 40));
}

TEST(NtpCheck, ShowsStratumOneReferenceIdAsAscii) {
  ProbeHarness harness;
  Reply reply;
  reply.stratum = 1;
  reply.reference_id = {'G', 'P', 'S', 0};
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["reference_id"], "GPS");
  EXPECT_EQ(result.details["stratum"], 1);
}

TEST(NtpCheck, ReportsKissOfDeathRate) {
  ProbeHarness harness;
  Reply reply;
  reply.stratum = 0;
  reply.reference_id = {'R', 'A', 'T', 'E'};
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "kiss_of_death");
  EXPECT_EQ(result.details["kiss_code"], "RATE");
  EXPECT_EQ(result.error, "server sent kiss-of-death 'RATE' (rate exceeded, poll less often)");
}

TEST(NtpCheck, ReportsStratumZeroWithoutCodeAsKissOfDeath) {
  ProbeHarness harness;
  Reply reply;
  reply.stratum = 0;
  reply.reference_id = {0, 0, 0, 0};
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "kiss_of_death");
  EXPECT_EQ(result.details["kiss_code"], "");
  EXPECT_EQ(result.details["stratum"], 0);
}

TEST(NtpCheck, ReportsUnsynchronizedWhenLeapIndicatorIsAlarm) {
  ProbeHarness harness;
  Reply reply;
  reply.leap = 3;
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "unsynchronized");
  EXPECT_EQ(result.details["leap"], 3);
  EXPECT_EQ(result.error, "server is not synchronised (leap indicator 3, stratum 2)");
}

TEST(NtpCheck, ReportsBadStratumAbove15) {
  ProbeHarness harness;
  Reply reply;
  reply.stratum = 16;
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_stratum");
  EXPECT_EQ(result.error, "server reports stratum 16 (allowed: 1..15)");
}

TEST(NtpCheck, IgnoresReplyWithWrongOriginateTimestamp) {
  ProbeHarness harness;
  Reply foreign;
  foreign.echo_originate = false;
  FakeNtpServer server(harness.io(), {foreign});
  const CheckResult result =
      harness.run(ntp_spec(server.port(), {}, std::chrono::milliseconds(300)));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(NtpCheck, AcceptsGenuineReplyThatFollowsForeignOne) {
  ProbeHarness harness;
  Reply foreign;
  foreign.echo_originate = false;
  foreign.stratum = 16;  // would fail the check if it were not skipped
  FakeNtpServer server(harness.io(), {foreign, Reply{}});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["foreign_replies"], 1);
}

TEST(NtpCheck, ReportsBadReplyOnShortPacket) {
  ProbeHarness harness;
  Reply garbage;
  garbage.raw = "hello";
  FakeNtpServer server(harness.io(), {garbage});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply of 5 bytes is shorter than the 48-byte NTP header");
}

TEST(NtpCheck, ReportsBadReplyOnEmptyDatagram) {
  ProbeHarness harness;
  Reply empty;
  empty.raw = "";
  FakeNtpServer server(harness.io(), {empty});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.reason, "bad_reply");
}

TEST(NtpCheck, ReportsBadReplyWhenRequestIsEchoedBack) {
  ProbeHarness harness;
  Reply echoed;
  echoed.mode = 3;  // an echo service reflects the client-mode request
  FakeNtpServer server(harness.io(), {echoed});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply has mode 3 (expected 4: server)");
}

TEST(NtpCheck, ReportsBadReplyOnUnsupportedVersion) {
  ProbeHarness harness;
  Reply reply;
  reply.version = 5;
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply has version 5 (allowed: 1..4)");
}

TEST(NtpCheck, ReportsBadReplyOnZeroTransmitTimestamp) {
  ProbeHarness harness;
  Reply reply;
  reply.zero_transmit = true;
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port()));
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply has a zero transmit timestamp");
}

TEST(NtpCheck, TimesOutWhenServerIsSilent) {
  ProbeHarness harness;
  asio::ip::udp::socket silent(harness.io(), {kLoopback, 0});
  const CheckResult result = harness.run(
      ntp_spec(std::to_string(silent.local_endpoint().port()), {}, std::chrono::milliseconds(300)));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_NE(result.error.find("last phase reached: resolve"), std::string::npos) << result.error;
}

TEST(NtpCheck, ReportsPortUnreachableWhenNothingListens) {
  ProbeHarness harness;
  const std::string port = std::to_string(netmon::testing::free_udp_port());
  const CheckResult result = harness.run(ntp_spec(port));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "port_unreachable");
}

TEST(NtpCheck, ReportsOffsetTooLargeAboveMaxOffset) {
  ProbeHarness harness;
  Reply reply;
  reply.clock_shift = std::chrono::milliseconds(250);
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port(), {{"max_offset_ms", "100"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "offset_too_large");
  EXPECT_NEAR(result.details["offset_ms"].get<double>(), 250.0, 50.0);
  EXPECT_NE(result.error.find("exceeds max_offset_ms 100"), std::string::npos) << result.error;
}

TEST(NtpCheck, StaysUpWithinMaxOffset) {
  ProbeHarness harness;
  Reply reply;
  reply.clock_shift = std::chrono::milliseconds(-250);
  FakeNtpServer server(harness.io(), {reply});
  const CheckResult result = harness.run(ntp_spec(server.port(), {{"max_offset_ms", "1000"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
}

}  // namespace
}  // namespace netmon
