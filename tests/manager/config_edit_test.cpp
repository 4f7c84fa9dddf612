#include "manager/config_edit.hpp"

#include <gtest/gtest.h>

#include "manager/config_file.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using Words = std::vector<std::string>;

constexpr const char* kConfig = R"(defaults: {interval: 10s, timeout: 3s, retries: 2}
monitors:
  edge-1:
    defaults: {interval: 1s, retries: 3}
    checks:
      - {id: tcp-1, type: tcp, host: 127.0.0.1, port: 9}
      - {id: tcp-3, type: tcp, host: 127.0.0.1, port: 10, send: "PING\r\n"}
      - {id: web, type: http, url: "http://127.0.0.1:8080/", expect_status: [200],
         interval: 10s, timeout: 2s}
  edge-2:
    checks: []
)";

ManagerConfig config_of(const std::string& text = kConfig) {
  auto config = parse_manager_config(text, "netmon.yaml");
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : ManagerConfig{};
}

const CheckSpec& check_of(const ConfigEdit& edit, const std::string& id) {
  const auto& checks = edit.config.monitors.at(edit.monitor);
  const auto it = std::find_if(checks.begin(), checks.end(),
                               [&](const CheckSpec& spec) { return spec.id == id; });
  EXPECT_NE(it, checks.end()) << id;
  return it == checks.end() ? checks.front() : *it;
}

std::string text_param(const CheckSpec& spec, const std::string& name) {
  const auto it = spec.params.find(name);
  if (it == spec.params.end()) return "<absent>";
  const auto* text = std::get_if<std::string>(&it->second);
  return text ? *text : "<list>";
}

std::string error_of(const Expected<ConfigEdit>& edit) {
  return edit ? "<accepted>" : edit.error().message;
}

// The config file's error for a check line under edge-1, without "file:line: ".
std::string file_error(const std::string& check_line) {
  auto config = parse_manager_config(
      "monitors:\n  edge-1:\n    defaults: {interval: 1s, retries: 3}\n    checks:\n      - " +
          check_line + "\n",
      "netmon.yaml");
  if (config) return "<accepted>";
  const std::string& message = config.error().message;
  return message.substr(message.find(": ") + 2);
}

// --- add ---

TEST(ConfigEditAdd, AddsACheckWithTheMonitorsDefaultsAndTheFirstFreeId) {
  const ManagerConfig config = config_of();
  auto edit = add_check(config, "edge-1", Words{"tcp", "host=127.0.0.1", "port=80"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->monitor, "edge-1");
  EXPECT_EQ(edit->check, "tcp-2") << "tcp-1 and tcp-3 are taken";
  const CheckSpec& spec = check_of(*edit, "tcp-2");
  EXPECT_EQ(spec.interval, 1s);
  EXPECT_EQ(spec.timeout, 800ms) << "the unwritten timeout fits the monitor's 1s interval";
  EXPECT_EQ(spec.retries, 3);
  EXPECT_EQ(text_param(spec, "port"), "80");
  EXPECT_EQ(edit->config.monitors.at("edge-1").back().id, "tcp-2") << "added at the end";
  EXPECT_EQ(config.monitors.at("edge-1").size(), 3u) << "the input config is left alone";
}

TEST(ConfigEditAdd, TakesAnIdAndTheFilesDefaultsOnAMonitorWithoutItsOwn) {
  auto edit = add_check(config_of(), "edge-2",
                        Words{"icmp", "id=ping", "host=::1", "interval=30s", "timeout=5s"});
  ASSERT_TRUE(edit) << edit.error().message;
  const CheckSpec& spec = check_of(*edit, "ping");
  EXPECT_EQ(spec.interval, 30s);
  EXPECT_EQ(spec.timeout, 5s);
  EXPECT_EQ(spec.retries, 2);
}

TEST(ConfigEditAdd, KeepsWordsWithBlanksAndQuotesAsTyped) {
  const std::string body = R"(it's a "quoted" body	with a tab)";
  auto edit = add_check(config_of(), "edge-1",
                        Words{"http", "url=http://127.0.0.1/", "body_contains=" + body,
                              "headers=X-A: 1, 2", "headers=X-B: 'b'"});
  ASSERT_TRUE(edit) << edit.error().message;
  const CheckSpec& spec = check_of(*edit, "http-1");
  EXPECT_EQ(text_param(spec, "body_contains"), body);
  EXPECT_EQ(spec.params.at("headers"),
            ParamValue(std::vector<std::string>{"X-A: 1, 2", "X-B: 'b'"}))
      << "a repeated key is a list";
  // And it is written to the file as it was typed.
  auto reread = parse_manager_config(format_manager_config(edit->config), "netmon.yaml");
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_TRUE(*reread == edit->config);
}

TEST(ConfigEditAdd, RefusesAnUnknownMonitorNamingTheFix) {
  EXPECT_EQ(error_of(add_check(config_of(), "edge-9", Words{"tcp", "host=h", "port=1"})),
            "unknown monitor 'edge-9' (known: edge-1, edge-2; add it with `monitor-add edge-9`)");
  EXPECT_EQ(error_of(add_check(ManagerConfig{}, "edge-9", Words{"tcp"})),
            "unknown monitor 'edge-9' (no monitors yet; add it with `monitor-add edge-9`)");
}

TEST(ConfigEditAdd, RefusesAnIdInUse) {
  EXPECT_EQ(error_of(add_check(config_of(), "edge-1",
                               Words{"tcp", "id=web", "host=127.0.0.1", "port=1"})),
            "check 'web': id is used by another check of monitor 'edge-1' (ids must be unique: "
            "give another id=, or leave it out for tcp-2)");
}

TEST(ConfigEditAdd, RefusesWithoutAType) {
  EXPECT_NE(error_of(add_check(config_of(), "edge-1", Words{})).find("types: http, https"),
            std::string::npos);
}

// The same check is refused with the same words from the ctl as from the file.
TEST(ConfigEditAdd, RefusesWithTheConfigFilesErrorTexts) {
  struct Case {
    Words words;
    std::string file_line;
  };
  const std::vector<Case> cases = {
      {{"tcp", "host=127.0.0.1", "port=70000"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 70000}"},
      {{"tcp", "host=127.0.0.1", "port=1", "colour=red"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 1, colour: red}"},
      {{"gopher", "host=x"}, "{id: gopher-1, type: gopher, host: x}"},
      {{"tcp", "host=127.0.0.1", "port=1", "interval=1x"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 1, interval: 1x}"},
      {{"tcp", "host=127.0.0.1", "port=1", "timeout=2d"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 1, timeout: 2d}"},
      {{"tcp", "host=127.0.0.1", "port=1", "retries=0"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 1, retries: 0}"},
      {{"http", "url=https://127.0.0.1/"}, "{id: http-1, type: http, url: \"https://127.0.0.1/\"}"},
      {{"dns", "server=127.0.0.1", "name=example.test", "record=HINFO"},
       "{id: dns-1, type: dns, server: 127.0.0.1, name: example.test, record: HINFO}"},
      {{"tcp", "id=bad id", "host=127.0.0.1", "port=1"},
       "{id: bad id, type: tcp, host: 127.0.0.1, port: 1}"},
      {{"tcp", "host=127.0.0.1", "port=1",
        "send=a\xff"
        "b"},
       "{id: tcp-2, type: tcp, host: 127.0.0.1, port: 1, send: \"a\xff"
       "b\"}"},
  };
  for (const Case& c : cases) {
    const std::string expected = file_error(c.file_line);
    ASSERT_NE(expected, "<accepted>") << c.file_line;
    EXPECT_EQ(error_of(add_check(config_of(), "edge-1", c.words)), expected) << c.file_line;
  }
}

// --- addconf ---

TEST(ConfigEditAddconf, MapsTheSeedsPositionalForm) {
  auto edit = add_check_positional(config_of(), "edge-2", Words{"tcp", "example.com", "443", "5"});
  ASSERT_TRUE(edit) << edit.error().message;
  const CheckSpec& spec = check_of(*edit, "tcp-1");
  EXPECT_EQ(text_param(spec, "host"), "example.com");
  EXPECT_EQ(text_param(spec, "port"), "443");
  EXPECT_EQ(spec.interval, 5s) << "a bare number is seconds";
}

TEST(ConfigEditAddconf, GivesEachTypeItsTarget) {
  struct Case {
    Words words;
    std::string param;
    std::string value;
  };
  const std::vector<Case> cases = {
      {{"udp", "127.0.0.1", "53", "2.5"}, "host", "127.0.0.1"},
      {{"tcp_echo", "127.0.0.1", "7", "1"}, "port", "7"},
      {{"udp_echo", "::1", "7", "1"}, "host", "::1"},
      {{"icmp", "example.com", "500ms"}, "host", "example.com"},
      {{"traceroute", "192.0.2.1", "60"}, "host", "192.0.2.1"},
      {{"ntp", "pool.ntp.org", "64"}, "server", "pool.ntp.org"},
      {{"ntp", "127.0.0.1", "1123", "64"}, "port", "1123"},
      {{"http", "example.com", "30"}, "url", "http://example.com/"},
      {{"http", "example.com/health", "8080", "30"}, "url", "http://example.com:8080/health"},
      {{"https", "::1", "8443", "30"}, "url", "https://[::1]:8443/"},
      {{"https", "https://example.com/x", "30"}, "url", "https://example.com/x"},
      {{"http", "http://example.com/?a=b", "30"}, "url", "http://example.com/?a=b"},
  };
  for (const Case& c : cases) {
    auto edit = add_check_positional(config_of(), "edge-2", c.words);
    ASSERT_TRUE(edit) << c.words[0] << " " << c.words[1] << ": " << edit.error().message;
    EXPECT_EQ(text_param(check_of(*edit, edit->check), c.param), c.value) << c.words[0];
  }
  auto edit = add_check_positional(config_of(), "edge-2", Words{"udp", "127.0.0.1", "53", "2.5"});
  ASSERT_TRUE(edit);
  EXPECT_EQ(check_of(*edit, "udp-1").interval, 2500ms);
}

TEST(ConfigEditAddconf, KeyValueWordsMakeItAnAdd) {
  auto edit = add_check_positional(config_of(), "edge-2",
                                   Words{"dns", "server=127.0.0.1", "name=example.test"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->check, "dns-1");
}

TEST(ConfigEditAddconf, RefusesWhatThePositionalFormCannotSay) {
  const ManagerConfig config = config_of();
  EXPECT_EQ(error_of(add_check_positional(config, "edge-2", Words{"tcp", "example.com"})),
            "addconf takes TYPE TARGET [PORT] INTERVAL (e.g. addconf edge-2 tcp example.com 443 "
            "5), or TYPE key=value ... as add");
  EXPECT_EQ(error_of(add_check_positional(config, "edge-2", Words{"icmp", "h", "80", "5"})),
            "addconf: icmp has no port (use: addconf edge-2 icmp HOST INTERVAL)");
  EXPECT_EQ(error_of(add_check_positional(config, "edge-2", Words{"dns", "1.1.1.1", "5"})),
            "addconf: dns needs a server and a name, more than TARGET can say (use: add edge-2 "
            "dns server=SERVER name=NAME)");
  EXPECT_NE(error_of(add_check_positional(config, "edge-2",
                                          Words{"http", "http://example.com/", "80", "5"}))
                .find("write the port in it"),
            std::string::npos);
  EXPECT_EQ(error_of(add_check_positional(config, "edge-2", Words{"gopher", "h", "5"})),
            file_error("{id: gopher-1, type: gopher}"));
  EXPECT_EQ(error_of(add_check_positional(config, "edge-2", Words{"tcp", "h", "1", "soon"})),
            "check 'tcp-1': interval 'soon' is not a duration (use e.g. 500ms, 2s, 1.5s, 1m, 1h, "
            "1d)");
  EXPECT_NE(error_of(add_check_positional(config, "edge-9", Words{"tcp", "h", "1", "5"}))
                .find("monitor-add edge-9"),
            std::string::npos);
}

// --- set ---

TEST(ConfigEditSet, ChangesAParameterAndKeepsTheOthers) {
  const ManagerConfig config = config_of();
  auto edit = set_check(config, "edge-1/web", Words{"method=HEAD", "retries=5"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->check, "web");
  const CheckSpec& spec = check_of(*edit, "web");
  EXPECT_EQ(text_param(spec, "method"), "HEAD");
  EXPECT_EQ(spec.retries, 5);
  EXPECT_EQ(spec.params.at("expect_status"), ParamValue(std::vector<std::string>{"200"}))
      << "a one-item list stays a list";
  EXPECT_EQ(spec.interval, 10s);
  EXPECT_EQ(spec.timeout, 2s);
  auto changes = describe_changes(config, edit->config);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].changed, Words{"web"});
}

TEST(ConfigEditSet, ATimeoutFromTheDefaultsFollowsTheInterval) {
  auto edit = set_check(config_of(), "edge-1/tcp-1", Words{"interval=500ms"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(check_of(*edit, "tcp-1").timeout, 400ms);
  edit = set_check(edit->config, "edge-1/tcp-1", Words{"interval=1m"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(check_of(*edit, "tcp-1").timeout, 3s) << "back to defaults.timeout";
}

// A timeout may outlast the interval (the run then skips the rounds it spans).
TEST(ConfigEditSet, AWrittenTimeoutStaysWhenTheIntervalChanges) {
  auto edit = set_check(config_of(), "edge-1/web", Words{"interval=5s"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(check_of(*edit, "web").timeout, 2s);
  edit = set_check(config_of(), "edge-1/web", Words{"interval=1s"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(check_of(*edit, "web").timeout, 2s);
  edit = set_check(config_of(), "edge-1/web", Words{"interval=1s", "timeout=500ms"});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(check_of(*edit, "web").timeout, 500ms);
}

TEST(ConfigEditSet, AnEmptyValueResetsToTheDefault) {
  auto edit = set_check(config_of(), "edge-1/web", Words{"interval=", "timeout=", "retries="});
  ASSERT_TRUE(edit) << edit.error().message;
  const CheckSpec& web = check_of(*edit, "web");
  EXPECT_EQ(web.interval, 1s) << "edge-1's defaults.interval";
  EXPECT_EQ(web.timeout, 800ms);
  EXPECT_EQ(web.retries, 3);
  edit = set_check(config_of(), "edge-1/tcp-3", Words{"send="});
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(text_param(check_of(*edit, "tcp-3"), "send"), "<absent>");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/tcp-3", Words{"expect="})),
            "check 'tcp-3': expect is not set, so there is nothing to reset (set: host, port, "
            "send)");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/tcp-1", Words{"host="})),
            file_error("{id: tcp-1, type: tcp, port: 9}"))
      << "removing a required parameter is refused by the type";
}

TEST(ConfigEditSet, RefusesWhatTheFileWouldRefuse) {
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/tcp-1", Words{"port=70000"})),
            file_error("{id: tcp-1, type: tcp, host: 127.0.0.1, port: 70000}"));
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/tcp-1", Words{"colour=red"})),
            file_error("{id: tcp-1, type: tcp, host: 127.0.0.1, port: 9, colour: red}"));
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/tcp-1", Words{"retries=many"})),
            file_error("{id: tcp-1, type: tcp, host: 127.0.0.1, port: 9, retries: many}"));
}

TEST(ConfigEditSet, RefusesIdTypeAndMalformedWords) {
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/web", Words{"id=www"})),
            "check 'web': id cannot be changed by set (del edge-1/web and add the check again)");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/web", Words{"type=https"})),
            "check 'web': type cannot be changed by set (del edge-1/web and add the check again)");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/web", Words{"HEAD"})),
            "check 'web': 'HEAD' is not key=value (e.g. interval=30s)");
  EXPECT_NE(error_of(set_check(config_of(), "edge-1/web", Words{})).find("needs key=value"),
            std::string::npos);
}

TEST(ConfigEditSet, NamesAnUnknownCheckAndWhatTheMonitorHas) {
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1/www", Words{"port=1"})),
            "unknown check 'edge-1/www' (edge-1 has: tcp-1, tcp-3, web)");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-2/www", Words{"port=1"})),
            "unknown check 'edge-2/www' (edge-2 has no checks)");
  EXPECT_EQ(error_of(set_check(config_of(), "edge-1", Words{"port=1"})),
            "'edge-1' is not MONITOR/CHECK (e.g. edge-1/web)");
}

// --- del ---

TEST(ConfigEditDelete, RemovesACheckByEitherForm) {
  const ManagerConfig config = config_of();
  auto edit = delete_check(config, "edge-1/tcp-3");
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->check, "tcp-3");
  EXPECT_EQ(edit->config.monitors.at("edge-1").size(), 2u);
  auto seed = delete_check(config, "edge-1", "tcp-3");
  ASSERT_TRUE(seed) << seed.error().message;
  EXPECT_TRUE(seed->config == edit->config);
  auto changes = describe_changes(config, edit->config);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].removed, Words{"tcp-3"});
}

TEST(ConfigEditDelete, RefusesUnknownNames) {
  EXPECT_EQ(error_of(delete_check(config_of(), "edge-1/nope")),
            "unknown check 'edge-1/nope' (edge-1 has: tcp-1, tcp-3, web)");
  EXPECT_NE(error_of(delete_check(config_of(), "edge-9", "web")).find("unknown monitor 'edge-9'"),
            std::string::npos);
  EXPECT_EQ(error_of(delete_check(config_of(), "/web")),
            "'/web' is not MONITOR/CHECK (e.g. edge-1/web)");
}

// --- monitors ---

TEST(ConfigEditMonitors, AddsAMonitorWithNoChecks) {
  auto edit = add_monitor(config_of(), "edge-3");
  ASSERT_TRUE(edit) << edit.error().message;
  ASSERT_TRUE(edit->config.monitors.contains("edge-3"));
  EXPECT_TRUE(edit->config.monitors.at("edge-3").empty());
  auto added = add_check(edit->config, "edge-3", Words{"tcp", "host=127.0.0.1", "port=1"});
  EXPECT_TRUE(added) << "the new monitor takes checks";
  auto changes = describe_changes(config_of(), edit->config);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].monitor_added);
}

TEST(ConfigEditMonitors, RefusesABadOrTakenName) {
  auto bad = add_monitor(config_of(), "edge 3");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("monitor name 'edge 3'"), std::string::npos)
      << bad.error().message;
  EXPECT_EQ(error_of(add_monitor(config_of(), "edge-1")),
            "monitor 'edge-1' already exists (with 3 checks; `checks edge-1` lists them)");
}

TEST(ConfigEditMonitors, DeletesOnlyAMonitorWithoutChecks) {
  const ManagerConfig config = config_of();
  EXPECT_EQ(error_of(delete_monitor(config, "edge-1")),
            "monitor 'edge-1' still has 3 checks (tcp-1, tcp-3, web): del them first (del "
            "edge-1/tcp-1)");
  auto edit = delete_monitor(config, "edge-2");
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_FALSE(edit->config.monitors.contains("edge-2"));
  EXPECT_NE(error_of(delete_monitor(config, "edge-9")).find("unknown monitor"), std::string::npos);
}

TEST(ConfigEditMonitors, DeletingAMonitorDropsItsDefaults) {
  ManagerConfig config = config_of();
  config.monitors.at("edge-1").clear();
  auto edit = delete_monitor(config, "edge-1");
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_FALSE(edit->config.monitor_defaults.contains("edge-1"));
  auto again = add_monitor(edit->config, "edge-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(defaults_of(again->config, "edge-1").interval, 10s)
      << "a monitor added again starts from the file's defaults";
}

// --- describe_changes ---

TEST(ConfigEditChanges, NamesAddedRemovedAndChangedChecksPerMonitor) {
  const ManagerConfig before = config_of();
  const ManagerConfig after = config_of(R"(defaults: {interval: 10s, timeout: 3s, retries: 2}
monitors:
  edge-1:
    defaults: {interval: 1s, retries: 3}
    checks:
      - {id: tcp-1, type: tcp, host: 127.0.0.1, port: 9}
      - {id: web, type: http, url: "http://127.0.0.1:8081/", expect_status: [200],
         interval: 10s, timeout: 2s}
      - {id: new, type: icmp, host: 127.0.0.1}
  edge-3:
    checks: [{id: a, type: icmp, host: 127.0.0.1}]
)");
  const auto changes = describe_changes(before, after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].monitor, "edge-1");
  EXPECT_EQ(changes[0].added, Words{"new"});
  EXPECT_EQ(changes[0].removed, Words{"tcp-3"});
  EXPECT_EQ(changes[0].changed, Words{"web"});
  EXPECT_FALSE(changes[0].monitor_added || changes[0].monitor_removed);
  EXPECT_EQ(changes[1].monitor, "edge-2");
  EXPECT_TRUE(changes[1].monitor_removed);
  EXPECT_TRUE(changes[1].removed.empty());
  EXPECT_EQ(changes[2].monitor, "edge-3");
  EXPECT_TRUE(changes[2].monitor_added);
  EXPECT_EQ(changes[2].added, Words{"a"});
  EXPECT_TRUE(describe_changes(before, before).empty());
}

TEST(ConfigEditChanges, ADefaultsChangeCountsThroughTheChecksItChanges) {
  std::string text = kConfig;
  text.replace(text.find("retries: 3"), 10, "retries: 4");
  const auto changes = describe_changes(config_of(), config_of(text));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].changed, (Words{"tcp-1", "tcp-3", "web"}));
}

}  // namespace
}  // namespace netmon::manager
