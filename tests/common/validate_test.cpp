#include "common/validate.hpp"

#include <gtest/gtest.h>

namespace netmon {
namespace {

TEST(Validate, AcceptsHostNamesAndIpLiterals) {
  EXPECT_TRUE(is_hostname("example.com"));
  EXPECT_TRUE(is_hostname("a-b.example.com."));
  EXPECT_TRUE(is_hostname("localhost"));
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
}

TEST(Validate, RejectsBadHostNames) {
  EXPECT_FALSE(is_hostname(""));
  EXPECT_FALSE(is_hostname("-bad.example"));
  EXPECT_FALSE(is_hostname("bad-.example"));
  EXPECT_FALSE(is_hostname("two..dots"));
  EXPECT_FALSE(is_hostname("under_score.example"));
  EXPECT_FALSE(is_hostname("space here"));
  EXPECT_FALSE(is_hostname(std::string(64, 'a') + ".example"));
  EXPECT_FALSE(is_ip_literal("300.1.1.1"));
}

TEST(Validate, DnsNamesMayHoldUnderscores) {
  EXPECT_TRUE(is_dns_name("_sip._tcp.example.test"));
  EXPECT_TRUE(is_dns_name("."));
  EXPECT_FALSE(is_dns_name("a..b"));
}

TEST(Validate, ParsesHttpUrls) {
  auto url = parse_url("https://user@example.com:8443/a/b?c=d");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/a/b?c=d");

  auto v6 = parse_url("http://[::1]/");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 80);
}

TEST(Validate, RejectsUrlsWithOtherSchemes) {
  auto url = parse_url("ftp://example.com/");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().message,
            "url 'ftp://example.com/' has scheme 'ftp' (allowed: http, https)");
}

TEST(Validate, RejectsUrlsWithSpacesOrLineBreaks) {
  auto url = parse_url("http://example.com/a\r\nHost: evil");
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message.find("contains a space or control character"), std::string::npos);
  EXPECT_FALSE(parse_url("http://exa mple.com/"));
}

TEST(Validate, RejectsUrlPortOutOfRange) {
  auto url = parse_url("http://example.com:70000/");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().message,
            "url 'http://example.com:70000/' has port '70000' out of range 1..65535");
}

TEST(Validate, RejectsUrlWithoutHost) {
  EXPECT_FALSE(parse_url("http:///path"));
  EXPECT_FALSE(parse_url("example.com"));
}

TEST(Validate, DecodesPayloadEscapes) {
  EXPECT_EQ(*decode_escapes("PING\\r\\n"), "PING\r\n");
  EXPECT_EQ(*decode_escapes("a\\x41\\\\"), "aA\\");
  EXPECT_FALSE(decode_escapes("bad\\q"));
  EXPECT_FALSE(decode_escapes("short\\x4"));
  EXPECT_FALSE(decode_escapes("trailing\\"));
}

}  // namespace
}  // namespace netmon
