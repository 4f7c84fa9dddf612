// netmon's ntp check against a real chronyd (`local stratum 8`, -x), compared
// with python3-ntplib querying the same server and port.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/integration_env.hpp"
#include "tests/support/probe_harness.hpp"

namespace netmon::integration {
namespace {

using netmon::testing::make_spec;
using netmon::testing::ProbeHarness;

constexpr int kLocalStratum = 8;  // `local stratum 8` in servers.sh

// python3-ntplib's answer from the server on `port`: stratum, reference id
// (raw and ntplib's text form), leap, precision; offset, delay, root delay and
// root dispersion in seconds.
nlohmann::json ntplib_query(const std::string& port) {
  static const std::string script = R"(
import json, sys, ntplib
r = ntplib.NTPClient().request("127.0.0.1", port=int(sys.argv[1]), version=4, timeout=2)
print(json.dumps({"stratum": r.stratum, "ref_id": r.ref_id,
                  "ref_id_text": ntplib.ref_id_to_text(r.ref_id, r.stratum),
                  "leap": r.leap, "version": r.version, "precision": r.precision,
                  "offset": r.offset,
                  "delay": r.delay, "root_delay": r.root_delay,
                  "root_dispersion": r.root_dispersion}))
)";
  const ToolOutput out = run_tool({"/usr/bin/python3", "-c", script, port});
  if (out.exit_code != 0) return {{"error", out.err}};
  return nlohmann::json::parse(out.out, nullptr, false);
}

CheckResult run_ntp(ProbeHarness& harness, const std::string& port, ParamMap extra = {}) {
  ParamMap params{{"server", "127.0.0.1"}, {"port", port}};
  params.merge(extra);
  return harness.run(make_spec("ntp", std::move(params), std::chrono::seconds(3)),
                     std::chrono::seconds(10));
}

// The reference id as a dotted quad, from whichever form netmon reports.
std::string reference_id_of(const CheckResult& result) {
  const auto it = result.details.find("reference_id");
  if (it == result.details.end()) return "missing";
  if (it->is_number_unsigned() || it->is_number_integer()) {
    const auto id = it->get<std::uint32_t>();
    return std::to_string(id >> 24) + "." + std::to_string((id >> 16) & 0xff) + "." +
           std::to_string((id >> 8) & 0xff) + "." + std::to_string(id & 0xff);
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

TEST(NtpIntegration, StratumMatchesNtplibAndTheLocalStratum) {
  NETMON_REQUIRE_SERVERS();
  const nlohmann::json reference = ntplib_query(servers().ntp_port);
  ASSERT_TRUE(reference.contains("stratum")) << reference.dump();
  ASSERT_EQ(reference["stratum"].get<int>(), kLocalStratum) << reference.dump();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_port);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
  EXPECT_EQ(result.details.value("stratum", -1), reference["stratum"].get<int>())
      << result.details.dump();
}

TEST(NtpIntegration, ReferenceIdMatchesNtplib) {
  NETMON_REQUIRE_SERVERS();
  const nlohmann::json reference = ntplib_query(servers().ntp_port);
  ASSERT_TRUE(reference.contains("ref_id_text")) << reference.dump();
  // chronyd's local reference is 127.127.1.1 (0x7F7F0101).
  ASSERT_EQ(reference["ref_id_text"].get<std::string>(), "127.127.1.1") << reference.dump();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_port);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(reference_id_of(result), reference["ref_id_text"].get<std::string>())
      << result.details.dump();
}

TEST(NtpIntegration, OffsetAndDelayAreAsSmallAsNtplibSeesOnTheSameClock) {
  NETMON_REQUIRE_SERVERS();
  const nlohmann::json reference = ntplib_query(servers().ntp_port);
  ASSERT_TRUE(reference.contains("offset")) << reference.dump();
  // Server and client share one clock: both tools must see (almost) no offset.
  ASSERT_LT(std::abs(reference["offset"].get<double>()), 0.05) << reference.dump();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_port);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  ASSERT_TRUE(result.details.contains("offset_ms")) << result.details.dump();
  ASSERT_TRUE(result.details.contains("delay_ms")) << result.details.dump();
  EXPECT_LT(std::abs(result.details["offset_ms"].get<double>()), 50.0) << result.details.dump();
  EXPECT_GE(result.details["delay_ms"].get<double>(), 0.0) << result.details.dump();
  EXPECT_LT(result.details["delay_ms"].get<double>(), 100.0) << result.details.dump();
}

TEST(NtpIntegration, MaxOffsetHoldsForTheLocalServer) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_port, {{"max_offset_ms", "1000"}});
  EXPECT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
}

TEST(NtpIntegration, HeaderFieldsMatchNtplib) {
  NETMON_REQUIRE_SERVERS();
  const nlohmann::json reference = ntplib_query(servers().ntp_port);
  ASSERT_TRUE(reference.contains("precision")) << reference.dump();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_port);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error;
  EXPECT_EQ(result.details.value("leap", -1), reference["leap"].get<int>())
      << result.details.dump();
  EXPECT_EQ(result.details.value("version", -1), reference["version"].get<int>())
      << result.details.dump();
  EXPECT_EQ(result.details.value("precision", 0), reference["precision"].get<int>())
      << result.details.dump();
  EXPECT_NEAR(result.details.value("root_delay_ms", -1.0),
              reference["root_delay"].get<double>() * 1000.0, 0.01)
      << result.details.dump();
  // Root dispersion grows between the two queries (15 ppm of the time since
  // chronyd's last update); a millisecond is ample.
  EXPECT_NEAR(result.details.value("root_dispersion_ms", -1.0),
              reference["root_dispersion"].get<double>() * 1000.0, 1.0)
      << result.details.dump();
}

// The second chronyd runs under libfaketime with its clock ahead of ours: the
// offset (server minus client, RFC 5905) must be positive and as large as
// ntplib measures it.
TEST(NtpIntegration, OffsetOfAServerAheadOfUsMatchesNtplibInSignAndSize) {
  NETMON_REQUIRE_SERVERS();
  const nlohmann::json reference = ntplib_query(servers().ntp_ahead_port);
  ASSERT_TRUE(reference.contains("offset")) << reference.dump();
  const double ahead_ms = servers().ntp_ahead_seconds * 1000.0;
  const double reference_ms = reference["offset"].get<double>() * 1000.0;
  ASSERT_NEAR(reference_ms, ahead_ms, 1000.0) << reference.dump();
  ProbeHarness harness;
  const CheckResult result = run_ntp(harness, servers().ntp_ahead_port);
  ASSERT_EQ(result.status, CheckStatus::kUp) << result.error << " " << result.details.dump();
  ASSERT_TRUE(result.details.contains("offset_ms")) << result.details.dump();
  EXPECT_NEAR(result.details["offset_ms"].get<double>(), reference_ms, 50.0)
      << result.details.dump();
  EXPECT_EQ(result.details.value("stratum", -1), reference["stratum"].get<int>());
}

TEST(NtpIntegration, MaxOffsetRejectsAServerAheadOfUs) {
  NETMON_REQUIRE_SERVERS();
  ProbeHarness harness;
  const std::string too_small = std::to_string(servers().ntp_ahead_seconds * 1000 / 2);
  const CheckResult rejected =
      run_ntp(harness, servers().ntp_ahead_port, {{"max_offset_ms", too_small}});
  EXPECT_EQ(rejected.status, CheckStatus::kDown) << rejected.details.dump();
  EXPECT_EQ(rejected.reason, "offset_too_large");

  const std::string large_enough = std::to_string(servers().ntp_ahead_seconds * 1000 * 2);
  const CheckResult accepted =
      run_ntp(harness, servers().ntp_ahead_port, {{"max_offset_ms", large_enough}});
  EXPECT_EQ(accepted.status, CheckStatus::kUp) << accepted.error;
}

}  // namespace
}  // namespace netmon::integration
