#include "manager/console/console_render.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace netmon::console {
namespace {

using nlohmann::json;

RenderOptions plain() {
  return RenderOptions{false, 80, "2026-12-04"};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

void expect_fits(const std::string& text, std::size_t width) {
  for (const std::string& line : lines_of(text))
    EXPECT_LE(display_width(line), width) << "'" << line << "'";
}

json check(std::string monitor, std::string id, std::string state) {
  return {{"monitor", monitor},
          {"id", id},
          {"type", "http"},
          {"interval_ms", 5000},
          {"timeout_ms", 2000},
          {"retries", 0},
          {"params", {{"url", "http://example.com/"}, {"expect_status", {"200", "204"}}}},
          {"state", state},
          {"last_state", "UP"},
          {"stale", state == "STALE"},
          {"last_latency_ms", 12.25},
          {"last_result", "2026-12-04T21:00:01.500Z"},
          {"last_status", "up"},
          {"reason", ""}};
}

json monitor(std::string name, std::string state) {
  return {{"name", name},
          {"id", "m-" + name},
          {"state", state},
          {"peer", "tcp://10.0.0.7:41234"},
          {"since", "2026-12-03T08:00:00Z"},
          {"last_heard", "2026-12-04T21:00:02Z"},
          {"config_version", 8},
          {"acked_config_version", 7},
          {"checks", 2},
          {"results_stored", 123456},
          {"outbox_backlog", nullptr},
          {"epoch", "e1"},
          {"clock_ahead_ms", 3},
          {"outbox_error", nullptr}};
}

TEST(DisplayWidth, CountsCodePoints) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("a…b"), 3u);
}

TEST(TruncateTo, CutsWithAnEllipsisOnlyWhenTooLong) {
  EXPECT_EQ(truncate_to("abcdef", 6), "abcdef");
  EXPECT_EQ(truncate_to("abcdefg", 6), "abcde…");
  EXPECT_EQ(display_width(truncate_to("ééééééé", 4)), 4u);
}

TEST(RenderData, MonitorsAreATableOfAlignedColumns) {
  const json data = {{"monitors", {monitor("edge-1", "CONNECTED"), monitor("edge-22", "LOST")}}};
  const auto lines = lines_of(render_data("", data, plain()));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("NAME     STATE")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("edge-1   CONNECTED")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("edge-22  LOST")) << lines[2];
  EXPECT_NE(lines[1].find("v8/v7"), std::string::npos) << lines[1];
  // Today's time as HH:MM:SS.
  EXPECT_NE(lines[1].find("21:00:02"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("10.0.0.7:41234"), std::string::npos) << lines[1];
  expect_fits(render_data("", data, plain()), 80);
}

TEST(RenderData, LongCellsAreCutToFitTheWidth) {
  json long_monitor = monitor(std::string(60, 'x'), "CONNECTED");
  long_monitor["peer"] = "tcp://[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:41234";
  const std::string text = render_data("", {{"monitors", {long_monitor}}}, plain());
  expect_fits(text, 80);
  EXPECT_NE(text.find("…"), std::string::npos) << text;
  RenderOptions narrow = plain();
  narrow.width = 50;
  expect_fits(render_data("", {{"monitors", {long_monitor}}}, narrow), 50);
}

TEST(RenderData, ChecksShowStateLatencyAndEveryParameter) {
  const json data = {
      {"checks", {check("edge-1", "web-1", "UP"), check("edge-1", "web-2", "STALE")}}};
  const std::string text = render_data("", data, plain());
  EXPECT_NE(text.find("edge-1/web-1  http  5s"), std::string::npos) << text;
  EXPECT_NE(text.find("STALE (UP)"), std::string::npos) << text;
  EXPECT_NE(text.find("12.2 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("edge-1/web-1: expect_status=200,204 url=http://example.com/"),
            std::string::npos)
      << text;
  expect_fits(text, 80);
}

TEST(RenderData, LongParametersWrapWhole) {
  json c = check("edge-1", "web-1", "UP");
  const std::string url = "http://example.com/" + std::string(100, 'p') + "?q=1";
  c["params"] = {{"url", url}};
  const std::string text = render_data("", {{"checks", {c}}}, plain());
  expect_fits(text, 80);
  std::string joined;  // the parameter block with its line breaks and indents taken out
  for (const std::string& line : lines_of(text.substr(text.find("edge-1/web-1:"))))
    joined += line.substr(line.find_first_not_of(' '));
  EXPECT_NE(joined.find("url=" + url), std::string::npos) << text;
}

TEST(RenderData, ColourCodesTakeNoWidth) {
  RenderOptions color = plain();
  color.color = true;
  const json status = {
      {"manager", json::object()},
      {"endpoints", json::object()},
      {"monitors",
       {{"CONNECTED", 2}, {"RECONNECTING", 1}, {"LOST", 1}, {"STOPPED", 1}, {"NEVER_SEEN", 1}}}};
  const std::string text = render_data("", status, color);
  EXPECT_NE(text.find("NEVER_SEEN 1\n"), std::string::npos) << text;
  EXPECT_EQ(display_width("\x1b[31mDOWN\x1b[0m"), 4u);
  EXPECT_EQ(truncate_to("\x1b[31mDOWNWARD\x1b[0m", 4), "\x1b[31mDOW…\x1b[0m");
}

TEST(RenderData, ColoursStatesOnlyWhenAsked) {
  const json data = {
      {"checks", {check("e", "a", "DOWN"), check("e", "b", "UP"), check("e", "c", "STALE")}}};
  RenderOptions color = plain();
  color.color = true;
  const std::string colored = render_data("", data, color);
  EXPECT_NE(colored.find("\x1b[31mDOWN\x1b[0m"), std::string::npos) << colored;
  EXPECT_NE(colored.find("\x1b[32mUP"), std::string::npos) << colored;
  EXPECT_NE(colored.find("\x1b[33mSTALE (UP)"), std::string::npos) << colored;
  EXPECT_EQ(render_data("", data, plain()).find('\x1b'), std::string::npos);
}

TEST(RenderData, MonitorDetailHasItsFieldsAndChecks) {
  const json data = {{"monitor", monitor("edge-1", "CONNECTED")},
                     {"checks", {check("edge-1", "web-1", "DOWN")}}};
  const std::string text = render_data("", data, plain());
  EXPECT_NE(text.find("monitor     edge-1 (id m-edge-1)"), std::string::npos) << text;
  EXPECT_NE(text.find("v8 sent, v7 acknowledged"), std::string::npos) << text;
  EXPECT_NE(text.find("web-1  http"), std::string::npos) << text;
}

TEST(RenderData, TimesOfAnotherDayShowTheirDate) {
  const json data = {
      {"events", {{{"time", "2026-12-03T08:00:00Z"}, {"monitor", "m"}, {"check", "c"}}}}};
  EXPECT_NE(render_data("", data, plain()).find("12-03 08:00  m/c"), std::string::npos)
      << render_data("", data, plain());
}

TEST(RenderData, EventsAndStats) {
  const json events = {{"events",
                        {{{"time", "2026-12-04T20:59:00Z"},
                          {"monitor", "edge-1"},
                          {"check", "web-1"},
                          {"from", "UP"},
                          {"to", "DOWN"},
                          {"text", "connect_refused"}}}}};
  EXPECT_NE(
      render_data("", events, plain()).find("20:59:00  edge-1/web-1  UP    DOWN  connect_refused"),
      std::string::npos)
      << render_data("", events, plain());
  const json stats = {{"since", "2026-12-04T20:00:00Z"},
                      {"stats",
                       {{{"monitor", "edge-1"},
                         {"check", "web-1"},
                         {"results", 720},
                         {"successes", 719},
                         {"success_pct", 99.86},
                         {"min_ms", 1.0},
                         {"avg_ms", 2.5},
                         {"median_ms", 2.0},
                         {"p95_ms", 4.0},
                         {"max_ms", 9.5},
                         {"down_episodes", 1}},
                        {{"monitor", "edge-1"},
                         {"check", "new"},
                         {"results", 0},
                         {"successes", 0},
                         {"success_pct", nullptr},
                         {"min_ms", nullptr},
                         {"avg_ms", nullptr},
                         {"median_ms", nullptr},
                         {"p95_ms", nullptr},
                         {"max_ms", nullptr},
                         {"down_episodes", 0}}}}};
  const std::string text = render_data("", stats, plain());
  EXPECT_NE(text.find("edge-1/web-1  720      99.9"), std::string::npos) << text;
  EXPECT_NE(text.find("edge-1/new    0        -"), std::string::npos) << text;
  expect_fits(text, 80);
}

TEST(RenderData, HelpListsSyntaxSummaryAndAliases) {
  const json help = {{"commands",
                      {{{"name", "monitors"},
                        {"aliases", {"list_all_queues"}},
                        {"syntax", "monitors"},
                        {"summary", "every monitor and its state"}}}}};
  EXPECT_NE(render_data("", help, plain())
                .find("monitors  every monitor and its state (alias list_all_queues)"),
            std::string::npos)
      << render_data("", help, plain());
}

TEST(RenderData, HelpWrapsLongSummariesUnderTheirColumn) {
  const json help = {
      {"commands",
       {{{"name", "a"}, {"syntax", "a"}, {"summary", std::string(50, 'x') + " tail-word"}},
        {{"name", "export"},
         {"syntax", "export FILE [--since T] [--until T] [--monitor M] [--check C]"},
         {"summary", "writes results"}}}}};
  RenderOptions narrow = plain();
  narrow.width = 40;
  const auto lines = lines_of(render_data("", help, narrow));
  ASSERT_GE(lines.size(), 5u);
  // A word longer than the column is split, not cut.
  EXPECT_EQ(lines[0], "a  " + std::string(37, 'x'));
  EXPECT_EQ(lines[1], "   " + std::string(13, 'x') + " tail-word");
  EXPECT_TRUE(lines[2].starts_with("export FILE")) << lines[2];
  EXPECT_EQ(lines[3], "   writes results");
  expect_fits(render_data("", help, narrow), 40);
}

TEST(RenderData, HelpOfACommandShowsEachTypesParameters) {
  const json help = {
      {"command",
       {{"name", "add"},
        {"aliases", {"addconf"}},
        {"syntax", "add MONITOR TYPE key=value ..."},
        {"summary", "adds a check"},
        {"details", "Example:\n  add edge-1 tcp host=example.com port=443"}}},
      {"types",
       {{{"type", "tcp"},
         {"params",
          {{{"name", "host"}, {"required", true}, {"default", nullptr}, {"summary", "target"}},
           {{"name", "port"}, {"required", true}, {"default", nullptr}, {"summary", "port"}},
           {{"name", "interval"},
            {"required", false},
            {"default", "5s"},
            {"summary", "how often"}}}}}}}};
  const std::string text = render_data("", help, plain());
  EXPECT_TRUE(text.starts_with("add MONITOR TYPE key=value ...\n")) << text;
  EXPECT_NE(text.find("aliases: addconf"), std::string::npos) << text;
  EXPECT_NE(text.find("add edge-1 tcp host=example.com port=443"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp parameters:"), std::string::npos) << text;
  EXPECT_NE(text.find("  interval  no        5s       how often"), std::string::npos) << text;
}

TEST(RenderData, StatusShowsCountsAndDownChecks) {
  const json status = {{"manager", {{"uptime_ms", 90'061'000}, {"store_bytes", 1536}}},
                       {"endpoints", {{"broker_out", "tcp://127.0.0.1:5557"}}},
                       {"monitors", {{"CONNECTED", 2}}},
                       {"checks", {{"UP", 5}, {"DOWN", 1}}},
                       {"down",
                        {{{"monitor", "e"},
                          {"check", "w"},
                          {"reason", "timeout"},
                          {"since", nullptr},
                          {"error", "no reply within 2 s"}}}}};
  const std::string text = render_data("", status, plain());
  EXPECT_NE(text.find("uptime    1d 1h"), std::string::npos) << text;
  EXPECT_NE(text.find("1.5 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("UP 5  DOWN 1  UNKNOWN -"), std::string::npos) << text;
  EXPECT_NE(text.find("e/w   timeout  -      no reply within 2 s"), std::string::npos) << text;
}

TEST(RenderData, ChangeRepliesPrintTheirMessageAlone) {
  EXPECT_EQ(
      render_data("deleted edge-1/web-2 (config v9)",
                  {{"monitor", "edge-1"}, {"config_version", 9}, {"delivery", "pending"}}, plain()),
      "deleted edge-1/web-2 (config v9)\n");
  EXPECT_EQ(render_data("reloaded: nothing changed", {{"changed", json::array()}}, plain()),
            "reloaded: nothing changed\n");
  EXPECT_EQ(render_data("done", nullptr, plain()), "done\n");
}

TEST(RenderData, UnknownShapesFallBackToMessageAndPrettyJson) {
  EXPECT_EQ(render_data("hm", {{"x", {1, 2}}}, plain()),
            "hm\n{\n  \"x\": [\n    1,\n    2\n  ]\n}\n");
}

TEST(RenderData, ValuesOfUnexpectedTypesAndControlCharactersDoNotBreakIt) {
  json odd = monitor("ed\x1b[2Jge", "CONNECTED");
  odd["checks"] = {{"not", "a number"}};
  odd["since"] = 42;
  const std::string text = render_data("", {{"monitors", {odd, "not an object"}}}, plain());
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("ed?[2J"), std::string::npos) << text;
  EXPECT_NO_THROW(render_data("", {{"checks", {1, nullptr, "x"}}}, plain()));
  EXPECT_NO_THROW(render_data("", {{"manager", 1}, {"endpoints", "x"}}, plain()));
}

}  // namespace
}  // namespace netmon::console
