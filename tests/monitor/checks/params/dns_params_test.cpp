// What the dns parameters reject and with which text, through
// checks::validate_check (what the manager runs on its config file).
#include <gtest/gtest.h>

#include <string>

#include "monitor/checks/params/check_params.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon {
namespace {

using testing::make_spec;

std::string rejection(ParamMap params) {
  auto result = checks::validate_check(make_spec("dns", std::move(params)));
  if (result) return "accepted";
  return result.error().message;
}

TEST(DnsParams, RequiresServer) {
  EXPECT_EQ(rejection({{"name", "www.example.test"}}),
            "check 't': server is required (a host name or IP address)");
}

TEST(DnsParams, RejectsInvalidServer) {
  EXPECT_EQ(rejection({{"server", "bad_host!"}, {"name", "www.example.test"}}),
            "check 't': server 'bad_host!' is not a valid host name or IP address");
}

TEST(DnsParams, RejectsPortOutOfRange) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"port", "0"}, {"name", "www.example.test"}}),
            "check 't': port 0 out of range 1..65535");
}

TEST(DnsParams, RequiresName) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}}),
            "check 't': name is required (a DNS name, e.g. www.example.com)");
}

TEST(DnsParams, RejectsInvalidName) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"name", "bad name"}}),
            "check 't': name 'bad name' is not a valid DNS name (letters, digits, '-', '_', "
            "dot-separated labels)");
}

TEST(DnsParams, RejectsUnsupportedRecordType) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"name", "www.example.test"}, {"record", "XYZ"}}),
            "check 't': record 'XYZ' is not allowed (allowed: A, AAAA, MX, CNAME, NS, TXT, SOA, "
            "PTR, SRV)");
}

TEST(DnsParams, RejectsUnknownTransport) {
  EXPECT_EQ(
      rejection({{"server", "127.0.0.1"}, {"name", "www.example.test"}, {"transport", "sctp"}}),
      "check 't': transport 'sctp' is not allowed (allowed: udp, tcp)");
}

TEST(DnsParams, RejectsNonBooleanRecursion) {
  EXPECT_EQ(
      rejection({{"server", "127.0.0.1"}, {"name", "www.example.test"}, {"recursion", "maybe"}}),
      "check 't': recursion 'maybe' is not a boolean (allowed: true, false)");
}

TEST(DnsParams, RejectsExpectedValuesThatDoNotFitTheRecordType) {
  const struct {
    std::string record;
    std::string value;
    std::string error;
  } cases[] = {
      {"A", "192.0.2.300",
       "check 't': expect '192.0.2.300' is not a valid A value (format: an IPv4 address, e.g. "
       "192.0.2.1)"},
      {"AAAA", "192.0.2.1",
       "check 't': expect '192.0.2.1' is not a valid AAAA value (format: an IPv6 address, e.g. "
       "2001:db8::1)"},
      {"MX", "mail.example.test",
       "check 't': expect 'mail.example.test' is not a valid MX value (format: <preference> "
       "<exchange>, e.g. 10 mail.example.com.)"},
      {"MX", "70000 mail.example.test",
       "check 't': expect '70000 mail.example.test' is not a valid MX value (format: "
       "<preference> <exchange>, e.g. 10 mail.example.com.)"},
      {"CNAME", "bad name!",
       "check 't': expect 'bad name!' is not a valid CNAME value (format: <name>, e.g. "
       "www.example.com.)"},
      {"NS", "ns1 ns2",
       "check 't': expect 'ns1 ns2' is not a valid NS value (format: <name>, e.g. "
       "ns1.example.com.)"},
      {"PTR", "-bad.example",
       "check 't': expect '-bad.example' is not a valid PTR value (format: <name>, e.g. "
       "host.example.com.)"},
      {"SRV", "10 5 sip.example.test",
       "check 't': expect '10 5 sip.example.test' is not a valid SRV value (format: <priority> "
       "<weight> <port> <target>, e.g. 10 5 5060 sip.example.com.)"},
      {"SOA", "ns1.example.test. hostmaster.example.test. 1 2 3 4",
       "check 't': expect 'ns1.example.test. hostmaster.example.test. 1 2 3 4' is not a valid SOA "
       "value (format: <mname> <rname> <serial> <refresh> <retry> <expire> <minimum>)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.record + " " + c.value);
    EXPECT_EQ(rejection({{"server", "127.0.0.1"},
                         {"name", "example.test"},
                         {"record", c.record},
                         {"expect", std::vector<std::string>{c.value}}}),
              c.error);
  }
}

TEST(DnsParams, RejectsUnknownParameter) {
  EXPECT_EQ(rejection({{"server", "127.0.0.1"}, {"name", "www.example.test"}, {"qtype", "A"}}),
            "check 't': unknown parameter 'qtype' for type 'dns' (allowed: expect, name, port, "
            "record, recursion, server, transport)");
}

}  // namespace
}  // namespace netmon
