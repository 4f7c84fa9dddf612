// netmon's dns check against a real knotd, compared with kdig for the same
// server, name and record type.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/integration_env.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon::integration {
namespace {

using netmon::testing::make_spec;
using netmon::testing::ProbeHarness;

constexpr auto kTimeout = std::chrono::seconds(3);

struct KdigAnswer {
  std::string status;                // NOERROR, NXDOMAIN, REFUSED ...
  std::vector<std::string> flags;    // qr, aa, tc ...
  int answer_count = -1;             // ANSWER: in the header, records of every type
  std::vector<std::string> answers;  // rdata of the answer records of the asked type, sorted
  std::string raw;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// kdig prints TXT rdata as presentation-format quoted strings
// ("hello netmon" "second string"); netmon reports the strings joined, with
// bytes outside printable ASCII as \DDD. Converts the first into the second.
std::string joined_txt(const std::string& rdata) {
  std::string joined;
  bool quoted = false;
  for (std::size_t i = 0; i < rdata.size(); ++i) {
    const char c = rdata[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\\' && i + 1 < rdata.size()) {
      if (std::isdigit(static_cast<unsigned char>(rdata[i + 1]))) {
        joined += c;  // \DDD stays as it is
      } else {
        joined += rdata[++i];  // \" and \\ are the character itself
      }
    } else if (quoted) {
      joined += c;
    }
  }
  return joined;
}

// kdig @127.0.0.1 -p PORT NAME TYPE [+tcp|+notcp +ignore]: the full answer, parsed.
KdigAnswer kdig(const std::string& name, const std::string& type,
                const std::string& transport = "") {
  std::vector<std::string> argv{"kdig",       "@127.0.0.1", "-p", servers().dns_port,
                                "+timeout=2", "+retry=0",   name, type};
  if (transport == "tcp") argv.emplace_back("+tcp");
  if (transport == "udp-only") {
    argv.emplace_back("+notcp");
    argv.emplace_back("+ignore");  // keep the truncated UDP answer, no retry
  }
  const ToolOutput out = run_tool(argv);
  KdigAnswer answer;
  answer.raw = out.out + out.err;
  bool in_answer = false;
  for (const std::string& line : lines_of(out.out)) {
    if (const auto at = line.find("status: "); at != std::string::npos) {
      const auto start = at + 8;
      answer.status = line.substr(start, line.find(';', start) - start);
    }
    if (line.rfind(";; Flags: ", 0) == 0) {
      std::istringstream words(line.substr(10, line.find(';', 10) - 10));
      for (std::string flag; words >> flag;)
        answer.flags.push_back(flag);
      if (const auto at = line.find("ANSWER: "); at != std::string::npos) {
        answer.answer_count = std::atoi(line.c_str() + at + 8);
      }
    }
    if (line.rfind(";; ANSWER SECTION:", 0) == 0) {
      in_answer = true;
      continue;
    }
    if (line.rfind(";;", 0) == 0) {
      in_answer = false;
      continue;
    }
    if (!in_answer) continue;
    // owner TTL class type rdata...
    std::istringstream fields(line);
    std::string owner, ttl, klass, rtype;
    fields >> owner >> ttl >> klass >> rtype;
    if (rtype != type) continue;
    std::string rdata;
    std::getline(fields >> std::ws, rdata);
    answer.answers.push_back(type == "TXT" ? joined_txt(rdata) : lower(rdata));
  }
  std::sort(answer.answers.begin(), answer.answers.end());
  return answer;
}

bool has_flag(const KdigAnswer& answer, const std::string& flag) {
  return std::find(answer.flags.begin(), answer.flags.end(), flag) != answer.flags.end();
}

CheckResult run_dns(ProbeHarness& harness, const std::string& name, const std::string& record,
                    ParamMap extra = {}) {
  ParamMap params{
      {"server", "127.0.0.1"}, {"port", servers().dns_port}, {"name", name}, {"record", record}};
  params.merge(extra);
  return harness.run(make_spec("dns", std::move(params), kTimeout), std::chrono::seconds(10));
}

std::vector<std::string> answers_of(const CheckResult& result) {
  std::vector<std::string> answers;
  const auto it = result.details.find("answers");
  if (it == result.details.end() || !it->is_array()) return answers;
  for (const auto& answer : *it) {
    answers.push_back(answer.is_string() ? answer.get<std::string>() : answer.dump());
  }
  std::sort(answers.begin(), answers.end());
  return answers;
}

bool truncated_retry_of(const CheckResult& result) {
  return result.details.value("truncated_retry", false);
}

struct Question {
  const char* name;
  const char* record;
};

TEST(DnsIntegration, AnswersMatchKdigForEveryRecordType) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const Question questions[] = {
      {"www.netmon.test", "A"},
      {"www.netmon.test", "AAAA"},
      {"netmon.test", "MX"},
      {"alias.netmon.test", "CNAME"},
      {"netmon.test", "NS"},
      {"txt.netmon.test", "TXT"},
      {"escaped.netmon.test", "TXT"},
      {"netmon.test", "TXT"},
      {"netmon.test", "SOA"},
      {"10.0.0.127.in-addr.arpa", "PTR"},
      {"_http._tcp.netmon.test", "SRV"},
      {"WWW.Netmon.TEST", "A"},   // names are case-insensitive
      {"www.netmon.test.", "A"},  // absolute name with the root dot
  };
  for (const auto& [name, record] : questions) {
    SCOPED_TRACE(std::string(name) + " " + record);
    const KdigAnswer reference = kdig(name, record);
    ASSERT_EQ(reference.status, "NOERROR") << reference.raw;
    ASSERT_FALSE(reference.answers.empty()) << reference.raw;
    const CheckResult result = run_dns(harness, name, record);
    EXPECT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
    EXPECT_EQ(answers_of(result), reference.answers) << result.details.dump();
    EXPECT_EQ(result.details.value("rcode", ""), reference.status) << result.details.dump();
    EXPECT_FALSE(truncated_retry_of(result)) << result.details.dump();
    EXPECT_EQ(result.details.value("authoritative", false), has_flag(reference, "aa"));
    EXPECT_EQ(result.details.value("answer_count", -1), reference.answer_count)
        << result.details.dump();
  }
}

TEST(DnsIntegration, AddressQueryThroughCnameMatchesKdigAddresses) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer reference = kdig("alias.netmon.test", "A");
  ASSERT_EQ(reference.answers, (std::vector<std::string>{"127.0.0.10", "127.0.0.11"}))
      << reference.raw;
  ASSERT_EQ(reference.answer_count, 3) << reference.raw;  // the CNAME and two addresses
  const CheckResult result = run_dns(harness, "alias.netmon.test", "A");
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(answers_of(result), reference.answers) << result.details.dump();
  EXPECT_EQ(result.details.value("answer_count", -1), reference.answer_count)
      << result.details.dump();
}

TEST(DnsIntegration, RetriesOverTcpWhenUdpAnswerIsTruncatedAndMatchesKdigTcp) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer udp = kdig("big.netmon.test", "TXT", "udp-only");
  ASSERT_TRUE(has_flag(udp, "tc")) << "knot did not truncate the UDP answer: " << udp.raw;
  const KdigAnswer tcp = kdig("big.netmon.test", "TXT", "tcp");
  ASSERT_EQ(tcp.answers.size(), 1u) << tcp.raw;
  ASSERT_GE(tcp.answers[0].size(), 4000u);

  const CheckResult result = run_dns(harness, "big.netmon.test", "TXT");
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
  EXPECT_TRUE(truncated_retry_of(result)) << result.details.dump();
  EXPECT_EQ(answers_of(result), tcp.answers);
}

TEST(DnsIntegration, ForcedTcpTransportMatchesKdigTcpWithoutRetry) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer tcp = kdig("big.netmon.test", "TXT", "tcp");
  ASSERT_EQ(tcp.status, "NOERROR") << tcp.raw;
  const CheckResult result = run_dns(harness, "big.netmon.test", "TXT", {{"transport", "tcp"}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_FALSE(truncated_retry_of(result)) << result.details.dump();
  EXPECT_EQ(answers_of(result), tcp.answers);
}

TEST(DnsIntegration, NxdomainMatchesKdigStatus) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer reference = kdig("nothere.netmon.test", "A");
  ASSERT_EQ(reference.status, "NXDOMAIN") << reference.raw;
  const CheckResult result = run_dns(harness, "nothere.netmon.test", "A");
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
  EXPECT_EQ(result.reason, "rcode_nxdomain");
  EXPECT_EQ(result.details.value("rcode", ""), "NXDOMAIN") << result.details.dump();
}

TEST(DnsIntegration, RefusedForAZoneTheServerDoesNotServeMatchesKdigStatus) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer reference = kdig("www.example.org", "A");
  ASSERT_EQ(reference.status, "REFUSED") << reference.raw;
  const CheckResult result = run_dns(harness, "www.example.org", "A");
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
  EXPECT_EQ(result.reason, "rcode_refused");
  EXPECT_EQ(result.details.value("rcode", ""), "REFUSED") << result.details.dump();
}

TEST(DnsIntegration, NameWithoutRecordsOfTheTypeHasNoAnswersLikeKdig) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const KdigAnswer reference = kdig("www.netmon.test", "MX");
  ASSERT_EQ(reference.status, "NOERROR") << reference.raw;
  ASSERT_TRUE(reference.answers.empty()) << reference.raw;
  const CheckResult result = run_dns(harness, "www.netmon.test", "MX");
  EXPECT_EQ(result.status, CheckStatus::kDown) << result.details.dump();
  EXPECT_EQ(result.reason, "no_answer");
  EXPECT_TRUE(answers_of(result).empty()) << result.details.dump();
  EXPECT_EQ(result.details.value("rcode", ""), "NOERROR") << result.details.dump();
}

TEST(DnsIntegration, ExpectedValuesAgreeWithKdigAnswers) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  // Every answer kdig prints (TXT joined, see joined_txt) is accepted as `expect`,
  // and so is the whole list of them.
  const Question questions[] = {
      {"www.netmon.test", "A"}, {"www.netmon.test", "AAAA"},       {"netmon.test", "MX"},
      {"netmon.test", "SOA"},   {"_http._tcp.netmon.test", "SRV"}, {"txt.netmon.test", "TXT"}};
  for (const auto& [name, record] : questions) {
    SCOPED_TRACE(std::string(name) + " " + record);
    const KdigAnswer reference = kdig(name, record);
    ASSERT_FALSE(reference.answers.empty()) << reference.raw;
    for (const std::string& answer : reference.answers) {
      const CheckResult present = run_dns(harness, name, record, {{"expect", answer}});
      EXPECT_EQ(present.status, CheckStatus::kUp)
          << answer << ": " << present.error << " " << present.details.dump();
    }
    const CheckResult all = run_dns(harness, name, record, {{"expect", reference.answers}});
    EXPECT_EQ(all.status, CheckStatus::kUp) << all.error << " " << all.details.dump();
  }

  const KdigAnswer reference = kdig("www.netmon.test", "A");

  ASSERT_EQ(std::count(reference.answers.begin(), reference.answers.end(), "127.9.9.9"), 0);
  const CheckResult absent = run_dns(harness, "www.netmon.test", "A", {{"expect", "127.9.9.9"}});
  EXPECT_EQ(absent.status, CheckStatus::kDown) << absent.details.dump();
  EXPECT_EQ(absent.reason, "answer_mismatch");
}

}  // namespace
}  // namespace netmon::integration
