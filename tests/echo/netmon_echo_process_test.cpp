// Runs the built netmon-echo binary as a real process: it serves TCP and UDP
// on ports it picks itself (reported in its "listening" log line), and exits 0
// with a summary line on SIGTERM or SIGINT.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/probe_harness.hpp"

#ifndef NETMON_ECHO_BINARY
#error "tests/CMakeLists.txt must define NETMON_ECHO_BINARY (the path of netmon-echo)"
#endif

extern char** environ;

namespace netmon {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;
using asio::ip::udp;
using netmon::testing::ProbeHarness;

// A child process with stdout and stderr on one pipe.
class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    args.insert(args.begin(), NETMON_ECHO_BINARY);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error(std::string("cannot start ") + NETMON_ECHO_BINARY);
    }
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads output until it holds `prefix` followed by a full line; returns
  // the rest of that line ("" if it never came before the deadline).
  std::string await_line(const std::string& prefix,
                         std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto end = Clock::now() + deadline;
    while (true) {
      const std::size_t at = output_.find(prefix);
      const std::size_t eol = at == std::string::npos ? at : output_.find('\n', at);
      if (eol != std::string::npos)
        return output_.substr(at + prefix.size(), eol - at - prefix.size());
      if (!read_some(end)) return "";
    }
  }

  // Reads until the child closes its output (it exited), then reaps it.
  // Returns the exit status, or -1 if it did not exit within the deadline.
  int await_exit(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto end = Clock::now() + deadline;
    while (read_some(end)) {
    }
    if (!eof_) return -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void signal(int number) { kill(pid_, number); }
  const std::string& output() const { return output_; }

 private:
  bool read_some(Clock::time_point end) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{out_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = read(out_, buffer, sizeof buffer);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool eof_ = false;
  std::string output_;
};

struct Ports {
  std::uint16_t tcp = 0;
  std::uint16_t udp = 0;
};

// The port after "<name>=127.0.0.1:" in a log line, 0 if absent.
std::uint16_t port_in(const std::string& line, const std::string& name) {
  const std::string key = name + "=127.0.0.1:";
  const std::size_t at = line.find(key);
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(line.c_str() + at + key.size()));
}

Ports await_listening(Process& process) {
  const std::string line = process.await_line("listening ");
  return {port_in(line, "tcp"), port_in(line, "udp")};
}

std::string tcp_echo(ProbeHarness& harness, std::uint16_t port, const std::string& text) {
  tcp::socket socket(harness.io());
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(text));
  std::string reply(text.size(), '\0');
  bool done = false;
  asio::async_read(socket, asio::buffer(reply), [&](const std::error_code&, std::size_t n) {
    reply.resize(n);
    done = true;
  });
  EXPECT_TRUE(harness.run_until([&] { return done; }));
  return reply;
}

std::string udp_echo(ProbeHarness& harness, std::uint16_t port, const std::string& text) {
  udp::socket socket(harness.io(), udp::endpoint(udp::v4(), 0));
  socket.send_to(asio::buffer(text), {asio::ip::make_address("127.0.0.1"), port});
  std::string reply(1500, '\0');
  bool done = false;
  socket.async_receive(asio::buffer(reply), [&](const std::error_code& ec, std::size_t n) {
    reply.resize(ec ? 0 : n);
    done = true;
  });
  EXPECT_TRUE(harness.run_until([&] { return done; }));
  return reply;
}

TEST(NetmonEchoProcess, EchoesOverTcpAndUdpAndExitsCleanlyOnSigterm) {
  Process process({"--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"});
  const Ports ports = await_listening(process);
  ASSERT_NE(ports.tcp, 0) << process.output();
  ProbeHarness harness;
  EXPECT_EQ(tcp_echo(harness, ports.tcp, "hello over tcp"), "hello over tcp");
  EXPECT_EQ(udp_echo(harness, ports.udp, "hello over udp"), "hello over udp");

  process.signal(SIGTERM);
  EXPECT_EQ(process.await_exit(), 0) << process.output();
  EXPECT_NE(process.output().find("stopping signal=SIGTERM"), std::string::npos)
      << process.output();
  EXPECT_NE(process.output().find("stopped connections=1 rejected=0 idle_closed=0 tcp_bytes=14 "
                                  "datagrams=1 udp_bytes=14"),
            std::string::npos)
      << process.output();
}

TEST(NetmonEchoProcess, ExitsCleanlyOnSigintWithClientsConnected) {
  Process process({"--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--max-clients", "4"});
  const Ports ports = await_listening(process);
  ASSERT_NE(ports.tcp, 0) << process.output();
  ProbeHarness harness;
  tcp::socket held(harness.io());
  held.connect({asio::ip::make_address("127.0.0.1"), ports.tcp});
  EXPECT_EQ(tcp_echo(harness, ports.tcp, "x"), "x");

  process.signal(SIGINT);
  EXPECT_EQ(process.await_exit(), 0) << process.output();
  EXPECT_NE(process.output().find("stopping signal=SIGINT"), std::string::npos) << process.output();
  EXPECT_NE(process.output().find("max_clients=4"), std::string::npos) << process.output();
}

TEST(NetmonEchoProcess, RunsWithUdpOnly) {
  Process process({"--tcp", "off", "--udp", "127.0.0.1:0"});
  const std::string line = process.await_line("listening ");
  ASSERT_EQ(line.rfind("tcp=off udp=127.0.0.1:", 0), 0u) << process.output();
  ProbeHarness harness;
  EXPECT_EQ(udp_echo(harness, port_in(line, "udp"), "only udp"), "only udp");
  process.signal(SIGTERM);
  EXPECT_EQ(process.await_exit(), 0) << process.output();
}

TEST(NetmonEchoProcess, HelpDescribesEveryOptionWithItsDefault) {
  Process process({"--help"});
  EXPECT_EQ(process.await_exit(), 0);
  const std::string& help = process.output();
  for (const char* text :
       {"--tcp", "127.0.0.1:12345", "--udp", "127.0.0.1:10100", "'off'", "--max-clients", "1024",
        "--idle-timeout", "=60s", "--log-level", "SIGTERM"}) {
    EXPECT_NE(help.find(text), std::string::npos) << "missing '" << text << "' in\n" << help;
  }
}

TEST(NetmonEchoProcess, ExitsWithStatusTwoOnUsageErrors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--tcp", "localhost"},
                                             {"--tcp", "off", "--udp", "off"},
                                             {"--max-clients", "0"},
                                             {"--idle-timeout", "soon"},
                                             {"--log-level", "loud"},
                                             {"--bogus"}}) {
    Process process(args);
    EXPECT_EQ(process.await_exit(), 2) << args[0] << ": " << process.output();
  }
  Process both_off({"--tcp", "", "--udp", "off"});
  EXPECT_EQ(both_off.await_exit(), 2);
  EXPECT_NE(both_off.output().find("--tcp and --udp are both off: nothing to serve"),
            std::string::npos)
      << both_off.output();
}

TEST(NetmonEchoProcess, ExitsWithStatusOneNamingTheEndpointWhenThePortIsTaken) {
  ProbeHarness harness;
  tcp::acceptor taken(harness.io(), {asio::ip::make_address("127.0.0.1"), 0});
  const std::string endpoint = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  Process process({"--tcp", endpoint, "--udp", "off"});
  EXPECT_EQ(process.await_exit(), 1);
  EXPECT_NE(process.output().find("cannot listen on tcp " + endpoint), std::string::npos)
      << process.output();
}

}  // namespace
}  // namespace netmon
