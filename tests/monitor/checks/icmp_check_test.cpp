#include <gtest/gtest.h>
#include <sys/socket.h>

#include <asio/ip/icmp.hpp>
#include <cstring>
#include <optional>
#include <vector>

// After asio: <net/if.h> first, so <linux/if.h> (from here) knows it was seen.
#include <linux/icmp.h>

#include "monitor/checks/check_registry.hpp"
#include "monitor/checks/check_runner.hpp"
#include "monitor/checks/net/icmp_socket.hpp"
#include "tests/support/net_namespace.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using checks::IcmpSocketKind;
using testing::EnterNetNamespace;
using testing::make_spec;
using testing::NetNamespace;
using testing::ProbeHarness;

void expect_ordered_rtts(const CheckResult& result) {
  const auto& d = result.details;
  ASSERT_TRUE(d["rtt_min_ms"].is_number()) << d.dump();
  const double min = d["rtt_min_ms"], avg = d["rtt_avg_ms"], median = d["rtt_median_ms"],
               max = d["rtt_max_ms"];
  EXPECT_GE(min, 0);
  EXPECT_LE(min, median);
  EXPECT_LE(median, max);
  EXPECT_LE(min, avg);
  EXPECT_LE(avg, max);
}

std::uint16_t checksum(const std::vector<std::uint8_t>& data) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2)
    sum += (data[i] << 8) | data[i + 1];
  if (data.size() % 2) sum += data.back() << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// ------------------------------------------------------ socket selection

struct OpenCall {
  int domain, type, protocol;
};

// A fake socket(): records calls, fails with the given errno per type (0 = succeed).
checks::IcmpSocketOpener fake_opener(std::vector<OpenCall>& calls, int datagram_errno,
                                     int raw_errno) {
  return [&calls, datagram_errno, raw_errno](int domain, int type, int protocol) {
    calls.push_back({domain, type, protocol});
    const int error = type == SOCK_DGRAM ? datagram_errno : raw_errno;
    return error ? -error : (type == SOCK_DGRAM ? 1001 : 1002);
  };
}

TEST(IcmpSocketSelection, PingGroupRangeAdmitsGroupsInsideTheInclusiveRange) {
  const std::vector<gid_t> root{0};
  EXPECT_EQ(checks::ping_group_range_allows("0\t2147483647\n", root), true);
  EXPECT_EQ(checks::ping_group_range_allows("1\t0\n", root), false);  // the kernel default
  const std::vector<gid_t> groups{5, 200};                            // egid 5, supplementary 200
  EXPECT_EQ(checks::ping_group_range_allows("100 200", groups), true);
  EXPECT_EQ(checks::ping_group_range_allows("100 199", groups), false);
  EXPECT_EQ(checks::ping_group_range_allows("garbage", groups), std::nullopt);
  EXPECT_EQ(checks::ping_group_range_allows("1 2 3", groups), std::nullopt);
}

TEST(IcmpSocketSelection, PrefersTheDatagramSocketWhenThePingGroupRangeAllowsIt) {
  std::vector<OpenCall> calls;
  auto opened = checks::open_icmp_socket(false, {true, "0 2147483647"}, fake_opener(calls, 0, 0));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->kind, IcmpSocketKind::kDatagram);
  EXPECT_EQ(opened->fd, 1001);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].domain, AF_INET);
  EXPECT_EQ(calls[0].type, SOCK_DGRAM);
  EXPECT_EQ(calls[0].protocol, IPPROTO_ICMP);
}

TEST(IcmpSocketSelection, UsesARawSocketWhenThePingGroupRangeExcludesUs) {
  std::vector<OpenCall> calls;
  auto opened = checks::open_icmp_socket(true, {false, "1 0"}, fake_opener(calls, 0, 0));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->kind, IcmpSocketKind::kRaw);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].domain, AF_INET6);
  EXPECT_EQ(calls[0].type, SOCK_RAW);
  EXPECT_EQ(calls[0].protocol, IPPROTO_ICMPV6);
}

TEST(IcmpSocketSelection, FallsBackToTheOtherKindWhenTheFirstFails) {
  std::vector<OpenCall> calls;
  auto raw = checks::open_icmp_socket(false, {true, "0 0"}, fake_opener(calls, EACCES, 0));
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->kind, IcmpSocketKind::kRaw);
  EXPECT_EQ(calls.size(), 2u);

  calls.clear();
  auto datagram = checks::open_icmp_socket(false, {false, "1 0"}, fake_opener(calls, 0, EPERM));
  ASSERT_TRUE(datagram);
  EXPECT_EQ(datagram->kind, IcmpSocketKind::kDatagram);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].type, SOCK_RAW);
}

TEST(IcmpSocketSelection, TriesTheDatagramSocketFirstWhenTheSysctlIsUnreadable) {
  std::vector<OpenCall> calls;
  auto opened = checks::open_icmp_socket(false, {std::nullopt, ""}, fake_opener(calls, 0, 0));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->kind, IcmpSocketKind::kDatagram);
}

TEST(IcmpSocketSelection, NamesBothRemediesWhenNeitherSocketOpens) {
  std::vector<OpenCall> calls;
  auto opened = checks::open_icmp_socket(false, {false, "1 0"}, fake_opener(calls, EACCES, EPERM));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message,
            "cannot open an ICMP socket for IPv4: an unprivileged ICMP socket needs this "
            "process's group in net.ipv4.ping_group_range (now '1 0'; allow it with `sysctl -w "
            "net.ipv4.ping_group_range=\"0 2147483647\"`): Permission denied; a raw socket needs "
            "CAP_NET_RAW (run as root or `setcap cap_net_raw+ep` on the binary): Operation not "
            "permitted");
}

TEST(IcmpSocketSelection, SaysSoWhenTheKernelLacksTheAddressFamily) {
  std::vector<OpenCall> calls;
  auto opened =
      checks::open_icmp_socket(true, {true, "0 0"}, fake_opener(calls, EAFNOSUPPORT, EAFNOSUPPORT));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message,
            "cannot open an ICMP socket for IPv6: this kernel does not support the address "
            "family");
}

TEST(IcmpCheck, ReportsIcmpUnavailableWhenNoSocketCanBeOpened) {
  ProbeHarness harness;
  std::vector<OpenCall> calls;
  auto& sockets = harness.env().shared<checks::IcmpSockets>();
  sockets.set_opener(fake_opener(calls, EACCES, EPERM));
  sockets.set_policy_reader([] { return checks::PingGroupPolicy{false, "1 0"}; });
  const CheckResult result = harness.run(make_spec("icmp", {{"host", "127.0.0.1"}}));
  EXPECT_EQ(result.status, CheckStatus::kError);
  EXPECT_EQ(result.reason, "icmp_unavailable");
  EXPECT_NE(result.error.find("sysctl -w net.ipv4.ping_group_range"), std::string::npos)
      << result.error;
  EXPECT_NE(result.error.find("CAP_NET_RAW"), std::string::npos) << result.error;
}

// ------------------------------------------------------ loopback, host namespace

TEST(IcmpCheck, ReportsUpWithDefaultsWhenLoopbackAnswers) {
  ProbeHarness harness;
  const CheckResult result = harness.run(make_spec("icmp", {{"host", "127.0.0.1"}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.target, "127.0.0.1");
  const auto& d = result.details;
  EXPECT_EQ(d["sent"], 3);
  EXPECT_EQ(d["received"], 3);
  EXPECT_EQ(d["loss_pct"], 0.0);
  EXPECT_EQ(d["address"], "127.0.0.1");
  expect_ordered_rtts(result);
  // latency is the average rtt, not the run's total time (which includes 2 x 10ms spacing).
  EXPECT_NEAR(result.latency.count() / 1000.0, d["rtt_avg_ms"].get<double>(), 0.002);
  EXPECT_LT(result.latency, result.timings.total);
  EXPECT_GE(result.timings.total, std::chrono::milliseconds(20));
  EXPECT_TRUE(result.timings.first_byte.has_value());
}

TEST(IcmpCheck, ReportsUpWhenIpv6LoopbackAnswers) {
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("icmp", {{"host", "::1"}, {"count", "4"}, {"spacing", "0ms"}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["received"], 4);
  EXPECT_EQ(result.details["address"], "::1");
  expect_ordered_rtts(result);
}

TEST(IcmpCheck, ResolvesNamesInTheRequestedFamily) {
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("icmp", {{"host", "localhost"}, {"family", "ipv4"}, {"count", "1"}}));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["address"], "127.0.0.1");
  EXPECT_TRUE(result.timings.resolve.has_value());
}

// Records the echo requests one ICMP socket sends (a raw socket sees every packet).
class EchoSniffer {
 public:
  EchoSniffer(asio::io_context& io, std::uint16_t identifier)
      : socket_(io, asio::ip::icmp::v4()), identifier_(identifier) {
    // Every process's ICMP reaches a raw socket; a few 64 KiB pings of a test
    // running in parallel fill the default buffer and ours were dropped (seen
    // once under ctest -j4). Let only echo requests in, and give them room.
    const int fd = socket_.native_handle();
    icmp_filter filter{};
    filter.data = ~(1U << ICMP_ECHO);
    ::setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
    const int bytes = 16 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    }
    receive();
  }
  const std::vector<std::size_t>& payload_sizes() const { return sizes_; }

 private:
  void receive() {
    socket_.async_receive(asio::buffer(buffer_), [this](const std::error_code& ec, std::size_t n) {
      if (ec) return;
      const std::size_t ihl = (buffer_[0] & 0x0f) * 4u;
      const std::uint8_t* icmp = buffer_.data() + ihl;
      if (n >= ihl + 8 && icmp[0] == 8 && ((icmp[4] << 8) | icmp[5]) == identifier_) {
        sizes_.push_back(n - ihl - 8);
      }
      receive();
    });
  }
  asio::ip::icmp::socket socket_;
  std::uint16_t identifier_;
  std::array<std::uint8_t, 70000> buffer_{};
  std::vector<std::size_t> sizes_;
};

TEST(IcmpCheck, SendsThePayloadSizeItIsGiven) {
  ProbeHarness harness;
  auto socket = harness.env().shared<checks::IcmpSockets>().get(false);
  ASSERT_TRUE(socket) << socket.error().message;
  std::optional<EchoSniffer> sniffer;
  try {
    sniffer.emplace(harness.io(), (*socket)->identifier());
  } catch (const std::system_error& e) {
    GTEST_FAIL() << "watching echo requests needs a raw socket (CAP_NET_RAW): " << e.what();
  }
  // 0 bytes, a usual size, and sizes past the batch receive buffers (up to the maximum).
  for (const int size : {0, 1000, 9000, 65000}) {
    SCOPED_TRACE(size);
    const std::size_t before = sniffer->payload_sizes().size();
    const CheckResult result = harness.run(
        make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "2"}, {"size", std::to_string(size)}}));
    ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
    EXPECT_EQ(result.details["received"], 2);
    ASSERT_TRUE(harness.run_until([&] { return sniffer->payload_sizes().size() >= before + 2; }));
    EXPECT_EQ(sniffer->payload_sizes()[before], static_cast<std::size_t>(size));
  }
}

TEST(IcmpCheck, SharesOneSocketAmongManyConcurrentProbes) {
  ProbeHarness harness;
  checks::CheckRunner runner(harness.env());
  std::vector<CheckResult> results;
  constexpr int kChecks = 200;
  for (int i = 0; i < kChecks; ++i) {
    auto prepared = checks::prepare_check(
        make_spec("icmp", {{"host", "127.0.0." + std::to_string(1 + i % 50)}, {"count", "3"}}));
    ASSERT_TRUE(prepared);
    runner.run(*prepared, [&](CheckResult r) { results.push_back(std::move(r)); });
  }
  ASSERT_TRUE(harness.run_until([&] { return results.size() == kChecks; }));
  for (const CheckResult& r : results) {
    ASSERT_EQ(r.status, CheckStatus::kUp) << r.error;
    ASSERT_EQ(r.details["received"], 3);
  }
  auto socket = harness.env().shared<checks::IcmpSockets>().get(false);
  ASSERT_TRUE(socket);
  EXPECT_EQ((*socket)->stats().sent, 3u * kChecks);
  EXPECT_EQ((*socket)->stats().matched, 3u * kChecks);
  EXPECT_EQ((*socket)->in_flight(), 0u);
}

// ------------------------------------------------- inside a network namespace

// One private namespace per test; its kernel answers no echo requests when `silent`.
// `kind` selects the socket the check gets via the namespace's ping_group_range.
std::unique_ptr<NetNamespace> make_namespace(IcmpSocketKind kind, bool silent, std::string& why) {
  auto ns = NetNamespace::create("icmp");
  if (!ns) {
    why = ns.error().message;
    return nullptr;
  }
  const char* range = kind == IcmpSocketKind::kDatagram ? "0 2147483647" : "1 0";
  for (auto done : {(*ns)->write_sysctl("net/ipv4/ping_group_range", range),
                    (*ns)->write_sysctl("net/ipv4/icmp_echo_ignore_all", silent ? "1" : "0"),
                    (*ns)->write_sysctl("net/ipv6/icmp/echo_ignore_all", silent ? "1" : "0")}) {
    if (!done) {
      why = done.error().message;
      return nullptr;
    }
  }
  return std::move(ns).value();
}

class IcmpCheckInNamespace : public ::testing::TestWithParam<IcmpSocketKind> {};

std::string kind_name(const ::testing::TestParamInfo<IcmpSocketKind>& info) {
  return std::string(checks::to_string(info.param));
}

INSTANTIATE_TEST_SUITE_P(Sockets, IcmpCheckInNamespace,
                         ::testing::Values(IcmpSocketKind::kRaw, IcmpSocketKind::kDatagram),
                         kind_name);

TEST_P(IcmpCheckInNamespace, UsesTheSocketKindThePingGroupRangeAllows) {
  std::string why;
  auto ns = make_namespace(GetParam(), false, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ASSERT_TRUE(inside.ok());
  ProbeHarness harness;
  for (const char* host : {"127.0.0.1", "::1"}) {
    const CheckResult result = harness.run(make_spec("icmp", {{"host", host}}));
    ASSERT_EQ(result.status, CheckStatus::kUp) << host << ": " << result.error;
    EXPECT_EQ(result.details["received"], 3);
    EXPECT_EQ(result.details["socket"], checks::to_string(GetParam()));
    expect_ordered_rtts(result);
  }
}

TEST_P(IcmpCheckInNamespace, ReportsNoReplyBeforeTheTimeoutWhenTheTargetIsSilent) {
  std::string why;
  auto ns = make_namespace(GetParam(), true, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ProbeHarness harness;
  for (const char* host : {"127.0.0.1", "::1"}) {
    const CheckResult result = harness.run(
        make_spec("icmp", {{"host", host}, {"count", "2"}}, std::chrono::milliseconds(400)));
    EXPECT_EQ(result.status, CheckStatus::kDown) << host;
    EXPECT_EQ(result.reason, "no_reply");
    EXPECT_EQ(result.error,
              std::string("no reply to 2 echo requests to ") + host + " within 360ms");
    EXPECT_EQ(result.details["sent"], 2);
    EXPECT_EQ(result.details["received"], 0);
    EXPECT_EQ(result.details["loss_pct"], 100.0);
    EXPECT_TRUE(result.details["rtt_avg_ms"].is_null());
  }
}

TEST(IcmpCheck, ReportsResolveFailedForANameNobodyKnows) {
  // Inside a namespace with only loopback no DNS server is reachable: the
  // lookup fails at once and nothing leaves the machine.
  std::string why;
  auto ns = make_namespace(IcmpSocketKind::kRaw, false, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("icmp", {{"host", "no-such-host.invalid"}}, std::chrono::seconds(5)));
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.error;
  EXPECT_EQ(result.reason, "resolve_failed");
  EXPECT_NE(result.error.find("no-such-host.invalid"), std::string::npos) << result.error;
  EXPECT_TRUE(result.timings.resolve.has_value());
}

enum class Answer {
  kReply,
  kSilence,
  kWrongId,
  kWrongSeq,
  kWrongPayload,
  kShortPayload,
  kBadChecksum,
  kUnreachable,
  kUnreachableWrongId,
};

// A scripted IPv4 echo target for a namespace whose kernel ignores echo
// requests: the n-th request it sees gets script[n], silence after the script.
class ScriptedTarget {
 public:
  ScriptedTarget(asio::io_context& io, std::vector<Answer> script)
      : socket_(io, asio::ip::icmp::v4()), script_(std::move(script)) {
    receive();
  }
  std::size_t requests() const { return requests_; }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), from_,
                               [this](const std::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 answer(n);
                                 receive();
                               });
  }

  void answer(std::size_t n) {
    const std::size_t ihl = (buffer_[0] & 0x0f) * 4u;
    if (n < ihl + 8 || buffer_[ihl] != 8) return;  // echo requests only
    const Answer what = requests_ < script_.size() ? script_[requests_] : Answer::kSilence;
    ++requests_;
    std::vector<std::uint8_t> reply(buffer_.begin() + static_cast<std::ptrdiff_t>(ihl),
                                    buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    reply[0] = 0;  // echo reply
    switch (what) {
      case Answer::kReply:
        break;
      case Answer::kSilence:
        return;
      case Answer::kWrongId:
        reply[4] ^= 0x5a;
        break;
      case Answer::kWrongSeq:
        reply[6] ^= 0x80;
        break;
      case Answer::kWrongPayload:
        reply.back() ^= 0xff;
        break;
      case Answer::kBadChecksum:
        break;  // spoiled after the checksum below
      case Answer::kShortPayload:
        reply.erase(reply.end() - 4, reply.end());
        break;
      case Answer::kUnreachable:
      case Answer::kUnreachableWrongId: {
        // Host unreachable quoting the request's IP header and ICMP message.
        std::vector<std::uint8_t> error = {3, 1, 0, 0, 0, 0, 0, 0};
        error.insert(error.end(), buffer_.begin(),
                     buffer_.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(n, 548)));
        if (what == Answer::kUnreachableWrongId) error[8 + ihl + 4] ^= 0x5a;
        reply = std::move(error);
        break;
      }
    }
    reply[2] = reply[3] = 0;
    const std::uint16_t sum = checksum(reply);
    reply[2] = static_cast<std::uint8_t>(sum >> 8);
    reply[3] = static_cast<std::uint8_t>(sum & 0xff);
    if (what == Answer::kBadChecksum) reply[3] ^= 0x01;
    socket_.send_to(asio::buffer(reply), from_);
  }

  asio::ip::icmp::socket socket_;
  asio::ip::icmp::endpoint from_;
  std::vector<Answer> script_;
  std::size_t requests_ = 0;
  std::array<std::uint8_t, 2048> buffer_{};
};

TEST_P(IcmpCheckInNamespace, IgnoresRepliesWithWrongIdentifierSequenceOrPayload) {
  std::string why;
  auto ns = make_namespace(GetParam(), true, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ProbeHarness harness;
  ScriptedTarget target(harness.io(),
                        {Answer::kReply, Answer::kWrongId, Answer::kWrongSeq, Answer::kWrongPayload,
                         Answer::kShortPayload, Answer::kUnreachableWrongId, Answer::kBadChecksum});
  const CheckResult result =
      harness.run(make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "7"}, {"size", "24"}},
                            std::chrono::milliseconds(500)));
  EXPECT_EQ(target.requests(), 7u);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;  // one reply is enough by default
  EXPECT_EQ(result.details["received"], 1) << result.details.dump();
  EXPECT_EQ(result.details["loss_pct"], 85.71);
  EXPECT_FALSE(result.details.contains("icmp_error"));
}

TEST_P(IcmpCheckInNamespace, ReportsPacketLossAboveMaxLoss) {
  std::string why;
  auto ns = make_namespace(GetParam(), true, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ProbeHarness harness;
  ScriptedTarget target(harness.io(),
                        {Answer::kReply, Answer::kSilence, Answer::kReply, Answer::kSilence,
                         Answer::kReply, Answer::kSilence, Answer::kReply, Answer::kSilence});
  const CheckResult lossy =
      harness.run(make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "4"}, {"max_loss_pct", "25"}},
                            std::chrono::milliseconds(500)));
  EXPECT_EQ(lossy.status, CheckStatus::kDown);
  EXPECT_EQ(lossy.reason, "packet_loss");
  EXPECT_EQ(lossy.error,
            "2 of 4 echo requests to 127.0.0.1 unanswered (50% loss, max_loss_pct 25)");
  EXPECT_EQ(lossy.details["received"], 2);
  EXPECT_EQ(lossy.details["loss_pct"], 50.0);
  expect_ordered_rtts(lossy);
  EXPECT_GT(lossy.latency.count(), 0);

  const CheckResult tolerated =
      harness.run(make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "4"}, {"max_loss_pct", "50"}},
                            std::chrono::milliseconds(500)));
  EXPECT_EQ(tolerated.status, CheckStatus::kUp) << tolerated.error;
  EXPECT_EQ(tolerated.details["received"], 2);
}

TEST_P(IcmpCheckInNamespace, ReportsDestUnreachableWhenTheNetworkSaysSo) {
  std::string why;
  auto ns = make_namespace(GetParam(), true, why);
  if (!ns) GTEST_FAIL() << why;
  EnterNetNamespace inside(*ns);
  ProbeHarness harness;
  ScriptedTarget target(harness.io(), {Answer::kUnreachable, Answer::kUnreachable});
  const CheckResult result = harness.run(
      make_spec("icmp", {{"host", "127.0.0.1"}, {"count", "2"}}, std::chrono::milliseconds(2000)));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "dest_unreachable");
  EXPECT_EQ(result.error, "127.0.0.1: host unreachable (reported by 127.0.0.1)");
  EXPECT_EQ(result.details["icmp_error"], "host unreachable");
  EXPECT_EQ(result.details["received"], 0);
  // Both echoes were answered (by errors): no waiting for the deadline.
  EXPECT_LT(result.timings.total, std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace netmon
