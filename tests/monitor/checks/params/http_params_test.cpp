// What the http parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

// The error text of a spec that must be refused.
std::string rejection(ParamMap params, std::string type = "http") {
  auto valid = checks::validate_check(make_spec(std::move(type), std::move(params)));
  EXPECT_FALSE(valid) << "the spec was accepted";
  return valid ? std::string() : valid.error().message;
}

TEST(HttpParams, RequiresUrl) {
  EXPECT_EQ(rejection({}), "check 't': url is required (an http:// or https:// URL)");
}

TEST(HttpParams, RejectsUrlWithOtherScheme) {
  EXPECT_EQ(rejection({{"url", "ftp://127.0.0.1/"}}),
            "check 't': url 'ftp://127.0.0.1/' has scheme 'ftp' (allowed: http, https)");
}

TEST(HttpParams, RejectsHttpsUrlForHttpType) {
  EXPECT_EQ(rejection({{"url", "https://127.0.0.1/"}}, "http"),
            "check 't': url 'https://127.0.0.1/' has scheme 'https' but the check type is 'http' "
            "(use an http:// URL, or type https)");
}

TEST(HttpParams, RejectsHttpUrlForHttpsType) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}}, "https"),
            "check 't': url 'http://127.0.0.1/' has scheme 'http' but the check type is 'https' "
            "(use an https:// URL, or type http)");
}

TEST(HttpParams, RejectsUrlWithSpace) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/a b"}}),
            "check 't': url 'http://127.0.0.1/a b' contains a space or control character "
            "(percent-encode it)");
}

TEST(HttpParams, RejectsUnknownMethod) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"method", "FETCH"}}),
            "check 't': method 'FETCH' is not allowed (allowed: GET, HEAD, POST, PUT, DELETE, "
            "OPTIONS, PATCH)");
}

TEST(HttpParams, RejectsHeaderWithoutColon) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"},
                       {"headers", std::vector<std::string>{"Accept: */*", "NoColon"}}}),
            "check 't': headers entry 'NoColon' is not 'Name: value'");
}

TEST(HttpParams, RejectsHeaderWithCrOrLf) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"},
                       {"headers", std::vector<std::string>{"X-A: 1\r\nX-B: 2"}}}),
            "check 't': headers entry 'X-A: 1\\r\\nX-B: 2' contains CR or LF (not allowed in a "
            "header)");
}

TEST(HttpParams, RejectsHeaderWithInvalidName) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"},
                       {"headers", std::vector<std::string>{"Bad Name: x"}}}),
            "check 't': headers entry 'Bad Name: x' has an invalid name 'Bad Name' (letters, "
            "digits and !#$%&'*+-.^_`|~ only)");
}

TEST(HttpParams, RejectsExpectStatusThatIsNotACode) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"expect_status", "2xx"}}),
            "check 't': expect_status '2xx' is not a status code or range (e.g. 200, 300-399)");
}

TEST(HttpParams, RejectsExpectStatusOutOfRange) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"expect_status", "200,600"}}),
            "check 't': expect_status '600' is out of range (allowed: 100..599)");
}

TEST(HttpParams, RejectsReversedExpectStatusRange) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"expect_status", "399-200"}}),
            "check 't': expect_status '399-200' is a reversed range (write 200-399)");
}

TEST(HttpParams, RejectsEmptyExpectStatus) {
  EXPECT_EQ(
      rejection({{"url", "http://127.0.0.1/"}, {"expect_status", std::vector<std::string>{}}}),
      "check 't': expect_status is empty (give codes or ranges, e.g. 200, 300-399)");
}

TEST(HttpParams, RejectsNonBooleanFollowRedirects) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"follow_redirects", "maybe"}}),
            "check 't': follow_redirects 'maybe' is not a boolean (allowed: true, false)");
}

TEST(HttpParams, RejectsMaxRedirectsOutOfRange) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"max_redirects", "51"}}),
            "check 't': max_redirects 51 out of range 0..50");
}

TEST(HttpParams, RejectsNonBooleanVerifyTls) {
  EXPECT_EQ(rejection({{"url", "https://127.0.0.1/"}, {"verify_tls", "sometimes"}}, "https"),
            "check 't': verify_tls 'sometimes' is not a boolean (allowed: true, false)");
}

TEST(HttpParams, RejectsCaFileThatDoesNotExist) {
  EXPECT_EQ(rejection({{"url", "https://127.0.0.1/"}, {"ca_file", "/nonexistent/ca.pem"}}, "https"),
            "check 't': ca_file '/nonexistent/ca.pem' does not exist or is not a file (give a PEM "
            "file of trusted certificates)");
}

TEST(HttpParams, RejectsMinCertDaysOutOfRange) {
  EXPECT_EQ(rejection({{"url", "https://127.0.0.1/"}, {"min_cert_days", "-1"}}, "https"),
            "check 't': min_cert_days -1 out of range 0..3650");
}

TEST(HttpParams, RejectsBodyMatchWithHeadMethod) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"method", "HEAD"}, {"body_contains", "ok"}}),
            "check 't': body_contains cannot be used with method HEAD (a HEAD reply has no body)");
}

TEST(HttpParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"url", "http://127.0.0.1/"}, {"expect", "200"}}),
            "check 't': unknown parameter 'expect' for type 'http' (allowed: body_contains, "
            "body_not_contains, ca_file, expect_status, follow_redirects, headers, max_redirects, "
            "method, min_cert_days, url, verify_tls)");
}

}  // namespace
}  // namespace netmon
