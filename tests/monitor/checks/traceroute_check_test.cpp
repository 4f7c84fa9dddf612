#include <gtest/gtest.h>

#include "monitor/checks/check_registry.hpp"
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

// ------------------------------------------------------ loopback, host namespace

void expect_one_hop_to(const CheckResult& result, const std::string& address) {
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  const auto& d = result.details;
  EXPECT_EQ(d["reached"], true);
  EXPECT_EQ(d["hop_count"], 1);
  EXPECT_EQ(d["address"], address);
  ASSERT_EQ(d["hops"].size(), 1u) << d.dump();
  EXPECT_EQ(d["hops"][0]["ttl"], 1);
  EXPECT_EQ(d["hops"][0]["address"], address);
  ASSERT_TRUE(d["hops"][0]["rtt_ms"].is_number());
  EXPECT_NEAR(result.latency.count() / 1000.0, d["hops"][0]["rtt_ms"].get<double>(), 0.002);
}

TEST(TracerouteCheck, ReachesLoopbackInOneHopWithDefaults) {
  ProbeHarness harness;
  const CheckResult result = harness.run(make_spec("traceroute", {{"host", "127.0.0.1"}}));
  expect_one_hop_to(result, "127.0.0.1");
  EXPECT_EQ(result.target, "127.0.0.1");
  EXPECT_FALSE(result.details["hops"][0].contains("answers"));
}

TEST(TracerouteCheck, ReachesIpv6LoopbackInOneHop) {
  ProbeHarness harness;
  expect_one_hop_to(harness.run(make_spec("traceroute", {{"host", "::1"}})), "::1");
}

TEST(TracerouteCheck, CountsAnswersPerHopWithSeveralProbes) {
  ProbeHarness harness;
  const CheckResult result = harness.run(
      make_spec("traceroute", {{"host", "127.0.0.1"}, {"probes_per_hop", "3"}, {"max_hops", "4"}}));
  expect_one_hop_to(result, "127.0.0.1");
  EXPECT_EQ(result.details["hops"][0]["answers"], 3);
}

TEST(TracerouteCheck, ReportsIcmpUnavailableWhenNoSocketCanBeOpened) {
  ProbeHarness harness;
  auto& sockets = harness.env().shared<checks::IcmpSockets>();
  sockets.set_opener([](int, int, int) { return -EPERM; });
  const CheckResult result = harness.run(make_spec("traceroute", {{"host", "127.0.0.1"}}));
  EXPECT_EQ(result.status, CheckStatus::kError);
  EXPECT_EQ(result.reason, "icmp_unavailable");
  EXPECT_NE(result.error.find("CAP_NET_RAW"), std::string::npos) << result.error;
}

// ------------------------------------------- a routed path between namespaces
//
//   client ──veth── router ──veth── target
//   192.0.2.1    .2 | 198.51.100.1    198.51.100.2
//   2001:db8:1::1 ::2 | 2001:db8:2::1  2001:db8:2::2
//
// Documentation prefixes, inside private namespaces only: nothing leaves them.
class RoutedPath {
 public:
  static std::unique_ptr<RoutedPath> create(IcmpSocketKind kind, std::string& why) {
    auto path = std::unique_ptr<RoutedPath>(new RoutedPath);
    for (auto* slot : {&path->client_, &path->router_, &path->target_}) {
      auto ns = NetNamespace::create("trace");
      if (!ns) {
        why = ns.error().message;
        return nullptr;
      }
      *slot = std::move(ns).value();
    }
    const std::string client = path->client_->name();
    const std::string target = path->target_->name();
    const NetNamespace& r = *path->router_;
    const NetNamespace& c = *path->client_;
    const NetNamespace& t = *path->target_;
    const char* range = kind == IcmpSocketKind::kDatagram ? "0 2147483647" : "1 0";
    for (auto step : {
             r.ip("link add rc type veth peer name cr netns " + client),
             r.ip("link add rt type veth peer name tr netns " + target),
             // No duplicate address detection: addresses and routes work at once.
             r.write_sysctl("net/ipv6/conf/rc/accept_dad", "0"),
             r.write_sysctl("net/ipv6/conf/rt/accept_dad", "0"),
             c.write_sysctl("net/ipv6/conf/cr/accept_dad", "0"),
             t.write_sysctl("net/ipv6/conf/tr/accept_dad", "0"),
             r.ip("addr add 192.0.2.2/24 dev rc"),
             r.ip("addr add 198.51.100.1/24 dev rt"),
             r.ip("addr add 2001:db8:1::2/64 dev rc nodad"),
             r.ip("addr add 2001:db8:2::1/64 dev rt nodad"),
             r.ip("link set rc up"),
             r.ip("link set rt up"),
             r.write_sysctl("net/ipv4/ip_forward", "1"),
             r.write_sysctl("net/ipv6/conf/all/forwarding", "1"),
             c.ip("addr add 192.0.2.1/24 dev cr"),
             c.ip("addr add 2001:db8:1::1/64 dev cr nodad"),
             c.ip("link set cr up"),
             c.ip("route add default via 192.0.2.2"),
             c.ip("-6 route add default via 2001:db8:1::2"),
             c.write_sysctl("net/ipv4/ping_group_range", range),
             t.ip("addr add 198.51.100.2/24 dev tr"),
             t.ip("addr add 2001:db8:2::2/64 dev tr nodad"),
             t.ip("link set tr up"),
             t.ip("route add default via 198.51.100.1"),
             t.ip("-6 route add default via 2001:db8:2::1"),
         }) {
      if (!step) {
        why = step.error().message;
        return nullptr;
      }
    }
    return path;
  }

  const NetNamespace& client() const { return *client_; }
  const NetNamespace& target() const { return *target_; }

 private:
  RoutedPath() = default;
  std::unique_ptr<NetNamespace> client_, router_, target_;
};

class TracerouteThroughARouter : public ::testing::TestWithParam<IcmpSocketKind> {};

std::string kind_name(const ::testing::TestParamInfo<IcmpSocketKind>& param) {
  return std::string(checks::to_string(param.param));
}

INSTANTIATE_TEST_SUITE_P(Sockets, TracerouteThroughARouter,
                         ::testing::Values(IcmpSocketKind::kRaw, IcmpSocketKind::kDatagram),
                         kind_name);

TEST_P(TracerouteThroughARouter, ListsTheRouterThenTheTarget) {
  std::string why;
  auto path = RoutedPath::create(GetParam(), why);
  if (!path) GTEST_FAIL() << why;
  EnterNetNamespace inside(path->client());
  ASSERT_TRUE(inside.ok());
  ProbeHarness harness;
  struct Case {
    const char* target;
    const char* router;
  };
  for (const Case c : {Case{"198.51.100.2", "192.0.2.2"}, Case{"2001:db8:2::2", "2001:db8:1::2"}}) {
    SCOPED_TRACE(c.target);
    const CheckResult result = harness.run(make_spec("traceroute", {{"host", c.target}}));
    ASSERT_EQ(result.status, CheckStatus::kUp) << result.error << result.details.dump();
    const auto& d = result.details;
    EXPECT_EQ(d["reached"], true);
    EXPECT_EQ(d["hop_count"], 2);
    ASSERT_EQ(d["hops"].size(), 2u) << d.dump();
    EXPECT_EQ(d["hops"][0]["ttl"], 1);
    EXPECT_EQ(d["hops"][0]["address"], c.router);
    EXPECT_TRUE(d["hops"][0]["rtt_ms"].is_number());
    EXPECT_EQ(d["hops"][1]["ttl"], 2);
    EXPECT_EQ(d["hops"][1]["address"], c.target);
    // Known as soon as both hops answered, not at the deadline.
    EXPECT_LT(result.timings.total, std::chrono::milliseconds(1000));
  }
}

TEST_P(TracerouteThroughARouter, ReportsUnreachableWithinMaxHopsWhenTheTargetIsFarther) {
  std::string why;
  auto path = RoutedPath::create(GetParam(), why);
  if (!path) GTEST_FAIL() << why;
  EnterNetNamespace inside(path->client());
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("traceroute", {{"host", "198.51.100.2"}, {"max_hops", "1"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "unreachable_within_max_hops");
  EXPECT_EQ(result.error,
            "198.51.100.2 not reached within max_hops 1 (1 hop answered within 1800ms)");
  EXPECT_EQ(result.details["reached"], false);
  EXPECT_EQ(result.details["hop_count"], 1);
  ASSERT_EQ(result.details["hops"].size(), 1u);
  EXPECT_EQ(result.details["hops"][0]["address"], "192.0.2.2");
}

TEST_P(TracerouteThroughARouter, StopsListingAtTheLastAnsweringHopWhenTheTargetIsSilent) {
  std::string why;
  auto path = RoutedPath::create(GetParam(), why);
  if (!path) GTEST_FAIL() << why;
  ASSERT_TRUE(path->target().write_sysctl("net/ipv4/icmp_echo_ignore_all", "1"));
  EnterNetNamespace inside(path->client());
  ProbeHarness harness;
  const CheckResult result = harness.run(make_spec(
      "traceroute", {{"host", "198.51.100.2"}, {"max_hops", "5"}}, std::chrono::milliseconds(400)));
  EXPECT_EQ(result.status, CheckStatus::kDown);  // a verdict with details, not a bare timeout
  EXPECT_EQ(result.reason, "unreachable_within_max_hops");
  EXPECT_EQ(result.details["hop_count"], 1);
  ASSERT_EQ(result.details["hops"].size(), 1u) << result.details.dump();
  EXPECT_EQ(result.details["hops"][0]["address"], "192.0.2.2");
  EXPECT_GE(result.timings.total, std::chrono::milliseconds(360));
}

TEST_P(TracerouteThroughARouter, ReportsDestUnreachableFromTheRouter) {
  std::string why;
  auto path = RoutedPath::create(GetParam(), why);
  if (!path) GTEST_FAIL() << why;
  // The client routes 203.0.113.0/24 to the router, which rejects it.
  ASSERT_TRUE(path->client().ip("route add 203.0.113.0/24 via 192.0.2.2"));
  EnterNetNamespace inside(path->client());
  ProbeHarness harness;
  const CheckResult result = harness.run(make_spec("traceroute", {{"host", "203.0.113.9"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "dest_unreachable") << result.error << result.details.dump();
  EXPECT_EQ(result.details["hop_count"], 1);
  ASSERT_EQ(result.details["hops"].size(), 1u);
  EXPECT_EQ(result.details["hops"][0]["address"], "192.0.2.2");
  EXPECT_EQ(result.details["hops"][0]["icmp_error"], "network unreachable");
}

}  // namespace
}  // namespace netmon
