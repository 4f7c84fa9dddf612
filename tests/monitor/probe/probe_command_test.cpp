// The command as users run it: the built netmon-probe binary as a child
// process (exit codes, files, Ctrl+C), plus probe_main in-process.

#include "monitor/probe/probe_command.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace netmon::probe {
namespace {

constexpr auto kDeadline = std::chrono::seconds(20);

struct Loopback {
  asio::io_context io;
  asio::ip::tcp::acceptor listener{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::string port = std::to_string(listener.local_endpoint().port());
};

struct Finished {
  int exit_code = -1;  // -1: killed or did not finish
  std::string out;
  std::string err;
};

// Runs the binary; `on_output(out_so_far, pid)` sees stdout as it arrives.
// Everything waits on the child's pipes with a deadline; a child that
// outlives it is killed and the test fails.
Finished run_probe(const std::vector<std::string>& args,
                   const std::function<void(const std::string&, pid_t)>& on_output = {}) {
  Finished finished;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return finished;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<std::string> argv_text{NETMON_PROBE_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, NETMON_PROBE_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << NETMON_PROBE_BINARY;
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return finished;
  }

  const auto end = std::chrono::steady_clock::now() + kDeadline;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&finished.out, &finished.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "netmon-probe did not finish within the deadline; output:\n"
                    << finished.out << finished.err;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
        continue;
      }
      sinks[i]->append(buffer, static_cast<std::size_t>(n));
      if (i == 0 && on_output) on_output(finished.out, pid);
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);  // the pipes closed: the child has exited or was killed
  if (WIFEXITED(status)) finished.exit_code = WEXITSTATUS(status);
  return finished;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(ProbeCommand, BinaryProbesALoopbackListenerAndWritesTheJson) {
  Loopback server;
  testing::TempDir dir("netmon-probe-test-");
  const std::string path = (dir / "results.json").string();
  const Finished run = run_probe(
      {"127.0.0.1", "-p", server.port, "--no-ping", "-c", "2", "-i", "100ms", "-o", path});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("netmon-probe: 1 check on 1 target every 100ms (timeout 80ms), 2 rounds"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("--- statistics: 2 rounds in "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("  tcp/" + server.port), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("results written to " + path), std::string::npos) << run.out;

  const nlohmann::json json = read_json(path);
  EXPECT_EQ(json["session"]["rounds"], 2);
  EXPECT_EQ(json["session"]["ended_by"], "count");
  EXPECT_EQ(json["session"]["ports"], nlohmann::json::array({std::stoi(server.port)}));
  const nlohmann::json& target = json["statistics"]["127.0.0.1"];
  EXPECT_EQ(target["total"], 2);
  EXPECT_EQ(target["successful"], 2);
  EXPECT_DOUBLE_EQ(target["success_rate"].get<double>(), 100.0);
  EXPECT_FALSE(target["types"]["tcp"]["latency_ms"]["median"].is_null());
  EXPECT_DOUBLE_EQ(target["ports"][server.port]["success_rate"].get<double>(), 100.0);
  ASSERT_EQ(json["raw_data"].size(), 2u);
  EXPECT_EQ(json["raw_data"][0]["status"], "up");
  EXPECT_EQ(json["raw_data"][0]["type"], "tcp");
  EXPECT_EQ(json["raw_data"][1]["round"], 2);
}

TEST(ProbeCommand, BinaryExitsOneWhenACheckOfTheLastRoundFailed) {
  Loopback server;
  std::string closed;
  {
    asio::ip::tcp::acceptor bound(server.io, {asio::ip::make_address("127.0.0.1"), 0});
    closed = std::to_string(bound.local_endpoint().port());
  }
  const Finished run =
      run_probe({"127.0.0.1", "-p", server.port, closed, "--no-ping", "-c", "1", "-i", "100ms"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("1 (connect_refused)"), std::string::npos) << run.out;
}

TEST(ProbeCommand, BinaryExitsTwoWithTheReasonOnUsageErrors) {
  const Finished run = run_probe({"--check", "tcp host=127.0.0.1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "netmon-probe: --check: check 'tcp-1': port is required (1..65535)\n"
            "Run 'netmon-probe --help' for usage.\n");
  EXPECT_EQ(run.out, "");
}

TEST(ProbeCommand, BinaryEndsOnCtrlCWithFinalStatisticsAndTheJson) {
  Loopback server;
  testing::TempDir dir("netmon-probe-test-");
  const std::string path = (dir / "results.json").string();
  bool interrupted = false;
  const Finished run =
      run_probe({"127.0.0.1", "-p", server.port, "--no-ping", "-i", "100ms", "-v", "-o", path},
                [&](const std::string& out, pid_t pid) {
                  // Ctrl+C once the second result line is out.
                  if (!interrupted && out.find("#2 ") != std::string::npos &&
                      out.find('\n', out.find("#2 ")) != std::string::npos) {
                    interrupted = true;
                    ::kill(pid, SIGINT);
                  }
                });
  ASSERT_TRUE(interrupted) << run.out << run.err;
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("ended by SIGINT"), std::string::npos) << run.out;
  const nlohmann::json json = read_json(path);
  EXPECT_EQ(json["session"]["ended_by"], "SIGINT");
  EXPECT_GE(json["session"]["rounds"].get<int>(), 2);
  EXPECT_EQ(json["raw_data"].size(), json["statistics"]["127.0.0.1"]["total"].get<std::size_t>());
}

TEST(ProbeCommand, HelpGoesToStdoutWithExitZero) {
  std::ostringstream out;
  std::ostringstream err;
  const char* argv[] = {"netmon-probe", "--help"};
  EXPECT_EQ(probe_main(2, argv, out, err), 0);
  EXPECT_NE(out.str().find("Examples:"), std::string::npos);
  EXPECT_EQ(err.str(), "");
}

TEST(ProbeCommand, RunsInProcessAndPrintsVerboseLines) {
  Loopback server;
  std::ostringstream out;
  std::ostringstream err;
  const std::string port = server.port;
  const char* argv[] = {"netmon-probe", "127.0.0.1", "-p", port.c_str(), "--no-ping",
                        "-c",           "1",         "-v", "-i",         "100ms"};
  EXPECT_EQ(probe_main(10, argv, out, err), 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("#1    tcp-127.0.0.1-" + port + "  127.0.0.1:" + port + "  up "),
            std::string::npos)
      << out.str();
}

TEST(ProbeCommand, PrintsIpv6TargetsWithTheAddressInBrackets) {
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("::1"), 0});
  const std::string port = std::to_string(listener.local_endpoint().port());
  const std::string target = "[::1]:" + port;
  testing::TempDir dir("netmon-probe-test-");
  const std::string path = (dir / "results.json").string();
  const std::string check = "tcp host=::1 port=" + port;
  std::ostringstream out;
  std::ostringstream err;
  const char* argv[] = {"netmon-probe", "::1",         "-p", port.c_str(), "--no-ping",
                        "--check",      check.c_str(), "-c", "1",          "-v",
                        "-i",           "100ms",       "-o", path.c_str()};
  ASSERT_EQ(probe_main(14, argv, out, err), 0) << out.str() << err.str();
  const std::string text = out.str();
  // Both -v lines (the HOST form's check and the --check), then the --check's
  // target row in the statistics.
  std::size_t up_lines = 0;
  for (std::size_t at = text.find("  " + target + "  up "); at != std::string::npos;
       at = text.find("  " + target + "  up ", at + 1)) {
    ++up_lines;
  }
  EXPECT_EQ(up_lines, 2u) << text;
  EXPECT_NE(text.find("\n" + target + " "), std::string::npos) << text;
  EXPECT_EQ(text.find("::1:" + port), std::string::npos) << text;

  const nlohmann::json json = read_json(path);
  ASSERT_EQ(json["raw_data"].size(), 2u);
  for (const auto& entry : json["raw_data"])
    EXPECT_EQ(entry["target"], target);
  for (const auto& entry : json["session"]["checks"])
    EXPECT_EQ(entry["target"], target);
  EXPECT_TRUE(json["statistics"].contains(target)) << json["statistics"].dump();
  EXPECT_TRUE(json["statistics"].contains("::1"));  // the HOST form's row is the host
}

}  // namespace
}  // namespace netmon::probe
