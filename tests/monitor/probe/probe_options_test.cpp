#include "monitor/probe/probe_options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "monitor/checks/check_registry.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::probe {
namespace {

using std::chrono::milliseconds;

ProbeOptions parse_ok(const std::vector<std::string>& args) {
  ParsedCommand<ProbeOptions> parsed = parse_probe_args(args);
  EXPECT_TRUE(parsed.options.has_value()) << parsed.message;
  if (!parsed.options) return {};
  EXPECT_EQ(parsed.exit_code, 0);
  return std::move(*parsed.options);
}

// The usage error's first line, checking the exit code and the hint line.
std::string usage_error(const std::vector<std::string>& args) {
  const ParsedCommand<ProbeOptions> parsed = parse_probe_args(args);
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_EQ(parsed.exit_code, 2);
  const std::string hint = "\nRun 'netmon-probe --help' for usage.\n";
  EXPECT_TRUE(parsed.message.ends_with(hint)) << parsed.message;
  return parsed.message.substr(0, parsed.message.find('\n'));
}

bool icmp_available() {
  CheckSpec spec;
  spec.id = "i";
  spec.type = "icmp";
  spec.params = {{"host", "127.0.0.1"}};
  return checks::prepare_check(spec).ok();
}

TEST(ProbeOptions, ParsesTheHostFormWithPortsIntervalCountAndTimeout) {
  const ProbeOptions options = parse_ok({"127.0.0.1", "localhost", "-p", "80", "443", "-i", "2.5",
                                         "-c", "10", "--timeout", "2", "-v", "--no-ping"});
  EXPECT_EQ(options.hosts, (std::vector<std::string>{"127.0.0.1", "localhost"}));
  EXPECT_EQ(options.ports, (std::vector<std::uint16_t>{80, 443}));
  EXPECT_EQ(options.interval, milliseconds(2500));
  EXPECT_EQ(options.timeout, milliseconds(2000));
  EXPECT_EQ(options.count, 10u);
  EXPECT_TRUE(options.verbose);
  EXPECT_FALSE(options.ping);
  ASSERT_EQ(options.checks.size(), 4u);
  const ProbeCheck& first = options.checks[0];
  EXPECT_EQ(first.prepared.spec.id, "tcp-127.0.0.1-80");
  EXPECT_EQ(first.prepared.spec.type, "tcp");
  EXPECT_EQ(first.prepared.spec.timeout, milliseconds(2000));
  EXPECT_EQ(first.prepared.spec.interval, milliseconds(2500));
  EXPECT_EQ(first.group, "127.0.0.1");
  EXPECT_EQ(first.label, "tcp/80");
  EXPECT_EQ(first.port, std::optional<std::uint16_t>(80));
  EXPECT_EQ(options.checks[3].prepared.spec.id, "tcp-localhost-443");
  EXPECT_EQ(options.checks[3].group, "localhost");
}

TEST(ProbeOptions, DefaultsToOneSecondRoundsUntilStoppedWithoutOutput) {
  const ProbeOptions options = parse_ok({"127.0.0.1", "-p", "22", "--no-ping"});
  EXPECT_EQ(options.interval, milliseconds(1000));
  EXPECT_EQ(options.timeout, milliseconds(800));  // min(3s, 0.8 x 1s)
  EXPECT_EQ(options.count, 0u);
  EXPECT_TRUE(options.output_path.empty());
  EXPECT_FALSE(options.verbose);
}

TEST(ProbeOptions, DefaultTimeoutIsCappedAtThreeSeconds) {
  EXPECT_EQ(parse_ok({"127.0.0.1", "-p", "22", "--no-ping", "-i", "10"}).timeout,
            milliseconds(3000));
  EXPECT_EQ(parse_ok({"127.0.0.1", "-p", "22", "--no-ping", "-i", "500ms"}).timeout,
            milliseconds(400));
}

TEST(ProbeOptions, AcceptsRepeatedAndCommaSeparatedPortsWithoutDuplicates) {
  const ProbeOptions options =
      parse_ok({"127.0.0.1", "127.0.0.1", "-p", "80,443", "-p", "8080", "-p", "80", "--no-ping"});
  EXPECT_EQ(options.hosts, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(options.ports, (std::vector<std::uint16_t>{80, 443, 8080}));
  EXPECT_EQ(options.checks.size(), 3u);
}

TEST(ProbeOptions, PingsEveryHostUnlessNoPingIsGiven) {
  if (!icmp_available()) GTEST_FAIL() << "the icmp check type is not available in this build";
  const ProbeOptions options = parse_ok({"127.0.0.1", "-p", "22"});
  ASSERT_EQ(options.checks.size(), 2u);
  EXPECT_EQ(options.checks[0].prepared.spec.type, "icmp");
  EXPECT_EQ(options.checks[0].prepared.spec.id, "icmp-127.0.0.1");
  EXPECT_EQ(options.checks[0].label, "icmp");
  EXPECT_EQ(options.checks[1].label, "tcp/22");
}

TEST(ProbeOptions, MakesValidIdsForIpv6Hosts) {
  const ProbeOptions options = parse_ok({"::1", "-p", "22", "--no-ping"});
  ASSERT_EQ(options.checks.size(), 1u);
  EXPECT_EQ(options.checks[0].prepared.spec.id, "tcp-__1-22");
  EXPECT_EQ(options.checks[0].group, "::1");
}

TEST(ProbeOptions, CheckIdsDefaultToTypeAndNumberAndTakeTheSessionTimeout) {
  const ProbeOptions options =
      parse_ok({"--check", "tcp host=127.0.0.1 port=1", "--check", "tcp host=127.0.0.1 port=2",
                "--check", "tcp id=web host=127.0.0.1 port=3 timeout=200ms", "-i", "2s"});
  ASSERT_EQ(options.checks.size(), 3u);
  EXPECT_EQ(options.checks[0].prepared.spec.id, "tcp-1");
  EXPECT_EQ(options.checks[1].prepared.spec.id, "tcp-2");
  EXPECT_EQ(options.checks[2].prepared.spec.id, "web");
  EXPECT_EQ(options.checks[0].prepared.spec.timeout, milliseconds(1600));
  EXPECT_EQ(options.checks[2].prepared.spec.timeout, milliseconds(200));
  EXPECT_EQ(options.checks[0].prepared.spec.interval, milliseconds(2000));
  EXPECT_EQ(options.checks[0].group, "127.0.0.1:1");  // the check's own target
  EXPECT_EQ(options.checks[0].label, "tcp-1");
  EXPECT_TRUE(options.hosts.empty());
}

TEST(ProbeOptions, CombinesHostsWithChecks) {
  const ProbeOptions options =
      parse_ok({"127.0.0.1", "-p", "80", "--no-ping", "--check", "tcp host=127.0.0.2 port=81"});
  ASSERT_EQ(options.checks.size(), 2u);
  EXPECT_EQ(options.checks[0].prepared.spec.id, "tcp-127.0.0.1-80");
  EXPECT_EQ(options.checks[1].prepared.spec.id, "tcp-1");
}

TEST(ProbeOptions, LoadsCheckFilesKeepingTimeoutsLongerThanTheInterval) {
  testing::TempDir dir("netmon-probe-test-");
  const std::string path = (dir / "checks.yaml").string();
  std::ofstream(path) << "checks:\n"
                         "  - {id: quick, type: tcp, host: 127.0.0.1, port: 1, timeout: 300ms}\n"
                         "  - {id: slow, type: tcp, host: 127.0.0.1, port: 2, interval: 1m, "
                         "timeout: 5s}\n";
  const ProbeOptions options = parse_ok({"--checks", path, "-i", "1s"});
  ASSERT_EQ(options.checks.size(), 2u);
  EXPECT_EQ(options.checks[0].prepared.spec.timeout, milliseconds(300));
  EXPECT_EQ(options.checks[1].prepared.spec.timeout, milliseconds(5000));
  EXPECT_EQ(options.checks[1].prepared.spec.interval, milliseconds(1000));
}

// The seed's command lines (issue 9): parsed only, nothing resolves the names.
TEST(ProbeOptions, AcceptsATimeoutAsLongAsOrLongerThanTheInterval) {
  const ProbeOptions seed =
      parse_ok({"google.com", "cloudflare.com", "-p", "80", "443", "-i", "2.5", "-c", "10",
                "--timeout", "5", "-o", "/dev/null", "-v", "--no-ping"});
  EXPECT_EQ(seed.interval, milliseconds(2500));
  EXPECT_EQ(seed.timeout, milliseconds(5000));
  ASSERT_EQ(seed.checks.size(), 4u);
  EXPECT_EQ(seed.checks[0].prepared.spec.timeout, milliseconds(5000));
  EXPECT_EQ(seed.hosts, (std::vector<std::string>{"google.com", "cloudflare.com"}));

  const ProbeOptions same = parse_ok({"127.0.0.1", "-p", "80", "-i", "2s", "--timeout", "2s"});
  EXPECT_EQ(same.timeout, milliseconds(2000));
  const ProbeOptions check =
      parse_ok({"--check", "tcp host=127.0.0.1 port=1 timeout=3s", "-i", "1s"});
  EXPECT_EQ(check.checks[0].prepared.spec.timeout, milliseconds(3000));
}

TEST(ProbeOptions, TakesHostsAfterMinusTLikeTheSeed) {
  const ProbeOptions options =
      parse_ok({"-t", "example.com", "--timeout", "10", "-o", "/dev/null"});
  EXPECT_EQ(options.hosts, (std::vector<std::string>{"example.com"}));
  EXPECT_EQ(options.interval, milliseconds(1000));
  EXPECT_EQ(options.timeout, milliseconds(10'000));
  EXPECT_EQ(options.output_path, "/dev/null");

  const ProbeOptions both =
      parse_ok({"127.0.0.1", "--targets", "::1", "127.0.0.2", "-p", "80", "--no-ping"});
  EXPECT_EQ(both.hosts, (std::vector<std::string>{"127.0.0.1", "::1", "127.0.0.2"}));
  EXPECT_EQ(both.checks.size(), 3u);
}

TEST(ProbeOptions, AWordAfterThePortsThatIsNotAPortIsAHost) {
  const ProbeOptions options = parse_ok({"-p", "80", "443", "127.0.0.1", "--no-ping"});
  EXPECT_EQ(options.ports, (std::vector<std::uint16_t>{80, 443}));
  EXPECT_EQ(options.hosts, (std::vector<std::string>{"127.0.0.1"}));
  ASSERT_EQ(options.checks.size(), 2u);
  EXPECT_EQ(options.checks[1].prepared.spec.id, "tcp-127.0.0.1-443");

  const ProbeOptions more = parse_ok({"-p", "80,81", "82", "::1", "localhost", "--port=83", "84",
                                      "-p8080", "-c", "2", "--no-ping"});
  EXPECT_EQ(more.ports, (std::vector<std::uint16_t>{80, 81, 82, 83, 84, 8080}));
  EXPECT_EQ(more.hosts, (std::vector<std::string>{"::1", "localhost"}));
  EXPECT_EQ(more.count, 2u);
  // A value of another option is never taken for a port or a host.
  const ProbeOptions values = parse_ok({"127.0.0.1", "-p", "80", "-c", "3", "--no-ping"});
  EXPECT_EQ(values.ports, (std::vector<std::uint16_t>{80}));
  EXPECT_EQ(values.count, 3u);
}

TEST(ProbeOptions, HelpExitsZeroAndShowsTheIssueExamples) {
  const ParsedCommand<ProbeOptions> parsed = parse_probe_args({"--help"});
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_EQ(parsed.exit_code, 0);
  for (const char* text :
       {"netmon-probe google.com cloudflare.com -p 80 443 -i 2.5 -c 10 --timeout 5 -o "
        "results.json -v",
        "--check 'dns server=127.0.0.1 port=15353 name=www.example.test record=A'",
        "--check 'ntp server=127.0.0.1 port=11123' -c 3", "netmon-probe --checks checks.yaml",
        "--no-ping", "--timeout", "-o,--output", "Exit status: 0"}) {
    EXPECT_NE(parsed.message.find(text), std::string::npos) << "help lacks: " << text;
  }
}

TEST(ProbeOptionsUsage, RejectsNothingToProbe) {
  EXPECT_EQ(usage_error({}),
            "netmon-probe: nothing to probe: give HOSTs, --check 'TYPE key=value ...' or "
            "--checks FILE");
  EXPECT_EQ(usage_error({"-c", "3"}),
            "netmon-probe: nothing to probe: give HOSTs, --check 'TYPE key=value ...' or "
            "--checks FILE");
}

TEST(ProbeOptionsUsage, RejectsUnknownFlags) {
  EXPECT_EQ(usage_error({"127.0.0.1", "--bogus"}),
            "netmon-probe: The following argument was not expected: --bogus");
}

TEST(ProbeOptionsUsage, RejectsPortsOutOfRangeOrNotNumbers) {
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "70000"}),
            "netmon-probe: -p '70000': a port is a number in 1..65535 (e.g. -p 80 443)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "http"}),
            "netmon-probe: -p 'http': a port is a number in 1..65535 (e.g. -p 80 443)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "0"}),
            "netmon-probe: -p '0': a port is a number in 1..65535 (e.g. -p 80 443)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "99999"}),
            "netmon-probe: -p '99999': a port is a number in 1..65535 (e.g. -p 80 443)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p"}), "netmon-probe: --port: 1 required PORT missing");
}

TEST(ProbeOptionsUsage, RejectsPortsWithoutHosts) {
  EXPECT_EQ(usage_error({"-p", "80", "--check", "tcp host=127.0.0.1 port=1"}),
            "netmon-probe: -p needs at least one HOST to connect to");
}

TEST(ProbeOptionsUsage, RejectsNoPingWithoutPorts) {
  EXPECT_EQ(usage_error({"127.0.0.1", "--no-ping"}),
            "netmon-probe: --no-ping without -p leaves nothing to check on the HOSTs");
}

TEST(ProbeOptionsUsage, RejectsInvalidHosts) {
  EXPECT_EQ(usage_error({"bad_host!", "-p", "80", "--no-ping"}),
            "netmon-probe: HOST 'bad_host!' is not a host name or IP address");
}

TEST(ProbeOptionsUsage, RejectsIntervalsThatAreNotDurationsOrOutOfRange) {
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-i", "fast"}),
            "netmon-probe: -i 'fast' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, 1d)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-i", "50ms"}),
            "netmon-probe: -i 50ms: the interval must be within 100ms..1d");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-i", "2d"}),
            "netmon-probe: -i 2d: the interval must be within 100ms..1d");
}

TEST(ProbeOptionsUsage, RejectsTimeoutsOutOfRange) {
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "--timeout", "0"}),
            "netmon-probe: --timeout 0: the timeout must be within 1ms..1d (it may be longer "
            "than -i)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "--timeout", "2d"}),
            "netmon-probe: --timeout 2d: the timeout must be within 1ms..1d (it may be longer "
            "than -i)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "--timeout", "soon"}),
            "netmon-probe: --timeout 'soon' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, "
            "1d)");
}

TEST(ProbeOptionsUsage, RejectsCountsThatAreNotWholeNumbers) {
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-c", "-1"}),
            "netmon-probe: -c '-1': the count is a whole number of rounds (0 = until Ctrl+C)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-c", "ten"}),
            "netmon-probe: -c 'ten': the count is a whole number of rounds (0 = until Ctrl+C)");
}

TEST(ProbeOptionsUsage, RejectsInvalidChecksWithTheValidationMessage) {
  EXPECT_EQ(usage_error({"--check", "tcp host=127.0.0.1"}),
            "netmon-probe: --check: check 'tcp-1': port is required (1..65535)");
  EXPECT_EQ(usage_error({"--check", "tcp host=127.0.0.1 port=70000"}),
            "netmon-probe: --check: check 'tcp-1': port 70000 out of range 1..65535");
  EXPECT_EQ(usage_error({"--check", "gopher host=127.0.0.1"}).substr(0, 76),
            "netmon-probe: --check: check 'gopher-1': type 'gopher' is unknown (allowed: ");
  EXPECT_EQ(usage_error({"--check", "tcp host=127.0.0.1 port"}),
            "netmon-probe: --check: check 'tcp host=127.0.0.1 port': 'port' is not key=value");
}

TEST(ProbeOptionsUsage, RejectsPerCheckIntervalsAndTimeoutsOutOfRange) {
  EXPECT_EQ(usage_error({"--check", "tcp host=127.0.0.1 port=1 interval=5s"}),
            "netmon-probe: --check: check 'tcp-1': interval is not a per-check setting here "
            "(every check runs once per round, set by -i)");
  EXPECT_EQ(usage_error({"--check", "tcp host=127.0.0.1 port=1 timeout=2d"}),
            "netmon-probe: --check: check 'tcp-1': timeout 2d out of range 1ms..1d");
}

TEST(ProbeOptionsUsage, RejectsDuplicateCheckIds) {
  EXPECT_EQ(usage_error({"--check", "tcp id=a host=127.0.0.1 port=1", "--check",
                         "tcp id=a host=127.0.0.1 port=2"}),
            "netmon-probe: --check: check 'a': id is used by another check (set id=NAME)");
}

TEST(ProbeOptionsUsage, RejectsMissingOrInvalidCheckFiles) {
  testing::TempDir dir("netmon-probe-test-");
  EXPECT_EQ(
      usage_error({"--checks", (dir / "missing.yaml").string()}),
      "netmon-probe: --checks " + (dir / "missing.yaml").string() + ": cannot open the check file");
  const std::string bad = (dir / "bad.yaml").string();
  std::ofstream(bad) << "- {id: x, type: tcp, host: 127.0.0.1, port: 99999}\n";
  EXPECT_EQ(usage_error({"--checks", bad}),
            "netmon-probe: --checks " + bad + ": check 'x': port 99999 out of range 1..65535");
}

TEST(ProbeOptionsUsage, RejectsOutputFilesThatCannotBeWritten) {
  testing::TempDir dir("netmon-probe-test-");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-o", (dir / "no/such/dir.json").string()}),
            "netmon-probe: -o '" + (dir / "no/such/dir.json").string() +
                "' cannot be written (No such file or directory)");
  EXPECT_EQ(usage_error({"127.0.0.1", "-p", "80", "-o", (dir / "").string()}),
            "netmon-probe: -o '" + (dir / "").string() + "' is a directory (give a file name)");
}

}  // namespace
}  // namespace netmon::probe
