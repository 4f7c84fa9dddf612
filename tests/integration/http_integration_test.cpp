// netmon's http/https checks against a real nginx, compared with curl and
// openssl for the same URLs.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <string>

#include "tests/integration/integration_env.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon::integration {
namespace {

using netmon::testing::make_spec;
using netmon::testing::ProbeHarness;

constexpr auto kTimeout = std::chrono::seconds(5);
constexpr const char* kOkBody = "netmon integration ok";

std::string http_url(const std::string& path) {
  return "http://127.0.0.1:" + servers().http_port + path;
}

std::string https_url(const std::string& path) {
  return "https://127.0.0.1:" + servers().https_port + path;
}

// curl's view of the same URL: the HTTP status code ("000" when it got none).
std::string curl_status(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{"curl", "-s",           "-o",         "/dev/null",
                                "-w",   "%{http_code}", "--max-time", "5"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return run_tool(argv).out;
}

std::string curl_body_with(const std::string& url, std::vector<std::string> extra) {
  std::vector<std::string> argv{"curl", "-s", "--max-time", "5"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return run_tool(argv).out;
}

std::string curl_body(const std::string& url) {
  return curl_body_with(url, {});
}

CheckResult run_http(ProbeHarness& harness, const std::string& type, ParamMap params) {
  return harness.run(make_spec(type, std::move(params), kTimeout), std::chrono::seconds(10));
}

std::string status_code_of(const CheckResult& result) {
  const auto it = result.details.find("status_code");
  if (it == result.details.end() || !it->is_number_integer()) return "none";
  return std::to_string(it->get<int>());
}

TEST(HttpIntegration, StatusCodesMatchCurlForOkNotFoundAndServerError) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  for (const std::string path : {"/ok", "/missing", "/error"}) {
    SCOPED_TRACE(path);
    const std::string curl = curl_status(http_url(path));
    const CheckResult result = run_http(harness, "http", {{"url", http_url(path)}});
    EXPECT_EQ(status_code_of(result), curl) << result.details.dump();
    // Default expect_status is 200-399: only /ok is up.
    if (curl == "200") {
      EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
    } else {
      EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
      EXPECT_EQ(result.reason, "status_mismatch");
    }
  }
}

TEST(HttpIntegration, ExpectedStatusListAcceptsWhatCurlSees) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  ASSERT_EQ(curl_status(http_url("/missing")), "404");
  const CheckResult result =
      run_http(harness, "http", {{"url", http_url("/missing")}, {"expect_status", "404"}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(status_code_of(result), "404");
}

TEST(HttpIntegration, BodyRulesAgreeWithTheBodyCurlDownloads) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const std::string body = curl_body(http_url("/ok"));
  ASSERT_NE(body.find(kOkBody), std::string::npos) << body;

  const CheckResult contains =
      run_http(harness, "http", {{"url", http_url("/ok")}, {"body_contains", kOkBody}});
  EXPECT_EQ(contains.status, CheckStatus::kUp) << contains.error;

  const CheckResult missing =
      run_http(harness, "http", {{"url", http_url("/ok")}, {"body_contains", "not in the body"}});
  EXPECT_EQ(missing.status, CheckStatus::kDown);
  EXPECT_EQ(missing.reason, "body_mismatch");

  const CheckResult forbidden =
      run_http(harness, "http", {{"url", http_url("/ok")}, {"body_not_contains", kOkBody}});
  EXPECT_EQ(forbidden.status, CheckStatus::kDown);
  EXPECT_EQ(forbidden.reason, "body_forbidden");
}

TEST(HttpIntegration, RedirectIsReportedLikeCurlWithoutFollowing) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  for (const std::string path : {"/found", "/moved"}) {
    SCOPED_TRACE(path);
    const std::string curl = curl_status(http_url(path));
    ASSERT_TRUE(curl == "301" || curl == "302") << curl;
    const CheckResult result =
        run_http(harness, "http", {{"url", http_url(path)}, {"follow_redirects", "false"}});
    EXPECT_EQ(status_code_of(result), curl) << result.details.dump();
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;  // 3xx is in 200-399
  }
}

TEST(HttpIntegration, RedirectIsFollowedLikeCurlLocation) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  for (const std::string path : {"/found", "/moved"}) {
    SCOPED_TRACE(path);
    const std::string curl = curl_status(http_url(path), {"-L"});
    ASSERT_EQ(curl, "200");
    const CheckResult result = run_http(
        harness, "http",
        {{"url", http_url(path)}, {"follow_redirects", "true"}, {"body_contains", kOkBody}});
    EXPECT_EQ(status_code_of(result), curl) << result.details.dump();
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  }
}

TEST(HttpIntegration, RedirectLoopFailsLikeCurlAfterTheSameNumberOfRedirects) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  for (const std::string max : {"2", "5"}) {
    SCOPED_TRACE("max_redirects " + max);
    const ToolOutput curl =
        run_tool({"curl", "-s", "-L", "--max-redirs", max, "--max-time", "5", "-o", "/dev/null",
                  "-w", "%{num_redirects}", http_url("/loop")});
    ASSERT_EQ(curl.exit_code, 47);  // CURLE_TOO_MANY_REDIRECTS
    const CheckResult result = run_http(
        harness, "http",
        {{"url", http_url("/loop")}, {"follow_redirects", "true"}, {"max_redirects", max}});
    EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
    EXPECT_EQ(result.reason, "too_many_redirects");
    EXPECT_EQ(std::to_string(result.details.value("redirects", -1)), curl.out)
        << result.details.dump();
  }
}

TEST(HttpIntegration, HttpsWithoutVerificationMatchesCurlInsecure) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const std::string curl = curl_status(https_url("/ok"), {"-k"});
  ASSERT_EQ(curl, "200");
  const CheckResult result =
      run_http(harness, "https",
               {{"url", https_url("/ok")}, {"verify_tls", "false"}, {"body_contains", kOkBody}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(status_code_of(result), curl);
  EXPECT_TRUE(result.timings.tls.has_value());
}

TEST(HttpIntegration, HttpsVerificationRejectsTheSelfSignedCertificateLikeCurl) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const ToolOutput curl =
      run_tool({"curl", "-s", "--max-time", "5", "-o", "/dev/null", https_url("/ok")});
  ASSERT_EQ(curl.exit_code, 60);  // CURLE_PEER_FAILED_VERIFICATION
  const CheckResult result = run_http(harness, "https", {{"url", https_url("/ok")}});
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
  EXPECT_EQ(result.reason, "cert_invalid");
}

TEST(HttpIntegration, HttpsVerificationRejectsACertificateForAnotherNameLikeCurl) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  // nginx serves the same certificate (for 127.0.0.1 and localhost) on 127.0.0.2.
  const std::string url = "https://127.0.0.2:" + servers().https_port + "/ok";
  const ToolOutput curl = run_tool(
      {"curl", "-s", "--max-time", "5", "-o", "/dev/null", "--cacert", servers().ca_file, url});
  ASSERT_EQ(curl.exit_code, 60);  // CURLE_PEER_FAILED_VERIFICATION: name mismatch
  const CheckResult result =
      run_http(harness, "https", {{"url", url}, {"ca_file", servers().ca_file}});
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
  EXPECT_EQ(result.reason, "cert_invalid");
}

TEST(HttpIntegration, HttpsVerificationAcceptsTheCertificateAsCaFileLikeCurlCacert) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const std::string curl = curl_status(https_url("/ok"), {"--cacert", servers().ca_file});
  ASSERT_EQ(curl, "200");
  const CheckResult result =
      run_http(harness, "https",
               {{"url", https_url("/ok")}, {"verify_tls", "true"}, {"ca_file", servers().ca_file}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(status_code_of(result), curl);
}

// curl -w's figures for the same transfer, by curl's own variable names.
std::map<std::string, std::string> curl_write_out(const std::string& url,
                                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "--max-time",
      "5",
      "-w",
      "http_code=%{http_code}\nnum_redirects=%{num_redirects}\nurl_effective=%{url_effective}\n"
      "size_download=%{size_download}\nhttp_version=%{http_version}\n"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  std::map<std::string, std::string> values;
  for (const std::string& line : lines_of(run_tool(argv).out)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

TEST(HttpIntegration, TransferFiguresMatchCurlWriteOut) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  struct Case {
    std::string url;
    bool follow;
  };
  const Case cases[] = {{http_url("/ok"), false},   {http_url("/found"), true},
                        {http_url("/moved"), true}, {http_url("/found"), false},
                        {https_url("/ok"), false},  {https_url("/found"), true}};
  for (const auto& [url, follow] : cases) {
    SCOPED_TRACE(url + (follow ? " following redirects" : ""));
    std::vector<std::string> extra{"--cacert", servers().ca_file};
    if (follow) extra.emplace_back("-L");
    auto curl = curl_write_out(url, extra);
    ASSERT_FALSE(curl["http_code"].empty());
    const CheckResult result = run_http(harness, url.rfind("https", 0) == 0 ? "https" : "http",
                                        {{"url", url},
                                         {"ca_file", servers().ca_file},
                                         {"follow_redirects", follow ? "true" : "false"}});
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
    const auto& d = result.details;
    EXPECT_EQ(status_code_of(result), curl["http_code"]) << d.dump();
    EXPECT_EQ(std::to_string(d.value("redirects", -1)), curl["num_redirects"]) << d.dump();
    EXPECT_EQ(d.value("effective_url", ""), curl["url_effective"]) << d.dump();
    EXPECT_EQ(std::to_string(d.value("bytes", -1)), curl["size_download"]) << d.dump();
    EXPECT_EQ(d.value("http_version", ""), curl["http_version"]) << d.dump();
  }
}

TEST(HttpIntegration, MethodAndHeadersReachNginxLikeCurlSendsThem) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  // /echo answers with the request method and the X-Netmon header it received.
  const std::string curl_get = curl_body_with(http_url("/echo"), {"-H", "X-Netmon: hello"});
  ASSERT_EQ(curl_get, "method=GET x-netmon=hello\n");
  const CheckResult get = run_http(harness, "http",
                                   {{"url", http_url("/echo")},
                                    {"headers", "X-Netmon: hello"},
                                    {"body_contains", curl_get.substr(0, curl_get.size() - 1)}});
  EXPECT_EQ(get.status, CheckStatus::kUp) << get.error;

  const std::string curl_post = curl_body_with(http_url("/echo"), {"-X", "POST"});
  ASSERT_EQ(curl_post, "method=POST x-netmon=\n");
  const CheckResult post = run_http(harness, "http",
                                    {{"url", http_url("/echo")},
                                     {"method", "POST"},
                                     {"body_contains", curl_post.substr(0, curl_post.size() - 1)}});
  EXPECT_EQ(post.status, CheckStatus::kUp) << post.error;
}

TEST(HttpIntegration, HeadRequestMatchesCurlHead) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  auto curl = curl_write_out(http_url("/ok"), {"-I"});
  ASSERT_EQ(curl["http_code"], "200");
  const CheckResult result =
      run_http(harness, "http", {{"url", http_url("/ok")}, {"method", "HEAD"}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(status_code_of(result), curl["http_code"]);
  EXPECT_EQ(std::to_string(result.details.value("bytes", -1)), curl["size_download"])
      << result.details.dump();
}

// notAfter of the certificate as openssl reports it, in seconds since the epoch.
std::optional<std::time_t> openssl_not_after(const std::string& cert) {
  const ToolOutput out = run_tool({"openssl", "x509", "-enddate", "-noout", "-in", cert});
  // notAfter=Dec 21 04:44:45 2026 GMT
  const std::string prefix = "notAfter=";
  if (out.exit_code != 0 || out.out.rfind(prefix, 0) != 0) return std::nullopt;
  std::tm tm{};
  if (strptime(out.out.c_str() + prefix.size(), "%b %d %H:%M:%S %Y GMT", &tm) == nullptr) {
    return std::nullopt;
  }
  return timegm(&tm);
}

TEST(HttpIntegration, CertificateExpiryMatchesOpensslEnddate) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const auto not_after = openssl_not_after(servers().ca_file);
  ASSERT_TRUE(not_after.has_value());
  // Days left by openssl's notAfter, fractional, at the start of `now`'s second.
  const auto openssl_days = [&](std::time_t now) {
    return std::difftime(*not_after, now) / 86400.0;
  };
  ASSERT_GT(openssl_days(std::time(nullptr)), 29.0);  // servers.sh uses -days 30
  for (const std::string verify : {"true", "false"}) {
    SCOPED_TRACE("verify_tls=" + verify);
    const std::time_t before = std::time(nullptr);
    const CheckResult result = run_http(
        harness, "https",
        {{"url", https_url("/ok")}, {"ca_file", servers().ca_file}, {"verify_tls", verify}});
    ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
    EXPECT_EQ(result.details.value("cert_not_after", ""),
              format_timestamp(std::chrono::system_clock::from_time_t(*not_after)))
        << result.details.dump();
    const auto days = result.details.find("cert_days_left");
    ASSERT_NE(days, result.details.end()) << result.details.dump();
    ASSERT_TRUE(days->is_number()) << result.details.dump();
    // netmon counts whole days left (floor) at some instant during the run;
    // `time` has whole seconds, so allow one more second after the run.
    const std::time_t after = std::time(nullptr) + 1;
    EXPECT_LE(days->get<double>(), std::floor(openssl_days(before)))
        << "netmon " << days->dump() << " openssl " << openssl_days(before);
    EXPECT_GE(days->get<double>(), std::floor(openssl_days(after)))
        << "netmon " << days->dump() << " openssl " << openssl_days(after);
  }
}

TEST(HttpIntegration, MinCertDaysAgreesWithOpensslCheckend) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  // openssl x509 -checkend N exits 1 when the certificate expires within N seconds.
  const auto checkend = [](int days) {
    return run_tool({"openssl", "x509", "-checkend", std::to_string(days * 86400), "-noout", "-in",
                     servers().ca_file})
        .exit_code;
  };
  // The certificate has just under 30 days left (-days 30); 30 itself is
  // left out, as within its first second openssl still counts exactly 30.
  for (const int days : {20, 29, 31, 60}) {
    SCOPED_TRACE("min_cert_days " + std::to_string(days));
    const int openssl = checkend(days);
    ASSERT_TRUE(openssl == 0 || openssl == 1);
    const CheckResult result = run_http(harness, "https",
                                        {{"url", https_url("/ok")},
                                         {"ca_file", servers().ca_file},
                                         {"min_cert_days", std::to_string(days)}});
    if (openssl == 0) {
      EXPECT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
    } else {
      EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
      EXPECT_EQ(result.reason, "cert_expiring");
    }
  }
  EXPECT_EQ(checkend(29), 0);
  EXPECT_EQ(checkend(31), 1);
}

}  // namespace
}  // namespace netmon::integration
