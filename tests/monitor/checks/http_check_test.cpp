#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <optional>

#include "monitor/checks/check_registry.hpp"
#include "monitor/checks/check_runner.hpp"
#include "monitor/checks/net/curl_multi.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/test_certificate.hpp"

namespace netmon {
namespace {

using namespace std::chrono_literals;
using testing::HttpReply;
using testing::HttpTestServer;
using testing::make_spec;
using testing::ProbeHarness;
using testing::TestCertificate;

// A port on 127.0.0.1 that nothing listens on: below the ephemeral range,
// so no port-0 bind of a test running beside this one can take it meanwhile.
std::string closed_port() {
  return std::to_string(netmon::testing::free_tcp_port());
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// ---- validation -------------------------------------------------------------

TEST(HttpCheck, AcceptsSingleHeaderStringWithCommas) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, "ok"));
  const CheckResult result = harness.run(make_spec(
      "http", {{"url", server.url()}, {"headers", "Accept: text/html, application/json"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(contains(server.requests()[0], "\r\nAccept: text/html, application/json\r\n"))
      << server.requests()[0];
}

// ---- runs against a loopback server ------------------------------------------

TEST(HttpCheck, ReportsUpWithStatusBytesAndTimings) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/health", HttpReply::make(200, "hello"));
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url("/health")}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.target, server.url("/health"));
  EXPECT_EQ(result.details["status_code"], 200);
  EXPECT_EQ(result.details["bytes"], 5);
  EXPECT_EQ(result.details["http_version"], "1.1");
  EXPECT_EQ(result.details["redirects"], 0);
  EXPECT_EQ(result.details["effective_url"], server.url("/health"));
  EXPECT_FALSE(result.details.contains("cert_days_left"));
  ASSERT_TRUE(result.timings.resolve && result.timings.connect && result.timings.first_byte);
  EXPECT_FALSE(result.timings.tls.has_value());
  EXPECT_LE(*result.timings.resolve, *result.timings.connect);
  EXPECT_LE(*result.timings.connect, *result.timings.first_byte);
  EXPECT_LE(*result.timings.first_byte, result.timings.total);
  EXPECT_EQ(result.latency, result.timings.total);
}

TEST(HttpCheck, DefaultsAreGetWithStatus200To399AndNoRedirects) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::redirect("/elsewhere"));
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url()}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["status_code"], 302);
  EXPECT_EQ(result.details["redirects"], 0);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].starts_with("GET / HTTP/1.1\r\n")) << server.requests()[0];
  EXPECT_TRUE(contains(server.requests()[0], "User-Agent: netmon/"));
}

TEST(HttpCheck, ReportsStatusMismatchFor404ByDefault) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url("/missing")}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "status_mismatch");
  EXPECT_EQ(result.error, "status 404 is not in expect_status 200-399");
  EXPECT_EQ(result.details["status_code"], 404);
}

TEST(HttpCheck, AcceptsStatusInsideExpectedRange) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(503, "busy"));
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"expect_status", "204,500-503"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["status_code"], 503);
}

TEST(HttpCheck, ReportsStatusMismatchOutsideExpectedList) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  const CheckResult result = harness.run(make_spec(
      "http",
      {{"url", server.url("/x")}, {"expect_status", std::vector<std::string>{"200", "500-503"}}}));
  EXPECT_EQ(result.reason, "status_mismatch");
  EXPECT_EQ(result.error, "status 404 is not in expect_status 200,500-503");
}

TEST(HttpCheck, ReportsUpWhenBodyContainsRequiredText) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, "status: all systems go"));
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_contains", "systems go"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
}

TEST(HttpCheck, ReportsBodyMismatchWhenRequiredTextIsMissing) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, "status: degraded"));
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_contains", "systems go"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "body_mismatch");
  EXPECT_EQ(result.error, "body does not contain 'systems go'");
}

TEST(HttpCheck, ReportsBodyForbiddenWhenForbiddenTextIsPresent) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, "<h1>Maintenance</h1>"));
  const CheckResult up_run =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_not_contains", "Error"}}));
  EXPECT_EQ(up_run.status, CheckStatus::kUp) << up_run.error;
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_not_contains", "Maintenance"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "body_forbidden");
  EXPECT_EQ(result.error, "body contains 'Maintenance'");
}

TEST(HttpCheck, MatchesBodyOnlyInTheFirstMebibyteButCountsEveryByte) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  std::string body(3 * 1024 * 1024, 'a');
  body.replace(2 * 1024 * 1024, 6, "SECRET");
  server.reply("/", HttpReply::make(200, body));
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_not_contains", "SECRET"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["bytes"], body.size());
}

TEST(HttpCheck, FollowsRedirectWhenAsked) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/old", HttpReply::redirect("/new", 301));
  server.reply("/new", HttpReply::make(200, "moved here"));
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url("/old")},
                                                            {"follow_redirects", "true"},
                                                            {"expect_status", "200"},
                                                            {"body_contains", "moved here"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["status_code"], 200);
  EXPECT_EQ(result.details["redirects"], 1);
  EXPECT_EQ(result.details["effective_url"], server.url("/new"));
}

TEST(HttpCheck, DoesNotFollowRedirectUnlessAsked) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/old", HttpReply::redirect("/new", 301));
  server.reply("/new", HttpReply::make(200, "moved here"));
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url("/old")}, {"expect_status", "200"}}));
  EXPECT_EQ(result.reason, "status_mismatch");
  EXPECT_EQ(result.details["status_code"], 301);
  EXPECT_EQ(result.details["redirects"], 0);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpCheck, ReportsTooManyRedirects) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/loop", HttpReply::redirect("/loop"));
  const CheckResult result = harness.run(make_spec(
      "http", {{"url", server.url("/loop")}, {"follow_redirects", "yes"}, {"max_redirects", "2"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "too_many_redirects");
  EXPECT_EQ(server.requests().size(), 3u);  // the first request and two redirects
}

TEST(HttpCheck, SendsMethodAndHeaders) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  const CheckResult result = harness.run(make_spec(
      "http", {{"url", server.url("/api?x=1")},
               {"method", "DELETE"},
               {"headers", std::vector<std::string>{"X-Probe: netmon", "Host: example.test"}},
               {"expect_status", "404"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string& request = server.requests()[0];
  EXPECT_TRUE(request.starts_with("DELETE /api?x=1 HTTP/1.1\r\n")) << request;
  EXPECT_TRUE(contains(request, "\r\nX-Probe: netmon\r\n")) << request;
  EXPECT_TRUE(contains(request, "\r\nHost: example.test\r\n")) << request;
}

TEST(HttpCheck, SendsHeadAndPostRequests) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, ""));
  EXPECT_EQ(harness.run(make_spec("http", {{"url", server.url()}, {"method", "HEAD"}})).status,
            CheckStatus::kUp);
  EXPECT_EQ(harness.run(make_spec("http", {{"url", server.url()}, {"method", "POST"}})).status,
            CheckStatus::kUp);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_TRUE(server.requests()[0].starts_with("HEAD / HTTP/1.1\r\n"));
  EXPECT_TRUE(server.requests()[1].starts_with("POST / HTTP/1.1\r\n"));
  EXPECT_TRUE(contains(server.requests()[1], "\r\nContent-Length: 0\r\n"));
}

TEST(HttpCheck, OpensAFreshConnectionEveryRun) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  for (int i = 0; i < 3; ++i) {
    const CheckResult result =
        harness.run(make_spec("http", {{"url", server.url()}, {"expect_status", "404"}}));
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
    EXPECT_TRUE(result.timings.connect.has_value());
  }
  EXPECT_EQ(server.connections(), 3u);
}

TEST(HttpCheck, ReportsConnectRefused) {
  ProbeHarness harness;
  const CheckResult result =
      harness.run(make_spec("http", {{"url", "http://127.0.0.1:" + closed_port() + "/"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "connect_refused");
  EXPECT_FALSE(result.error.empty());
}

// Lowers the soft descriptor limit to the lowest free descriptor, so nothing
// new can be opened, and restores it when it goes.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &saved_), 0);
    const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(lowest_free, 0);
    ::close(lowest_free);
    rlimit none = saved_;
    none.rlim_cur = static_cast<rlim_t>(lowest_free);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  }
  ~NoFreeDescriptors() { setrlimit(RLIMIT_NOFILE, &saved_); }
  NoFreeDescriptors(const NoFreeDescriptors&) = delete;
  NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;

 private:
  rlimit saved_{};
};

TEST(HttpCheck, ReportsCurlUnavailableWhenTheLoopCannotOpenItsMultiHandle) {
  const CheckSpec spec = make_spec("http", {{"url", "http://127.0.0.1:" + closed_port() + "/"}});
  ProbeHarness warm_up;  // curl's global state exists before the limit comes down
  ASSERT_EQ(warm_up.run(spec).reason, "connect_refused");
  ProbeHarness harness;  // a loop without a multi handle yet
  ASSERT_EQ(harness.run(make_spec("tcp", {{"host", "127.0.0.1"}, {"port", closed_port()}})).reason,
            "connect_refused");

  CheckResult starved;
  {
    const NoFreeDescriptors limit;
    starved = harness.run(spec);
  }
  EXPECT_EQ(starved.status, CheckStatus::kError);
  EXPECT_EQ(starved.reason, "curl_unavailable");
  EXPECT_TRUE(contains(starved.error, "epoll_create1")) << starved.error;
  // The failure is not kept: with descriptors back the next run opens the multi.
  EXPECT_EQ(harness.run(spec).reason, "connect_refused");
}

TEST(HttpCheck, ReportsTimeoutWhenServerAcceptsAndNeverAnswers) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.silent("/");
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url()}}, 300ms));
  EXPECT_EQ(result.status, CheckStatus::kTimeout);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_TRUE(result.timings.connect.has_value()) << "connect is recorded as it happens";
  EXPECT_FALSE(result.timings.first_byte.has_value());
  EXPECT_TRUE(contains(result.error, "last phase reached: connect")) << result.error;
}

TEST(HttpCheck, CancelledRunLeavesTheSharedMultiHandleClean) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.silent("/hang");
  EXPECT_EQ(harness.run(make_spec("http", {{"url", server.url("/hang")}}, 200ms)).status,
            CheckStatus::kTimeout);
  EXPECT_EQ(harness.env().open_shared<checks::CurlMulti>().value()->running(), 0u);
  const CheckResult next =
      harness.run(make_spec("http", {{"url", server.url("/ok")}, {"expect_status", "404"}}));
  EXPECT_EQ(next.status, CheckStatus::kUp) << next.error;
  EXPECT_EQ(harness.env().open_shared<checks::CurlMulti>().value()->running(), 0u);
}

TEST(HttpCheck, ReportsBadReplyForNonHttpBytes) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::garbage("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url()}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
}

TEST(HttpCheck, ReportsBadReplyWhenServerClosesWithoutReplying) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::garbage(""));
  const CheckResult result = harness.run(make_spec("http", {{"url", server.url()}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "bad_reply");
}

TEST(HttpCheck, ReadsReplySplitIntoManySmallWrites) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, "first part, then the needle, then the rest"));
  server.split_writes(7, 1ms);
  const CheckResult result =
      harness.run(make_spec("http", {{"url", server.url()}, {"body_contains", "the needle"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["bytes"], 42);
}

TEST(HttpCheck, ResolvesHostNamesWithoutBlockingTheLoop) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  const std::string url = "http://localhost:" + std::to_string(server.port()) + "/";
  const CheckResult result =
      harness.run(make_spec("http", {{"url", url}, {"expect_status", "404"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_TRUE(result.timings.resolve.has_value());
  EXPECT_EQ(harness.env().resolver().lookups(), 1u);
}

TEST(HttpCheck, RunsManyTransfersAtOnceOnOneMultiHandle) {
  ProbeHarness harness;
  HttpTestServer server(harness.io());
  server.reply("/", HttpReply::make(200, std::string(20000, 'x')));
  auto prepared = checks::prepare_check(make_spec("http", {{"url", server.url()}}));
  ASSERT_TRUE(prepared);
  checks::CheckRunner runner(harness.env());
  constexpr int kRuns = 64;
  int up = 0;
  int finished = 0;
  for (int i = 0; i < kRuns; ++i) {
    runner.run(*prepared, [&](CheckResult result) {
      ++finished;
      if (result.status == CheckStatus::kUp && result.details["bytes"] == 20000) ++up;
    });
  }
  ASSERT_TRUE(harness.run_until([&] { return finished == kRuns; }));
  EXPECT_EQ(up, kRuns);
  EXPECT_EQ(server.connections(), static_cast<std::size_t>(kRuns));
}

// ---- https -------------------------------------------------------------------

class HttpsCheck : public ::testing::Test {
 protected:
  explicit HttpsCheck(std::chrono::seconds valid_for = std::chrono::days(365))
      : certificate_(valid_for), tls_(certificate_.server_context()), server_(harness_.io(), tls_) {
    server_.reply("/", HttpReply::make(200, "secure"));
  }

  ProbeHarness harness_;
  TestCertificate certificate_;
  asio::ssl::context tls_;
  HttpTestServer server_;
};

TEST_F(HttpsCheck, RejectsSelfSignedCertificateByDefault) {
  const CheckResult result = harness_.run(make_spec("https", {{"url", server_.url()}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "cert_invalid");
  EXPECT_TRUE(result.timings.connect.has_value());
}

TEST_F(HttpsCheck, TrustsCertificateFromCaFile) {
  const CheckResult result = harness_.run(make_spec(
      "https",
      {{"url", server_.url()}, {"ca_file", certificate_.cert_file()}, {"min_cert_days", "30"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details["status_code"], 200);
  const long days_left = result.details.value("cert_days_left", -1000L);
  EXPECT_TRUE(days_left == 364 || days_left == 365) << result.details.dump();
  EXPECT_TRUE(result.details.contains("cert_not_after"));
  ASSERT_TRUE(result.timings.connect && result.timings.tls && result.timings.first_byte);
  EXPECT_LE(*result.timings.connect, *result.timings.tls);
  EXPECT_LE(*result.timings.tls, *result.timings.first_byte);
}

TEST_F(HttpsCheck, AcceptsSelfSignedCertificateWithoutVerification) {
  const CheckResult result =
      harness_.run(make_spec("https", {{"url", server_.url()}, {"verify_tls", "false"}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_TRUE(result.details.contains("cert_days_left"));
}

TEST_F(HttpsCheck, ReportsTlsFailedWhenServerSpeaksPlainHttp) {
  // Like a plain HTTP server that answers a TLS hello with "400 Bad Request".
  asio::ip::tcp::acceptor plain(harness_.io(), {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket peer(harness_.io());
  const std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  std::array<char, 512> hello{};
  plain.async_accept(peer, [&](const std::error_code& ec) {
    if (ec) return;
    peer.async_read_some(asio::buffer(hello), [&](const std::error_code& error, std::size_t) {
      if (!error) asio::write(peer, asio::buffer(reply));
    });
  });
  const std::string url =
      "https://127.0.0.1:" + std::to_string(plain.local_endpoint().port()) + "/";
  const CheckResult result = harness_.run(make_spec("https", {{"url", url}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "tls_failed");
  EXPECT_TRUE(result.timings.connect.has_value());
  EXPECT_FALSE(result.timings.tls.has_value());
}

TEST_F(HttpsCheck, PlainHttpCheckAgainstTlsServerIsBadReply) {
  const std::string url = "http://127.0.0.1:" + std::to_string(server_.port()) + "/";
  const CheckResult result = harness_.run(make_spec("http", {{"url", url}}, 1s));
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.error;
  EXPECT_EQ(result.reason, "bad_reply");
}

class HttpsCheckExpiringSoon : public HttpsCheck {
 protected:
  HttpsCheckExpiringSoon() : HttpsCheck(std::chrono::days(5)) {}
};

TEST_F(HttpsCheckExpiringSoon, ReportsCertExpiringBelowMinCertDays) {
  const CheckResult result = harness_.run(make_spec(
      "https",
      {{"url", server_.url()}, {"ca_file", certificate_.cert_file()}, {"min_cert_days", "30"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "cert_expiring");
  const long days_left = result.details.value("cert_days_left", -1000L);
  EXPECT_TRUE(days_left == 4 || days_left == 5) << result.details.dump();
  EXPECT_TRUE(contains(result.error, "below min_cert_days 30")) << result.error;
}

TEST_F(HttpsCheckExpiringSoon, IgnoresExpiryWhenMinCertDaysIsOff) {
  const CheckResult result = harness_.run(
      make_spec("https", {{"url", server_.url()}, {"ca_file", certificate_.cert_file()}}));
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
}

class HttpsCheckExpired : public HttpsCheck {
 protected:
  HttpsCheckExpired() : HttpsCheck(-std::chrono::days(2)) {}
};

TEST_F(HttpsCheckExpired, ReportsCertExpiredWhenVerifying) {
  const CheckResult result = harness_.run(
      make_spec("https", {{"url", server_.url()}, {"ca_file", certificate_.cert_file()}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "cert_expired");
}

TEST_F(HttpsCheckExpired, ReportsCertExpiredByDaysLeftWithoutVerification) {
  const CheckResult result = harness_.run(make_spec(
      "https", {{"url", server_.url()}, {"verify_tls", "false"}, {"min_cert_days", "1"}}));
  EXPECT_EQ(result.status, CheckStatus::kDown);
  EXPECT_EQ(result.reason, "cert_expired");
  EXPECT_LT(result.details.value("cert_days_left", 0L), 0);
}

}  // namespace
}  // namespace netmon
