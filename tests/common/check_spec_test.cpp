#include "common/check_spec.hpp"

#include <gtest/gtest.h>

#include "common/check_parser.hpp"
#include "common/param_reader.hpp"

namespace netmon {
namespace {

using std::chrono::milliseconds;

CheckSpec valid_spec() {
  CheckSpec spec;
  spec.id = "web-1";
  spec.type = "tcp";
  spec.interval = milliseconds(1000);
  spec.timeout = milliseconds(500);
  return spec;
}

TEST(CheckSpec, AcceptsValidCommonFields) {
  EXPECT_TRUE(validate_common_fields(valid_spec()));
}

TEST(CheckSpec, RejectsMissingId) {
  CheckSpec spec = valid_spec();
  spec.id.clear();
  EXPECT_EQ(validate_common_fields(spec).error().message, "check of type 'tcp': id is missing");
}

TEST(CheckSpec, RejectsIdWithBadCharacters) {
  CheckSpec spec = valid_spec();
  spec.id = "web 1";
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web 1': id may contain only letters, digits, '-', '_' and '.'");
}

TEST(CheckSpec, RejectsIntervalBelowMinimum) {
  CheckSpec spec = valid_spec();
  spec.interval = milliseconds(50);
  spec.timeout = milliseconds(10);
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web-1': interval 50ms out of range 100ms..1d");
}

TEST(CheckSpec, RejectsIntervalAboveMaximum) {
  CheckSpec spec = valid_spec();
  spec.interval = milliseconds(86'400'001);
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web-1': interval 86400001ms out of range 100ms..1d");
}

TEST(CheckSpec, AcceptsATimeoutAsLongAsOrLongerThanTheInterval) {
  CheckSpec spec = valid_spec();
  spec.timeout = spec.interval;
  EXPECT_TRUE(validate_common_fields(spec).ok());
  spec.timeout = spec.interval * 5;
  EXPECT_TRUE(validate_common_fields(spec).ok());
}

TEST(CheckSpec, RejectsTimeoutOutOfRange) {
  CheckSpec spec = valid_spec();
  spec.timeout = milliseconds(0);
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web-1': timeout 0ms out of range 1ms..1d");
  spec.timeout = milliseconds(86'400'001);
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web-1': timeout 86400001ms out of range 1ms..1d");
}

TEST(CheckSpec, RejectsRetriesOutOfRange) {
  CheckSpec spec = valid_spec();
  spec.retries = 0;
  EXPECT_EQ(validate_common_fields(spec).error().message,
            "check 'web-1': retries 0 out of range 1..100");
}

TEST(ParamReader, ReportsUnknownParametersWithTheAllowedOnes) {
  CheckSpec spec = valid_spec();
  spec.params = {{"host", "127.0.0.1"}, {"prot", "80"}};
  ParamReader reader(spec);
  (void)reader.host("host");
  (void)reader.port("port", 80);
  EXPECT_EQ(reader.finish().error().message,
            "check 'web-1': unknown parameter 'prot' for type 'tcp' (allowed: host, port)");
}

TEST(ParamReader, NamesTheFieldAndValueOfABadHost) {
  CheckSpec spec = valid_spec();
  spec.params = {{"host", "bad_host!"}};
  ParamReader reader(spec);
  (void)reader.host("host");
  EXPECT_EQ(reader.finish().error().message,
            "check 'web-1': host 'bad_host!' is not a valid host name or IP address");
}

TEST(ParamReader, RejectsAChoiceOutsideTheAllowedValues) {
  CheckSpec spec = valid_spec();
  spec.params = {{"transport", "sctp"}};
  ParamReader reader(spec);
  EXPECT_EQ(reader.choice("transport", {"udp", "tcp"}, "udp"), "udp");
  EXPECT_EQ(reader.finish().error().message,
            "check 'web-1': transport 'sctp' is not allowed (allowed: udp, tcp)");
}

TEST(ParamReader, RejectsNonNumbersAndBooleans) {
  CheckSpec spec = valid_spec();
  spec.params = {{"count", "many"}};
  ParamReader reader(spec);
  (void)reader.integer("count", 1, 100, 3);
  EXPECT_EQ(reader.finish().error().message,
            "check 'web-1': count 'many' is not a whole number (allowed: 1..100)");

  CheckSpec flags = valid_spec();
  flags.params = {{"verify_tls", "maybe"}};
  ParamReader flag_reader(flags);
  (void)flag_reader.flag("verify_tls", true);
  EXPECT_EQ(flag_reader.finish().error().message,
            "check 'web-1': verify_tls 'maybe' is not a boolean (allowed: true, false)");
}

TEST(ParamReader, SplitsCommaSeparatedScalarsIntoLists) {
  CheckSpec spec = valid_spec();
  spec.params = {{"expect_status", "200, 300-399"}};
  ParamReader reader(spec);
  EXPECT_EQ(reader.list("expect_status"), (std::vector<std::string>{"200", "300-399"}));
}

TEST(CheckParser, ParsesAYamlFileWithDefaults) {
  const char* text = R"(
defaults: {interval: 5s, timeout: 1s, retries: 3}
checks:
  - {id: echo, type: tcp_echo, host: 127.0.0.1, port: 12345, interval: 1s}
  - id: web
    type: http
    url: "http://127.0.0.1:8080/"
    expect_status: [200, 204]
    headers: {Accept: text/html}
)";
  auto specs = parse_checks_text(text, "checks.yaml");
  ASSERT_TRUE(specs) << specs.error().message;
  ASSERT_EQ(specs->size(), 2u);
  const CheckSpec& echo = (*specs)[0];
  EXPECT_EQ(echo.id, "echo");
  EXPECT_EQ(echo.interval, milliseconds(1000));
  EXPECT_EQ(echo.timeout, milliseconds(800));  // default 1s follows the 1s interval down
  EXPECT_EQ(echo.retries, 3);
  EXPECT_EQ(std::get<std::string>(echo.params.at("port")), "12345");
  const CheckSpec& web = (*specs)[1];
  EXPECT_EQ(web.interval, milliseconds(5000));
  EXPECT_EQ(std::get<std::vector<std::string>>(web.params.at("expect_status")),
            (std::vector<std::string>{"200", "204"}));
  EXPECT_EQ(std::get<std::vector<std::string>>(web.params.at("headers")),
            (std::vector<std::string>{"Accept: text/html"}));
}

TEST(CheckParser, ParsesJsonToo) {
  auto specs = parse_checks_text(
      R"([{"id": "a", "type": "tcp", "host": "127.0.0.1", "port": 80, "timeout": "500ms"}])",
      "checks.json");
  ASSERT_TRUE(specs) << specs.error().message;
  EXPECT_EQ((*specs)[0].timeout, milliseconds(500));
}

TEST(CheckParser, ErrorsCarryFileAndLine) {
  const char* text = "checks:\n  - {id: a, type: tcp}\n  - {id: b, type: tcp, interval: 10ms}\n";
  auto specs = parse_checks_text(text, "bad.yaml");
  ASSERT_FALSE(specs);
  EXPECT_EQ(specs.error().message, "bad.yaml:3: check 'b': interval 10ms out of range 100ms..1d");
}

TEST(CheckParser, RejectsDuplicateIds) {
  auto specs = parse_checks_text("- {id: a, type: tcp}\n- {id: a, type: udp}\n", "dup.yaml");
  ASSERT_FALSE(specs);
  EXPECT_EQ(specs.error().message, "dup.yaml:2: check 'a': id is used by another check");
}

TEST(CheckParser, DefaultsRetriesMustBeAWholeNumberInRange) {
  auto word = parse_checks_text("defaults: {retries: many}\nchecks: []\n", "d.yaml");
  ASSERT_FALSE(word);
  EXPECT_EQ(word.error().message,
            "d.yaml:1: defaults.retries 'many' is not a whole number (allowed: 1..100)");
  auto zero = parse_checks_text("defaults: {retries: 0}\nchecks: []\n", "d.yaml");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "d.yaml:1: defaults.retries 0 out of range 1..100");
}

TEST(CheckParser, AYamlCheckListRunsTheHookOnEachCheckAndNotesDuplicates) {
  const YAML::Node list =
      YAML::Load("- {id: a, type: tcp}\n- {id: b, type: udp}\n- {id: a, type: tcp}\n");
  std::vector<std::string> seen;
  const CheckHook record = [&](const YAML::Node&, const CheckSpec& spec) -> Expected<void> {
    seen.push_back(spec.id);
    return {};
  };
  auto specs = checks_from_yaml_list(list, CheckDefaults{}, "l.yaml", record, " (rename one)");
  ASSERT_FALSE(specs);
  EXPECT_EQ(specs.error().message, "l.yaml:3: check 'a': id is used by another check (rename one)");
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "a"}));
  const CheckHook refuse = [](const YAML::Node&, const CheckSpec& spec) -> Expected<void> {
    return Error{"no " + spec.type};
  };
  auto refused = checks_from_yaml_list(list, CheckDefaults{}, "l.yaml", refuse);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "no tcp");
}

TEST(CheckParser, RejectsUnknownTopLevelKeys) {
  auto specs = parse_checks_text("defaults: {}\nchecks: []\nmonitors: {}\n", "top.yaml");
  ASSERT_FALSE(specs);
  EXPECT_EQ(specs.error().message,
            "top.yaml:3: unknown key 'monitors' (allowed: defaults, checks)");
}

TEST(CheckParser, ReportsYamlSyntaxErrorsWithLine) {
  auto specs = parse_checks_text("checks:\n  - {id: a\n", "syntax.yaml");
  ASSERT_FALSE(specs);
  EXPECT_EQ(specs.error().message.rfind("syntax.yaml:", 0), 0u) << specs.error().message;
}

TEST(CheckParser, ParsesCommandLineChecks) {
  auto spec = check_from_args(
      "dns server=127.0.0.1 port=15353 name=www.example.test record=A interval=2s "
      "expect='192.0.2.1' expect=192.0.2.2",
      CheckDefaults{}, "dns-1");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->type, "dns");
  EXPECT_EQ(spec->id, "dns-1");
  EXPECT_EQ(spec->interval, milliseconds(2000));
  EXPECT_EQ(spec->timeout, milliseconds(1600));
  EXPECT_EQ(std::get<std::string>(spec->params.at("name")), "www.example.test");
  EXPECT_EQ(std::get<std::vector<std::string>>(spec->params.at("expect")),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
}

TEST(CheckParser, CommandLineKeepsQuotedSpaces) {
  auto spec = check_from_args("tcp id=x host=127.0.0.1 port=1 send='HELLO WORLD'", {}, "tcp-1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->id, "x");
  EXPECT_EQ(std::get<std::string>(spec->params.at("send")), "HELLO WORLD");
}

// Found by fuzzing: a check with a byte that is not UTF-8 was accepted, then
// arrived at the monitor escaped (\xff as four characters): another payload,
// another digest in CONFIG_ACK.
TEST(CheckParser, RejectsTextThatIsNotUtf8NamingTheField) {
  auto args = check_from_args(
      "tcp_echo host=127.0.0.1 port=7 payload=a\xff"
      "b",
      {}, "echo-1");
  ASSERT_FALSE(args);
  EXPECT_EQ(args.error().message,
            "check 'echo-1': payload is not valid UTF-8 text (save the file as UTF-8; write other "
            "payload bytes as \\xHH)");
  auto listed = check_from_args("http url=http://127.0.0.1/ headers=ok headers=\xc3", {}, "web");
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().message.rfind("check 'web': headers is not valid UTF-8 text", 0), 0u)
      << listed.error().message;
  auto yaml =
      parse_checks_text("- {id: e, type: tcp_echo, host: 127.0.0.1, send: \"\xfe\"}\n", "bad.yaml");
  ASSERT_FALSE(yaml);
  EXPECT_EQ(yaml.error().message.rfind("bad.yaml:1: check 'e': send is not valid UTF-8 text", 0),
            0u)
      << yaml.error().message;
  auto key = check_from_args("tcp host=127.0.0.1 port=1 x\x80=1", {}, "tcp-1");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message, "check 'tcp-1': parameter name 'x\\x80' is not valid UTF-8");
  EXPECT_TRUE(check_from_args("tcp_echo host=127.0.0.1 port=7 payload=caf\xc3\xa9", {}, "ok"));
}

TEST(CheckParser, CommandLineRejectsWordsWithoutEquals) {
  auto spec = check_from_args("tcp host 127.0.0.1", {}, "tcp-1");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, "check 'tcp host 127.0.0.1': 'host' is not key=value");
}

}  // namespace
}  // namespace netmon
