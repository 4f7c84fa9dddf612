// Every example of `netmon-probe --help` and of README.md's netmon-probe
// section, read from the help text and the file and run in-process with the
// same flags, so an example cannot rot. Nothing leaves loopback: the public
// names become 127.0.0.1 / ::1 and the ports those of the test's own servers
// (a listener on both loopbacks per port, DNS, NTP and HTTP servers).

#include <gtest/gtest.h>

#include <array>
#include <asio/executor_work_guard.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "monitor/probe/probe_command.hpp"
#include "monitor/probe/probe_options.hpp"
#include "tests/support/dns_test_server.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::probe {
namespace {

// A TCP port listened on by 127.0.0.1 and ::1 both, for the names that stand
// for dual-stack hosts. Connections wait in the backlog: a connect succeeds.
struct DualListener {
  explicit DualListener(asio::io_context& io) : v4(io), v6(io) {
    for (int attempt = 0; attempt < 50 && port == 0; ++attempt) {
      asio::ip::tcp::acceptor first(io, {asio::ip::make_address("127.0.0.1"), 0});
      const std::uint16_t candidate = first.local_endpoint().port();
      std::error_code ec;
      asio::ip::tcp::acceptor second(io);
      second.open(asio::ip::tcp::v6(), ec);
      if (!ec) second.bind({asio::ip::make_address("::1"), candidate}, ec);
      if (!ec) second.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) continue;  // taken on ::1: another port
      v4 = std::move(first);
      v6 = std::move(second);
      port = candidate;
    }
  }
  asio::ip::tcp::acceptor v4;
  asio::ip::tcp::acceptor v6;
  std::uint16_t port = 0;
};

// Answers SNTP client requests with the local clock (stratum 2).
class NtpResponder {
 public:
  explicit NtpResponder(asio::io_context& io)
      : socket_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    receive();
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  static void put64(std::array<std::uint8_t, 48>& packet, std::size_t at, std::uint64_t value) {
    for (int i = 7; i >= 0; --i, value >>= 8)
      packet[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
  }

  static std::uint64_t ntp_now() {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    const auto seconds = static_cast<std::uint64_t>(ns / 1'000'000'000) + 2'208'988'800ULL;
    const auto fraction = (static_cast<std::uint64_t>(ns % 1'000'000'000) << 32) / 1'000'000'000;
    return (seconds << 32) | fraction;
  }

  void receive() {
    socket_.async_receive_from(asio::buffer(request_), peer_,
                               [this](const std::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 if (n >= 48) answer();
                                 receive();
                               });
  }

  void answer() {
    std::array<std::uint8_t, 48> reply{};
    reply[0] = (4 << 3) | 4;  // version 4, server mode
    reply[1] = 2;             // stratum
    reply[2] = 6;
    reply[3] = static_cast<std::uint8_t>(-20);
    reply[12] = 127;
    reply[15] = 1;
    const std::uint64_t now = ntp_now();
    put64(reply, 16, now - (std::uint64_t{16} << 32));
    std::copy(request_.begin() + 40, request_.begin() + 48, reply.begin() + 24);  // originate
    put64(reply, 32, now);
    put64(reply, 40, now);
    socket_.send_to(asio::buffer(reply), peer_);
  }

  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  std::array<std::uint8_t, 512> request_{};
};

// The servers the examples' names and ports stand for, on a loop of their own.
class Servers {
 public:
  Servers() {
    dns_.add("www.example.test. 60 IN A 192.0.2.1");
    http_.reply("/health", testing::HttpReply::make(200, "ok"));
    asio::ip::tcp::acceptor bound(io_, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port_ = bound.local_endpoint().port();  // nobody listens once `bound` goes
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Servers() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // The example's words as the test runs them.
  std::vector<std::string> substitute(std::vector<std::string> words,
                                      const std::filesystem::path& dir) const {
    const std::map<std::string, std::string, std::less<>> whole{
        {"google.com", "127.0.0.1"},
        {"example.com", "127.0.0.1"},
        {"cloudflare.com", "::1"},
        {"80", std::to_string(port_a_.port)},
        {"443", std::to_string(port_b_.port)},
        {"12345", std::to_string(echo_.port)},  // netmon-echo's default TCP port
        {"8081", std::to_string(closed_port_)},
        {"results.json", (dir / "results.json").string()},
        {"checks.yaml", (dir / "checks.yaml").string()},
    };
    const std::vector<std::pair<std::string, std::string>> inside{
        {"port=15353", "port=" + dns_.port_text()},
        {"port=11123", "port=" + std::to_string(ntp_.port())},
        {"127.0.0.1:8080", "127.0.0.1:" + std::to_string(http_.port())},
    };
    for (std::string& word : words) {
      if (const auto it = whole.find(word); it != whole.end()) {
        word = it->second;
        continue;
      }
      for (const auto& [from, to] : inside) {
        if (const std::size_t at = word.find(from); at != std::string::npos) {
          word.replace(at, from.size(), to);
        }
      }
    }
    return words;
  }

  // A check file for `--checks checks.yaml`.
  void write_checks_file(const std::filesystem::path& path) const {
    std::ofstream(path) << "checks:\n"
                           "  - {id: web, type: tcp, host: 127.0.0.1, port: "
                        << port_a_.port
                        << "}\n"
                           "  - {id: health, type: http, url: \"http://127.0.0.1:"
                        << http_.port() << "/health\", expect_status: [200]}\n";
  }

  std::string closed_port() const { return std::to_string(closed_port_); }
  bool ready() const { return port_a_.port != 0 && port_b_.port != 0 && echo_.port != 0; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  DualListener port_a_{io_};
  DualListener port_b_{io_};
  DualListener echo_{io_};
  std::uint16_t closed_port_ = 0;
  testing::DnsTestServer dns_{io_};
  NtpResponder ntp_{io_};
  testing::HttpTestServer http_{io_};
  std::thread thread_;
};

// Splits a command line as a shell would for these examples: words, '...' and
// "..." quoting, and a '#' word starts a comment.
std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (const char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

// The command lines in `text` that start with `prefix` + "netmon-probe ",
// with "\" continuation lines joined.
std::vector<std::string> commands_in(const std::string& text, const std::string& prefix) {
  std::vector<std::string> commands;
  std::istringstream lines(text);
  std::string line;
  std::string pending;
  bool continuing = false;
  while (std::getline(lines, line)) {
    const std::size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) {
      continuing = false;
      continue;
    }
    const std::string trimmed = line.substr(start);
    if (!continuing) {
      if (!trimmed.starts_with(prefix + "netmon-probe ")) continue;
      pending = trimmed.substr(prefix.size());
    } else {
      pending += " " + trimmed;
    }
    continuing = pending.ends_with("\\");
    if (continuing) {
      pending.pop_back();
      continue;
    }
    commands.push_back(pending);
  }
  return commands;
}

std::vector<std::string> help_examples() {
  const std::string help = parse_probe_args({"--help"}).message;
  const std::size_t start = help.find("Examples:\n");
  if (start == std::string::npos) return {};
  const std::size_t end = help.find("\n\n", start);
  return commands_in(help.substr(start, end - start), "");
}

std::vector<std::string> readme_examples() {
  std::ifstream file(NETMON_README);
  std::stringstream text;
  text << file.rdbuf();
  const std::string readme = text.str();
  const std::size_t start = readme.find("### netmon-probe");
  if (start == std::string::npos) return {};
  const std::size_t end = readme.find("\n### ", start + 1);
  return commands_in(readme.substr(start, end - start), "$ ");
}

void run_example(const Servers& servers, const std::string& command) {
  SCOPED_TRACE(command);
  testing::TempDir dir("netmon-probe-example-");
  servers.write_checks_file(dir / "checks.yaml");
  std::vector<std::string> words = servers.substitute(shell_words(command), dir.path());
  ASSERT_FALSE(words.empty());
  ASSERT_EQ(words.front(), "netmon-probe");
  for (const std::string& word : words) {
    // A test never resolves a public name: every one needs a loopback stand-in.
    ASSERT_FALSE(word.ends_with(".com") || word.ends_with(".org") || word.ends_with(".net"))
        << "map " << word << " to a loopback address in Servers::substitute";
  }
  std::vector<const char*> argv;
  for (const std::string& word : words)
    argv.push_back(word.c_str());
  std::ostringstream out;
  std::ostringstream err;
  const int exit_code = probe_main(static_cast<int>(argv.size()), argv.data(), out, err);

  // An example with port 8081 shows a port nobody listens on: down, exit 1.
  const bool down_on_purpose =
      std::find(words.begin(), words.end(), servers.closed_port()) != words.end();
  EXPECT_EQ(exit_code, down_on_purpose ? 1 : 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("--- statistics: "), std::string::npos) << out.str() << err.str();
  if (std::find(words.begin(), words.end(), (dir / "results.json").string()) != words.end()) {
    std::ifstream file(dir / "results.json");
    const nlohmann::json json = nlohmann::json::parse(file, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << "-o did not write JSON";
    EXPECT_EQ(json["session"]["ended_by"], "count");
    EXPECT_FALSE(json["raw_data"].empty());
  }
}

TEST(ProbeExamples, EveryExampleOfTheHelpRunsAsShown) {
  Servers servers;
  ASSERT_TRUE(servers.ready());
  const std::vector<std::string> examples = help_examples();
  ASSERT_GE(examples.size(), 5u);
  EXPECT_EQ(examples.front(),
            "netmon-probe google.com cloudflare.com -p 80 443 -i 2.5 -c 10 --timeout 5 -o "
            "results.json -v");
  for (const std::string& example : examples)
    run_example(servers, example);
}

TEST(ProbeExamples, EveryExampleOfTheReadmeRunsAsShown) {
  Servers servers;
  ASSERT_TRUE(servers.ready());
  const std::vector<std::string> examples = readme_examples();
  ASSERT_GE(examples.size(), 3u) << "README.md's netmon-probe section not found";
  for (const std::string& example : examples)
    run_example(servers, example);
}

}  // namespace
}  // namespace netmon::probe
