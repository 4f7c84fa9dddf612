#include "manager/config_file.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/manager/manager_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::manager {
namespace {

using namespace std::chrono_literals;
using testing::write_file;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

ManagerConfig parsed(const std::string& text) {
  auto config = parse_manager_config(text, "netmon.yaml");
  EXPECT_TRUE(config) << config.error().message << "\n" << text;
  return config ? *config : ManagerConfig{};
}

// Formats `config` and reads it back: the same config, or a failure showing the text.
void expect_round_trip(const ManagerConfig& config) {
  const std::string text = format_manager_config(config);
  auto reread = parse_manager_config(text, "written.yaml");
  ASSERT_TRUE(reread) << reread.error().message << "\n" << text;
  EXPECT_TRUE(*reread == config) << text;
}

TEST(ConfigFile, WritesEveryCheckTypeSoItReadsBackEqual) {
  expect_round_trip(parsed(R"(defaults: {interval: 30s, timeout: 5s, retries: 3}
monitors:
  edge-1:
    defaults: {interval: 2s}
    checks:
      - {id: web, type: http, url: "http://127.0.0.1:8080/a?b=c&d", method: HEAD,
         headers: {Accept: text/html, X-Trace: "a, b"}, expect_status: [200, 300-399],
         follow_redirects: true, max_redirects: 3, verify_tls: false, min_cert_days: 7}
      - {id: tls, type: https, url: "https://example.test/", body_contains: "ok\r\n",
         body_not_contains: error, timeout: 1500ms}
      - {id: ping, type: icmp, host: "::1", family: ipv6, count: 2, size: 0, spacing: 0ms,
         max_loss_pct: 50.5}
      - {id: trace, type: traceroute, host: 127.0.0.1, max_hops: 5, probes_per_hop: 2}
      - {id: ns, type: dns, server: 127.0.0.1, port: 5353, name: _sip._tcp.example.test,
         record: SRV, expect: "10 5 5060 sip.example.test.", transport: tcp, recursion: false}
      - {id: time, type: ntp, server: pool.example.test, max_offset_ms: 250, retries: 1}
      - {id: redis, type: tcp, host: 127.0.0.1, port: 6379, send: "PING\r\n", expect: PONG}
      - {id: udp-53, type: udp, host: 127.0.0.1, port: 53, payload: "\x00\x01", wait: 1s,
         success: [open, closed]}
      - {id: echo, type: tcp_echo, host: 127.0.0.1, port: 7, payload: hello, interval: 1m}
      - {id: uecho, type: udp_echo, host: 127.0.0.1, port: 7}
  edge-2:
    checks: []
  edge-3:
    defaults: {retries: 3}
    checks:
      - {id: txt, type: dns, server: 127.0.0.1, name: example.test, record: TXT,
         expect: ["v=spf1 -all", "a, b"]}
)"));
}

TEST(ConfigFile, QuotesOddStringsAndKeepsUnicode) {
  const std::vector<std::string> odd = {
      "",     "null",  "~",      "Null",   "true",  "no",        "123",       "0x1F",
      "1e3",  " lead", "trail ", "  ",     "a: b",  "a:b",       "#hash",     "a #b",
      "- x",  "[x]",   "{x}",    "x, y",   "'",     "\"",        "it's",      "*star",
      "&amp", "!tag",  "%pct",   "@at",    "`tick", "|pipe",     ">fold",     "?q",
      "a\tb", "a\nb",  "a\r\nb", "\\r\\n", "=",     "key=value", "ünïcødé ✓", "日本語",
      "😀",    "---",   "...",    "<<",     "=eq",   "\x7f",      "a\x01z",    "tab\t",
  };
  ManagerConfig config;
  std::vector<CheckSpec>& checks = config.monitors["edge-1"];
  for (std::size_t i = 0; i < odd.size(); ++i) {
    CheckSpec spec;
    spec.id = "t" + std::to_string(i);
    spec.type = "dns";
    spec.timeout = 3s;
    spec.params = {{"server", "127.0.0.1"},
                   {"name", "example.test"},
                   {"record", "TXT"},
                   {"expect", std::vector<std::string>{odd[i], "x" + odd[i]}}};
    checks.push_back(spec);
    CheckSpec payload = spec;
    payload.id = "p" + std::to_string(i);
    payload.type = "tcp";
    payload.params = {{"host", "127.0.0.1"}, {"port", "1"}, {"expect", odd[i]}};
    if (odd[i].find('\\') == std::string::npos) checks.push_back(payload);
  }
  expect_round_trip(config);
}

// Seeded, so a failure is the same on every run: configs of random defaults,
// fields and text made of the characters YAML treats specially.
TEST(ConfigFile, ManyGeneratedConfigsReadBackEqual) {
  std::mt19937 random(20261204);
  const auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  const std::vector<std::string> pieces = {
      "a", "Z", "0", " ",  ":", ": ", "#",    " #",   "'",   "\"",  "\t",  "\n", "\r\n", "ü",
      "✓", "😀", "-", "- ", "[", "]",  "{",    "}",    ",",   "!",   "&",   "*",  "%",    "@",
      "`", "|", ">", "?",  "~", "=",  "null", "true", "1.5", "0x1", "...", "---"};
  const auto text = [&] {
    std::string out;
    for (int i = below(below(4) == 0 ? 40 : 6); i > 0; --i)
      out += pieces[static_cast<std::size_t>(below(static_cast<int>(pieces.size())))];
    return out;
  };
  const auto defaults = [&] {
    CheckDefaults d;
    d.interval = std::chrono::milliseconds(100 + below(100'000));
    d.timeout = std::chrono::milliseconds(1 + below(5'000));
    d.retries = 1 + below(100);
    return d;
  };
  for (int round = 0; round < 200; ++round) {
    ManagerConfig config;
    config.defaults = defaults();
    for (int m = below(4); m > 0; --m) {
      const std::string name = "edge-" + std::to_string(m);
      if (below(2) == 0) config.monitor_defaults[name] = defaults();
      const CheckDefaults& d = defaults_of(config, name);
      std::vector<CheckSpec>& checks = config.monitors[name];
      for (int c = below(5); c > 0; --c) {
        CheckSpec spec;
        spec.id = "c" + std::to_string(c);
        spec.interval = below(2) == 0 ? d.interval : std::chrono::milliseconds(100 + below(9'900));
        spec.timeout = below(2) == 0 ? std::min(d.timeout, spec.interval * 4 / 5)
                                     : std::chrono::milliseconds(1 + below(99));
        spec.retries = below(2) == 0 ? d.retries : 1 + below(100);
        if (below(2) == 0) {
          spec.type = "dns";
          std::vector<std::string> expect;
          for (int e = 1 + below(3); e > 0; --e)
            expect.push_back(text());
          spec.params = {{"server", "127.0.0.1"},
                         {"name", "example.test"},
                         {"record", "TXT"},
                         {"expect", expect}};
        } else {
          spec.type = "tcp";
          spec.params = {{"host", "127.0.0.1"}, {"port", "1"}, {"expect", text()}};
        }
        checks.push_back(spec);
      }
    }
    SCOPED_TRACE("round " + std::to_string(round));
    expect_round_trip(config);
  }
}

TEST(ConfigFile, KeepsDefaultsSectionsAndLeavesOutWhatTheyGive) {
  const ManagerConfig config = parsed(R"(defaults: {interval: 20s, timeout: 4s, retries: 3}
monitors:
  edge-1:
    defaults: {interval: 1s}
    checks:
      - {id: a, type: tcp, host: 127.0.0.1, port: 1}
      - {id: b, type: tcp, host: 127.0.0.1, port: 2, interval: 2s, timeout: 500ms, retries: 5}
  edge-2:
    checks:
      - {id: c, type: tcp, host: 127.0.0.1, port: 3, interval: 20s, timeout: 4s}
)");
  const std::string text = format_manager_config(config);
  EXPECT_NE(text.find("defaults: {interval: 20s, timeout: 4s, retries: 3}"), std::string::npos)
      << text;
  EXPECT_NE(text.find("defaults: {interval: 1s}"), std::string::npos) << text;
  EXPECT_NE(text.find("{id: a, type: tcp, host: 127.0.0.1, port: 1}"), std::string::npos)
      << "a check's fields equal to its defaults are written:\n"
      << text;
  EXPECT_NE(text.find("{id: b, type: tcp, host: 127.0.0.1, port: 2, interval: 2s, timeout: "
                      "500ms, retries: 5}"),
            std::string::npos)
      << "the type's parameters in the order of help, then the common fields:\n"
      << text;
  EXPECT_NE(text.find("{id: c, type: tcp, host: 127.0.0.1, port: 3}"), std::string::npos) << text;
  EXPECT_TRUE(parsed(text) == config);
}

TEST(ConfigFile, WritesAConfigWithoutMonitors) {
  expect_round_trip(ManagerConfig{});
}

TEST(ConfigFile, WritesALongCheckOneFieldPerLine) {
  const ManagerConfig config = parsed(R"(monitors:
  edge-1:
    checks:
      - {id: short, type: tcp, host: 127.0.0.1, port: 1}
      - {id: long, type: https, url: "https://example.test/a/rather/long/path/to/a/health/check",
         min_cert_days: 30, headers: ["Accept: text/html"]}
)");
  const std::string text = format_manager_config(config);
  EXPECT_NE(text.find("      - {id: short, type: tcp, host: 127.0.0.1, port: 1}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("      - id: long\n        type: https\n        url: "), std::string::npos)
      << text;
  EXPECT_TRUE(parsed(text) == config);
}

TEST(ConfigFile, KeepsAMonitorWithoutChecks) {
  const ManagerConfig config = parsed("monitors:\n  spare:\n    checks: []\n");
  const ManagerConfig reread = parsed(format_manager_config(config));
  ASSERT_TRUE(reread.monitors.contains("spare"));
  EXPECT_TRUE(reread.monitors.at("spare").empty());
}

class ConfigFileSave : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(file_, testing::kConfigText);
    auto loaded = load_config_file(file_);
    ASSERT_TRUE(loaded) << loaded.error().message;
    loaded_ = std::move(loaded).value();
    changed_ = loaded_.config;
    CheckSpec spec = changed_.monitors.at("edge-1").front();
    spec.id = "added";
    changed_.monitors.at("edge-1").push_back(spec);
  }

  // Where a save writes before its rename.
  std::filesystem::path temporary(const std::string& name) const {
    return dir_ / (name + ".tmp-" + std::to_string(::getpid()));
  }

  netmon::testing::TempDir dir_{"netmon-config-file-test-"};
  std::filesystem::path file_ = dir_ / "netmon.yaml";
  LoadedConfigFile loaded_;
  ManagerConfig changed_;
};

TEST_F(ConfigFileSave, ReplacesTheFileAndKeepsThePreviousOneAsBak) {
  ASSERT_EQ(::chmod(file_.c_str(), 0640), 0);  // a mode change is no edit: it leaves the stamp
  auto saved = save_config_file(file_, changed_, loaded_.stamp);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(read_text(dir_ / "netmon.yaml.bak"), testing::kConfigText);
  EXPECT_FALSE(std::filesystem::exists(temporary("netmon.yaml")));
  auto reread = load_config_file(file_);
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_TRUE(reread->config == changed_);
  EXPECT_EQ(reread->stamp, *saved) << "the returned stamp is not the new file's";
  struct stat status {};
  ASSERT_EQ(::stat(file_.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((dir_ / "netmon.yaml.bak").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0640u);

  // The returned stamp is what the next save compares with.
  changed_.monitors.at("edge-2").clear();
  auto again = save_config_file(file_, changed_, *saved);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(parsed(read_text(file_)) == changed_);
  EXPECT_TRUE(parsed(read_text(dir_ / "netmon.yaml.bak")) == reread->config);
}

TEST_F(ConfigFileSave, RefusesWhenTheFileWasEditedSinceItWasLoaded) {
  const std::string edit = std::string(testing::kConfigText) + "  edge-3:\n    checks: []\n";
  write_file(file_, edit);
  auto saved = save_config_file(file_, changed_, loaded_.stamp);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().message,
            file_.string() + " changed on disk since it was loaded; run `reload` first");
  EXPECT_EQ(read_text(file_), edit);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "netmon.yaml.bak"));
}

TEST_F(ConfigFileSave, RefusesWhenTheFileWasRewrittenWithTheSameSize) {
  std::string edit = testing::kConfigText;
  edit[edit.find("port: 10")] = 'P';  // same length, other bytes
  write_file(file_, edit);
  auto stamp = stamp_config_file(file_);
  ASSERT_TRUE(stamp);
  EXPECT_EQ(stamp->size, loaded_.stamp.size);
  EXPECT_NE(stamp->content_hash, loaded_.stamp.content_hash);
  EXPECT_FALSE(save_config_file(file_, changed_, loaded_.stamp));
}

// A link planted where the save writes its temporary file: the save makes a
// file of its own there, and what the link points to is left as it was.
TEST_F(ConfigFileSave, ALinkPlantedAtTheTemporaryNameIsNotFollowed) {
  const auto victim = dir_ / "victim";
  write_file(victim, "precious\n");
  // The names of today, and FILE.tmp of before the fix, which followed them.
  for (const auto& link : {temporary("netmon.yaml"), temporary("netmon.yaml.bak"),
                           dir_ / "netmon.yaml.tmp", dir_ / "netmon.yaml.bak.tmp"})
    std::filesystem::create_symlink(victim, link);
  auto saved = save_config_file(file_, changed_, loaded_.stamp);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(read_text(victim), "precious\n");
  EXPECT_TRUE(load_config_file(file_)->config == changed_);
}

TEST_F(ConfigFileSave, ReplacesTheTargetOfASymbolicLink) {
  const std::filesystem::path link = dir_ / "link.yaml";
  std::filesystem::create_symlink(file_, link);
  auto saved = save_config_file(link, changed_, loaded_.stamp);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_TRUE(parsed(read_text(file_)) == changed_);
  EXPECT_EQ(read_text(dir_ / "netmon.yaml.bak"), testing::kConfigText);
}

// Files may grow to `bytes` while it lives; a write past it fails with EFBIG
// (SIGXFSZ is ignored, as it would otherwise kill the test).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST_F(ConfigFileSave, AFailedWriteNamesTheFileAndTheErrorAndLeavesTheFileIntact) {
  const std::size_t old_size = std::string_view(testing::kConfigText).size();
  ASSERT_GT(format_manager_config(changed_).size(), old_size + 8);
  for (const rlim_t limit : {rlim_t{16}, rlim_t{old_size + 4}}) {  // the .bak fails, then FILE
    Expected<ConfigFileStamp> saved = Error{};
    {
      FileSizeLimit small(limit);
      saved = save_config_file(file_, changed_, loaded_.stamp);
    }
    ASSERT_FALSE(saved) << limit;
    const std::string& error = saved.error().message;
    EXPECT_EQ(error.rfind(file_.string() + ": cannot write ", 0), 0u) << error;
    EXPECT_NE(error.find(std::generic_category().message(EFBIG)), std::string::npos) << error;
    EXPECT_NE(error.find("is unchanged"), std::string::npos) << error;
    EXPECT_EQ(read_text(file_), testing::kConfigText);
    EXPECT_FALSE(std::filesystem::exists(temporary("netmon.yaml")));
    EXPECT_FALSE(std::filesystem::exists(temporary("netmon.yaml.bak")));
  }
  // With room again, the same save goes through: nothing was left half done.
  EXPECT_TRUE(save_config_file(file_, changed_, loaded_.stamp));
}

TEST(ConfigFile, LoadingAMissingFileNamesItAndTheError) {
  auto loaded = load_config_file("/nonexistent/netmon.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("/nonexistent/netmon.yaml"), std::string::npos);
  EXPECT_NE(loaded.error().message.find(std::generic_category().message(ENOENT)), std::string::npos)
      << loaded.error().message;
}

TEST(ConfigFile, LoadingReportsParseErrorsAsTheParserDoes) {
  netmon::testing::TempDir dir;
  write_file(dir / "bad.yaml", "monitors:\n  edge-1: {}\n");
  auto loaded = load_config_file(dir / "bad.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message,
            parse_manager_config("monitors:\n  edge-1: {}\n", (dir / "bad.yaml").string())
                .error()
                .message);
}

}  // namespace
}  // namespace netmon::manager
