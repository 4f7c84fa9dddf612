// The process-test support itself: children started with their output in a
// log, lines awaited with deadlines, signals, exit statuses, ports.
#include "tests/support/child_process.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/temp_dir.hpp"

namespace netmon::testing {
namespace {

using namespace std::chrono_literals;

ChildProcess shell(const TempDir& dir, const std::string& script) {
  return ChildProcess("/bin/sh", {"-c", script}, dir / "child.log");
}

TEST(ChildProcess, AwaitsALineTheChildWritesLaterAndReportsItsExitCode) {
  TempDir dir;
  auto child = shell(dir, "echo starting; sleep 0.2; echo now ready for work; exit 3");
  const auto line = child.wait_for_line("ready", 10s);
  ASSERT_TRUE(line.has_value()) << child.log();
  EXPECT_EQ(*line, "now ready for work");
  EXPECT_EQ(child.wait_exit(10s), 3);
  EXPECT_FALSE(child.running());
}

TEST(ChildProcess, GivesUpOnALineThatNeverComesOnceTheChildHasExited) {
  TempDir dir;
  auto child = shell(dir, "echo something else");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(child.wait_for_line("ready", 30s).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(ChildProcess, AwaitsOnlyLinesAfterAMark) {
  TempDir dir;
  auto child = shell(dir, "echo connected; echo waiting; exec sleep 30");
  ASSERT_TRUE(child.wait_for_line("waiting", 10s));
  const std::size_t mark = child.log_mark();
  EXPECT_FALSE(child.wait_for_line("connected", 50ms, mark).has_value());
  EXPECT_TRUE(child.wait_for_line("connected", 50ms).has_value());
  EXPECT_EQ(child.count_lines("connected"), 1u);
  EXPECT_EQ(child.count_lines("connected", mark), 0u);
}

TEST(ChildProcess, ReportsTheSignalThatKilledItAndStopsAndContinues) {
  TempDir dir;
  auto child = shell(dir, "echo up; exec sleep 30");
  ASSERT_TRUE(child.wait_for_line("up", 10s));
  child.signal(SIGSTOP);
  child.signal(SIGCONT);
  EXPECT_TRUE(child.running());
  EXPECT_FALSE(child.wait_exit(20ms).has_value());
  child.signal(SIGKILL);
  EXPECT_EQ(child.wait_exit(10s), 128 + SIGKILL);
}

TEST(ChildProcess, StopSendsTermAndReturnsTheStatus) {
  TempDir dir;
  auto child = shell(dir, "trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done");
  ASSERT_TRUE(child.wait_for_line("up", 10s));
  EXPECT_EQ(child.stop(10s), 0);
  EXPECT_TRUE(child.wait_for_line("bye", 1s).has_value());
}

TEST(ChildProcess, KillsAndReapsItsChildWhenDestroyed) {
  TempDir dir;
  pid_t pid = 0;
  {
    auto child = shell(dir, "exec sleep 30");
    pid = child.pid();
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  // Reaped: the PID no longer names a process (not even a zombie of ours).
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(ChildProcess, MeasuresTheCpuTimeOfABusyChild) {
  TempDir dir;
  auto child = shell(dir, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; sleep 30");
  ASSERT_TRUE(child.wait_for_line("done", 60s));
  EXPECT_GT(child.cpu_time(), std::chrono::microseconds{0});
}

TEST(FreeTcpPort, ReturnsDistinctPortsThatCanBeBoundOnLoopback) {
  const std::uint16_t first = free_tcp_port();
  const std::uint16_t second = free_tcp_port();
  EXPECT_NE(first, second);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(first);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  EXPECT_EQ(loopback_endpoint(first), "tcp://127.0.0.1:" + std::to_string(first));
}

}  // namespace
}  // namespace netmon::testing
