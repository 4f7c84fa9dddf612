#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/dns_test_server.hpp"
#include "tests/support/net_namespace.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::DnsTestServer;
using testing::make_spec;
using testing::ProbeHarness;

constexpr std::chrono::milliseconds kShortTimeout{300};

ParamMap query(const DnsTestServer& server, std::string name, std::string record = "A") {
  return {{"server", "127.0.0.1"},
          {"port", server.port_text()},
          {"name", std::move(name)},
          {"record", std::move(record)}};
}

ParamMap with(ParamMap params, std::string key, ParamValue value) {
  params[std::move(key)] = std::move(value);
  return params;
}

std::vector<std::string> answers_of(const CheckResult& result) {
  if (!result.details.contains("answers")) return {};
  return result.details["answers"].get<std::vector<std::string>>();
}

void add_zone(DnsTestServer& server) {
  server.add("www.example.test. 60 IN A 192.0.2.1");
  server.add("www.example.test. 60 IN A 192.0.2.2");
  server.add("www.example.test. 60 IN AAAA 2001:DB8:0::1");
  server.add("example.test. 60 IN MX 10 Mail.Example.Test.");
  server.add("alias.example.test. 60 IN CNAME www.example.test.");
  server.add("example.test. 60 IN NS ns1.example.test.");
  server.add("example.test. 60 IN TXT \"hello world\" \" and more\"");
  server.add(
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 900 "
      "604800 300");
  server.add("1.2.0.192.in-addr.arpa. 60 IN PTR www.example.test.");
  server.add("_sip._tcp.example.test. 60 IN SRV 10 20 5060 sip.example.test.");
}

// --- validation -------------------------------------------------------------

TEST(DnsCheck, UsesPort53RecordAUdpAndRecursionByDefault) {
  auto prepared = checks::prepare_check(
      make_spec("dns", {{"server", "127.0.0.1"}, {"name", "www.example.test"}}));
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->check->target(), "www.example.test/A@127.0.0.1:53");

  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result = harness.run(make_spec(
      "dns",
      {{"server", "127.0.0.1"}, {"port", server.port_text()}, {"name", "www.example.test"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(answers_of(result), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(result.details["transport"], "udp");
  EXPECT_TRUE(server.last_query_rd());
  EXPECT_EQ(server.udp_queries(), 1);
  EXPECT_EQ(server.tcp_queries(), 0);
}

TEST(DnsCheck, AcceptsLowerCaseRecordTypeAndUnderscoreNames) {
  auto prepared = checks::prepare_check(make_spec(
      "dns",
      {{"server", "ns1.example.test"}, {"name", "_sip._tcp.example.test"}, {"record", "srv"}}));
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->check->target(), "_sip._tcp.example.test/SRV@ns1.example.test:53");
}

// --- answers ----------------------------------------------------------------

TEST(DnsCheck, RendersEveryRecordTypeInItsTextForm) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const struct {
    std::string name;
    std::string record;
    std::string answer;
  } cases[] = {
      {"www.example.test", "A", "192.0.2.1"},
      {"www.example.test", "AAAA", "2001:db8::1"},
      {"example.test", "MX", "10 mail.example.test."},
      {"alias.example.test", "CNAME", "www.example.test."},
      {"example.test", "NS", "ns1.example.test."},
      {"example.test", "TXT", "hello world and more"},
      {"example.test", "SOA",
       "ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 300"},
      {"1.2.0.192.in-addr.arpa", "PTR", "www.example.test."},
      {"_sip._tcp.example.test", "SRV", "10 20 5060 sip.example.test."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.record);
    const CheckResult result =
        harness.run(make_spec("dns", with(query(server, c.name, c.record), "expect", c.answer)));
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
    ASSERT_FALSE(answers_of(result).empty());
    EXPECT_EQ(answers_of(result).front(), c.answer);
  }
}

TEST(DnsCheck, ReportsRcodeAnswersAndQueryTimeInDetails) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.reason, "");
  EXPECT_EQ(result.details["rcode"], "NOERROR");
  EXPECT_EQ(result.details["answer_count"], 2);
  EXPECT_EQ(result.details["authoritative"].get<bool>(), true);
  EXPECT_EQ(result.details["transport"], "udp");
  EXPECT_EQ(result.details["truncated_retry"].get<bool>(), false);
  ASSERT_TRUE(result.details["query_time_ms"].is_number());
  EXPECT_GE(result.details["query_time_ms"].get<double>(), 0.0);
  EXPECT_LE(result.latency, result.timings.total);
  EXPECT_TRUE(result.timings.resolve.has_value());
  EXPECT_TRUE(result.timings.first_byte.has_value());
  EXPECT_EQ(result.target, "www.example.test/A@127.0.0.1:" + server.port_text());
}

TEST(DnsCheck, ReportsUpWhenEveryExpectedValueIsAmongTheAnswers) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult a =
      harness.run(make_spec("dns", with(query(server, "www.example.test"), "expect",
                                        std::vector<std::string>{"192.0.2.2", "192.0.2.1"})));
  EXPECT_EQ(a.status, CheckStatus::kUp) << a.error;
  // Names compare without regard to case or the trailing dot; numbers by value.
  const CheckResult mx = harness.run(make_spec(
      "dns", with(query(server, "example.test", "MX"), "expect", "010  MAIL.example.test")));
  EXPECT_EQ(mx.status, CheckStatus::kUp) << mx.error;
  const CheckResult aaaa = harness.run(make_spec(
      "dns", with(query(server, "www.example.test", "AAAA"), "expect", "2001:0db8:0:0::0001")));
  EXPECT_EQ(aaaa.status, CheckStatus::kUp) << aaaa.error;
}

TEST(DnsCheck, ReportsAnswerMismatchWhenAnExpectedValueIsMissing) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result = harness.run(
      make_spec("dns", with(query(server, "www.example.test"), "expect", "192.0.2.1, 192.0.2.9")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "answer_mismatch");
  EXPECT_EQ(result.error, "expected 192.0.2.9 not among the answers: 192.0.2.1, 192.0.2.2");
  EXPECT_EQ(result.details["missing"], nlohmann::json::array({"192.0.2.9"}));
  EXPECT_EQ(result.details["rcode"], "NOERROR");
}

TEST(DnsCheck, ReportsNxdomainForAnUnknownName) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result = harness.run(make_spec("dns", query(server, "nope.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "rcode_nxdomain");
  EXPECT_EQ(result.error, "server answered NXDOMAIN for nope.example.test A");
  EXPECT_EQ(result.details["rcode"], "NXDOMAIN");
  EXPECT_EQ(result.details["answers"], nlohmann::json::array());
}

TEST(DnsCheck, ReportsServfailRefusedAndOtherRcodesByName) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const struct {
    int rcode;
    std::string reason;
    std::string text;
  } cases[] = {
      {LDNS_RCODE_SERVFAIL, "rcode_servfail", "SERVFAIL"},
      {LDNS_RCODE_REFUSED, "rcode_refused", "REFUSED"},
      {LDNS_RCODE_NOTIMPL, "rcode_notimpl", "NOTIMPL"},
      {LDNS_RCODE_FORMERR, "rcode_formerr", "FORMERR"},
      {11, "rcode_11", "RCODE11"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    server.force_rcode(c.rcode);
    const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
    EXPECT_EQ(result.status, CheckStatus::kDown);
    EXPECT_EQ(result.reason, c.reason);
    EXPECT_EQ(result.details["rcode"], c.text);
  }
}

TEST(DnsCheck, ReportsNoAnswerWhenTheNameHasNoRecordOfThatType) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test", "MX")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "no_answer");
  EXPECT_EQ(result.error, "no MX record in the answer for www.example.test");
  EXPECT_EQ(result.details["rcode"], "NOERROR");
}

TEST(DnsCheck, SetsRecursionDesiredOnlyWhenAsked) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result =
      harness.run(make_spec("dns", with(query(server, "www.example.test"), "recursion", "false")));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_FALSE(server.last_query_rd());
}

// --- transports -------------------------------------------------------------

TEST(DnsCheck, RetriesOverTcpWhenUdpAnswerIsTruncated) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  const std::string part(200, 'x');
  server.add("big.example.test. 60 IN TXT \"" + part + "\" \"" + part + "\" \"" + part + "\"");
  const CheckResult result =
      harness.run(make_spec("dns", query(server, "big.example.test", "TXT")));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(answers_of(result), std::vector<std::string>{part + part + part});
  EXPECT_EQ(result.details["transport"], "tcp");
  EXPECT_EQ(result.details["truncated_retry"].get<bool>(), true);
  EXPECT_EQ(server.udp_queries(), 1);
  EXPECT_EQ(server.tcp_queries(), 1);
}

TEST(DnsCheck, UsesOnlyTcpWhenTransportIsTcp) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  const CheckResult result =
      harness.run(make_spec("dns", with(query(server, "example.test", "MX"), "transport", "tcp")));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["transport"], "tcp");
  EXPECT_EQ(result.details["truncated_retry"].get<bool>(), false);
  EXPECT_TRUE(result.timings.connect.has_value());
  EXPECT_EQ(server.udp_queries(), 0);
  EXPECT_EQ(server.tcp_queries(), 1);
}

TEST(DnsCheck, ReadsTcpAnswerDeliveredInSeveralPartialWrites) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  // One byte of the length prefix first, then the message in 7-byte pieces.
  server.split_tcp_writes(1, std::chrono::milliseconds(2));
  const CheckResult first =
      harness.run(make_spec("dns", with(query(server, "www.example.test"), "transport", "tcp")));
  EXPECT_EQ(first.status, CheckStatus::kUp) << first.error;
  EXPECT_EQ(answers_of(first), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  server.split_tcp_writes(7, std::chrono::milliseconds(2));
  const CheckResult second =
      harness.run(make_spec("dns", with(query(server, "example.test", "SOA"), "transport", "tcp")));
  EXPECT_EQ(second.status, CheckStatus::kUp) << second.error;
  EXPECT_EQ(answers_of(second).size(), 1u);
}

TEST(DnsCheck, ReportsConnectRefusedWhenNothingListensOnTcp) {
  ProbeHarness harness;
  const std::string port = std::to_string(netmon::testing::free_tcp_port());
  const CheckResult result = harness.run(make_spec(
      "dns", {{"server", "127.0.0.1"}, {"port", port}, {"name", "a.test"}, {"transport", "tcp"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connect_refused");
  EXPECT_EQ(result.details["transport"], "tcp");
}

TEST(DnsCheck, ReportsPortUnreachableWhenNothingListensOnUdp) {
  ProbeHarness harness;
  const std::string port = std::to_string(netmon::testing::free_udp_port());
  const CheckResult result =
      harness.run(make_spec("dns", {{"server", "127.0.0.1"}, {"port", port}, {"name", "a.test"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "port_unreachable");
  EXPECT_EQ(result.details["transport"], "udp");
}

TEST(DnsCheck, ReportsResolveFailedWhenServerNameDoesNotResolve) {
  // Inside a namespace with only loopback the system resolver's server is
  // unreachable: the lookup fails at once and no query leaves the machine.
  auto ns = testing::NetNamespace::create("dns-resolve");
  if (!ns) GTEST_FAIL() << ns.error().message;
  testing::EnterNetNamespace inside(**ns);
  ASSERT_TRUE(inside.ok());
  ProbeHarness harness;
  const CheckResult result = harness.run(make_spec(
      "dns", {{"server", "no-such-server.invalid"}, {"name", "a.test"}}, std::chrono::seconds(8)));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "resolve_failed");
}

// --- misbehaving servers ----------------------------------------------------

TEST(DnsCheck, TimesOutWhenServerIsSilent) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  server.set_mangler([](std::string_view, std::string, DnsTestServer::Transport) {
    return std::vector<std::string>{};
  });
  const CheckResult result =
      harness.run(make_spec("dns", query(server, "www.example.test"), kShortTimeout));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_EQ(server.udp_queries(), 1);
}

std::string with_other_id(std::string reply) {
  reply[0] = static_cast<char>(~reply[0]);
  return reply;
}

TEST(DnsCheck, IgnoresReplyWithWrongIdAndTakesTheRightOne) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  server.set_mangler([](std::string_view, std::string reply, DnsTestServer::Transport) {
    // A stranger's datagrams first: if they were taken, the result would be bad_reply.
    return std::vector<std::string>{with_other_id(reply).substr(0, 12) + "garbage", "\x01", reply};
  });
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(answers_of(result).size(), 2u);
}

TEST(DnsCheck, TimesOutWhenOnlyRepliesWithWrongIdCome) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  server.set_mangler([](std::string_view, std::string reply, DnsTestServer::Transport) {
    return std::vector<std::string>{with_other_id(reply)};
  });
  const CheckResult result =
      harness.run(make_spec("dns", query(server, "www.example.test"), kShortTimeout));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
}

TEST(DnsCheck, ReportsBadReplyOnGarbage) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  server.set_mangler([](std::string_view query, std::string, DnsTestServer::Transport) {
    // Our id, then bytes that do not parse as a DNS message.
    return std::vector<std::string>{std::string(query.substr(0, 2)) + "\x81\x80garbage garbage"};
  });
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error.rfind("unparseable reply: ", 0), 0u) << result.error;
}

TEST(DnsCheck, ReportsBadReplyOnDatagramShorterThanAHeader) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  server.set_mangler([](std::string_view query, std::string, DnsTestServer::Transport) {
    return std::vector<std::string>{std::string(query.substr(0, 2)) + "abc"};
  });
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply of 5 bytes is shorter than a DNS header");
}

TEST(DnsCheck, ReportsBadReplyWhenReplyAnswersAnotherQuestion) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  server.set_mangler([](std::string_view, std::string reply, DnsTestServer::Transport) {
    reply[13] = 'x';  // first letter of the question name: www -> xww
    return std::vector<std::string>{reply};
  });
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply is for a different question than www.example.test A");
}

TEST(DnsCheck, ReportsBadReplyWhenServerEchoesTheQuery) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  server.set_mangler([](std::string_view query, std::string, DnsTestServer::Transport) {
    return std::vector<std::string>{std::string(query)};
  });
  const CheckResult result = harness.run(make_spec("dns", query(server, "www.example.test")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_EQ(result.error, "reply is a query, not a response (QR bit clear)");
}

TEST(DnsCheck, ReportsBadReplyWhenTcpReplyHasWrongId) {
  ProbeHarness harness;
  DnsTestServer server(harness.io());
  add_zone(server);
  server.set_mangler([](std::string_view, std::string reply, DnsTestServer::Transport) {
    return std::vector<std::string>{with_other_id(reply)};
  });
  const CheckResult result =
      harness.run(make_spec("dns", with(query(server, "www.example.test"), "transport", "tcp")));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
  EXPECT_NE(result.error.find("does not match query id"), std::string::npos) << result.error;
}

TEST(DnsCheck, ReportsConnectionClosedWhenTcpReplyIsCutShort) {
  ProbeHarness harness;
  asio::ip::tcp::acceptor acceptor(harness.io(), {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket peer(harness.io());
  std::array<std::uint8_t, 2> length{};
  std::string request;
  acceptor.async_accept(peer, [&](const std::error_code& ec) {
    if (ec) return;
    asio::async_read(peer, asio::buffer(length), [&](const std::error_code& e, std::size_t) {
      if (e) return;
      request.resize(length[0] << 8 | length[1]);
      asio::async_read(peer, asio::buffer(request), [&](const std::error_code& e2, std::size_t) {
        if (e2) return;
        // Announce 64 bytes, send 14, then end the stream.
        asio::write(peer, asio::buffer(std::string("\x00\x40", 2) + "only fourteen!"));
        peer.shutdown(asio::ip::tcp::socket::shutdown_send);
      });
    });
  });
  const CheckResult result =
      harness.run(make_spec("dns", {{"server", "127.0.0.1"},
                                    {"port", std::to_string(acceptor.local_endpoint().port())},
                                    {"name", "a.test"},
                                    {"transport", "tcp"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connection_closed");
  EXPECT_EQ(result.error, "tcp read: End of file after 14 of 64 reply bytes");
}

}  // namespace
}  // namespace netmon
