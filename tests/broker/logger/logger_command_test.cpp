// netmon-logger as a real process: ready once connected, lines to a rotated
// --output file, SIGTERM exits 0 with a summary line; and logger_main
// in-process: --help, usage errors (exit 2), an unusable --broker (exit 1),
// result lines on `out` until it fails (exit 1), --color and --local-time.
#include "broker/logger/logger_command.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>
#include <vector>

#include "broker/result_broker.hpp"
#include "common/protocol/codec.hpp"
#include "tests/broker/logger/logger_test_support.hpp"
#include "tests/support/await.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::logger {
namespace {

using Clock = std::chrono::steady_clock;
using netmon::testing::ChildProcess;
using netmon::testing::TempDir;
constexpr auto kDeadline = std::chrono::seconds(10);

std::size_t count_lines_with(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path);
  std::size_t count = 0;
  for (std::string line; std::getline(in, line);)
    count += line.find(needle) != std::string::npos;
  return count;
}

TEST(LoggerCommand, PrintsReadyWritesRotatedJsonLinesAndExitsZeroOnSigterm) {
  TempDir dir("netmon-logger-command-");
  zmq::context_t context;
  ResultBroker broker(context, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  const auto feed = dir / "feed.jsonl";
  ChildProcess logger(NETMON_LOGGER_BINARY,
                      {"--broker", broker.out_endpoint(), "--json", "--monitor", "edge-1",
                       "--output", feed.string(), "--max-bytes", "2KiB", "--keep", "50"},
                      dir / "logger.log");
  ASSERT_TRUE(logger.wait_for_line("ready", kDeadline)) << logger.log();

  zmq::socket_t publisher(context, zmq::socket_type::pub);
  publisher.connect(broker.in_endpoint());
  const auto publish = [&](const protocol::Record& record) {
    publisher.send(zmq::buffer(protocol::record_topic(record)), zmq::send_flags::sndmore);
    publisher.send(zmq::buffer(protocol::encode_record(record)), zmq::send_flags::none);
  };
  // Until the subscription has travelled (slow joiner), publishes are lost:
  // repeat seq 1 until it is in the file (repeats are no gap).
  const auto end = Clock::now() + kDeadline;  // for both waits together
  ASSERT_TRUE(netmon::testing::await(
      [&] {
        if (count_lines_with(feed, R"("kind":"result")") != 0) return true;
        publish(testing::result_record("edge-1", "echo", 1));
        return false;
      },
      kDeadline))
      << logger.log();
  constexpr int kLast = 40;
  publish(testing::result_record("edge-2", "echo", 1));  // another monitor: filtered out
  for (int seq = 2; seq <= kLast; ++seq) {
    publish(testing::result_record("edge-1", "echo", static_cast<std::uint64_t>(seq)));
  }
  const std::string last = R"("seq":)" + std::to_string(kLast) + ",";
  ASSERT_TRUE(netmon::testing::await(
      [&] { return count_lines_with(feed, last) != 0; },
      std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now())))
      << logger.log();

  logger.signal(SIGTERM);
  EXPECT_EQ(logger.wait_exit(kDeadline), 0) << logger.log();
  EXPECT_EQ(logger.count_lines("stopped lines="), 1u) << logger.log();
  EXPECT_TRUE(std::filesystem::exists(feed.string() + ".1")) << "2 KiB of lines did not rotate";
  std::size_t edge_1 = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("feed.jsonl", 0) != 0) continue;
    edge_1 += count_lines_with(entry.path(), R"("monitor":"edge-1")");
    EXPECT_EQ(count_lines_with(entry.path(), "edge-2"), 0u);
  }
  EXPECT_GE(edge_1, static_cast<std::size_t>(kLast));
}

netmon::testing::CommandRun run_logger(const std::vector<std::string>& args) {
  return netmon::testing::run_command(logger_main, "netmon-logger", args);
}

TEST(LoggerCommand, HelpExitsZeroAndPrintsTheUsageOnOut) {
  const auto run = run_logger({"--help"});
  EXPECT_EQ(run.exit_code, kExitOk);
  EXPECT_NE(run.out.find("--max-bytes"), std::string::npos) << run.out;
  EXPECT_EQ(run.err, "");
}

TEST(LoggerCommand, UsageErrorsExitTwoNamingTheOptionInProcess) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--status", "sideways"},
                                             {"--keep", "0"},
                                             {"--log-level", "loud"},
                                             {"--color", "sometimes"}}) {
    const auto run = run_logger(args);
    EXPECT_EQ(run.exit_code, kExitUsage) << args[0];
    EXPECT_EQ(run.err.rfind("netmon-logger: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(args[0]), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("Run 'netmon-logger --help' for usage."), std::string::npos) << run.err;
  }
}

TEST(LoggerCommand, AnUnusableBrokerExitsOneAndLeavesTheSignalMaskAsItWas) {
  const auto run = run_logger({"--broker", "nonsense"});
  EXPECT_EQ(run.exit_code, kExitFailure);
  EXPECT_NE(run.err.find("--broker nonsense"), std::string::npos) << run.err;
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  EXPECT_FALSE(sigismember(&mask, SIGINT));
}

// logger_main in-process against a real broker (TCP loopback: logger_main has
// its own ZeroMQ context, so no inproc): without --output the lines go to the
// `out` it is given. It stops when `out` fails, as when its pipe closes; a
// signal would not do in-process (it would reach the test's own threads).
struct InProcessRun {
  std::string out;  // what was on `out` once `needle` was
  int exit_code = -1;
  std::string err;
};

// Runs logger_main with `args` (after --broker), publishes `record` until a
// line containing `needle` is on `out`, then fails `out` and publishes
// until logger_main returns.
InProcessRun run_in_process(const std::vector<std::string>& args, const protocol::Record& record,
                            const std::string& needle) {
  zmq::context_t context;
  ResultBroker broker(context, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  zmq::socket_t publisher(context, zmq::socket_type::pub);
  publisher.connect(broker.in_endpoint());
  const auto publish = [&] {
    publisher.send(zmq::buffer(protocol::record_topic(record)), zmq::send_flags::sndmore);
    publisher.send(zmq::buffer(protocol::encode_record(record)), zmq::send_flags::none);
  };

  testing::CaptureStreambuf out_buffer;
  std::ostream out(&out_buffer);
  std::ostringstream err;
  std::vector<std::string> all{"netmon-logger", "--broker", broker.out_endpoint()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& arg : all)
    argv.push_back(arg.c_str());
  std::atomic<int> exit_code{-1};
  std::thread logger(
      [&] { exit_code = logger_main(static_cast<int>(argv.size()), argv.data(), out, err); });

  // Slow joiner: repeat the record until its line is on `out`.
  const bool seen = netmon::testing::await(
      [&] {
        if (out_buffer.text().find(needle) != std::string::npos) return true;
        publish();
        return false;
      },
      kDeadline);
  EXPECT_TRUE(seen) << "no line with '" << needle << "' on out: " << out_buffer.text();
  InProcessRun run;
  run.out = out_buffer.text();

  // Fail `out`; the next line written ends the run.
  out_buffer.close();
  const bool stopped = netmon::testing::await(
      [&] {
        if (exit_code != -1) return true;
        publish();
        return false;
      },
      kDeadline);
  if (!stopped) {
    ADD_FAILURE() << "logger_main did not stop when out failed";
    std::terminate();  // joining would hang; the thread uses this frame
  }
  logger.join();
  run.exit_code = exit_code;
  run.err = err.str();
  return run;
}

TEST(LoggerCommand, WritesResultLinesToOutInProcessAndExitsOneWhenOutFails) {
  const auto run =
      run_in_process({"--json"}, testing::result_record("edge-1", "echo", 1), R"("kind":"result")");
  EXPECT_NE(run.out.find(R"("monitor":"edge-1")"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(R"("seq":1,)"), std::string::npos) << run.out;
  EXPECT_TRUE(!run.out.empty() && run.out.back() == '\n') << run.out;
  EXPECT_EQ(run.exit_code, kExitFailure);
  EXPECT_EQ(run.err, "");
}

TEST(LoggerCommand, ColoursAndLocalTimeAreWhatTheFlagsSay) {
  const char* saved = std::getenv("TZ");
  const std::string saved_tz = saved ? saved : "";
  setenv("TZ", "CET-1", 1);
  tzset();
  const auto down = testing::result_record("edge-1", "port", 1, CheckStatus::kDown);
  const auto run = run_in_process({"--color", "always", "--local-time"}, down, "connect_refused");
  set_output_time_zone(TimeZone::kUtc);
  if (saved) {
    setenv("TZ", saved_tz.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  EXPECT_EQ(run.out.rfind("2026-11-21T06:36:50.265+01:00  edge-1       port ", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("\x1b[31mdown   \x1b[0m"), std::string::npos) << run.out;

  // auto: `out` here is no terminal.
  const auto plain = run_in_process({}, down, "connect_refused");
  EXPECT_EQ(plain.out.rfind("2026-11-21T05:36:50.265Z  edge-1", 0), 0u) << plain.out;
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;
}

// netmon-logger on a pseudo-terminal, as a user runs it: what --color auto
// sees. Publishes `record` until a line containing `needle` is on the
// terminal (or the deadline passes), then stops the logger; what it printed.
std::string run_on_terminal(const protocol::Record& record, const std::string& needle,
                            bool no_color) {
  zmq::context_t context;
  ResultBroker broker(context, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:0"});
  zmq::socket_t publisher(context, zmq::socket_type::pub);
  publisher.connect(broker.in_endpoint());
  // Built before fork: the child only calls execve (this process has threads).
  std::vector<std::string> env_text;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::string_view(*entry).rfind("NO_COLOR=", 0) != 0) env_text.emplace_back(*entry);
  }
  if (no_color) env_text.emplace_back("NO_COLOR=1");
  std::vector<char*> env;
  for (auto& entry : env_text)
    env.push_back(entry.data());
  env.push_back(nullptr);
  const std::string endpoint = broker.out_endpoint();
  std::vector<char*> argv{const_cast<char*>(NETMON_LOGGER_BINARY),        // NOLINT
                          const_cast<char*>("--broker"),                  // NOLINT
                          const_cast<char*>(endpoint.c_str()), nullptr};  // NOLINT

  int terminal = -1;
  const pid_t pid = forkpty(&terminal, nullptr, nullptr, nullptr);
  if (pid == 0) {
    execve(argv[0], argv.data(), env.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0) << "forkpty failed";
  if (pid <= 0) return "";
  std::string text;
  const auto end = Clock::now() + kDeadline;
  while (text.find(needle) == std::string::npos && Clock::now() < end) {
    publisher.send(zmq::buffer(protocol::record_topic(record)), zmq::send_flags::sndmore);
    publisher.send(zmq::buffer(protocol::encode_record(record)), zmq::send_flags::none);
    pollfd item{terminal, POLLIN, 0};
    // Waits for output at most 100 ms, then publishes again (slow joiner).
    if (poll(&item, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(terminal, buffer, sizeof buffer);
    if (n <= 0) break;  // the logger exited
    text.append(buffer, static_cast<std::size_t>(n));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(terminal);
  return text;
}

// Result lines and the process's own log lines alike.
TEST(LoggerCommand, ColoursOnATerminalUnlessNoColorIsSet) {
  const auto down = testing::result_record("edge-1", "port", 1, CheckStatus::kDown);
  const std::string coloured = run_on_terminal(down, "connect_refused", false);
  EXPECT_NE(coloured.find("\x1b[31mdown   \x1b[0m"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\x1b[32minfo"), std::string::npos)
      << "the ready log line's level: " << coloured;
  const std::string plain = run_on_terminal(down, "connect_refused", true);
  EXPECT_NE(plain.find("connect_refused"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << "no colour at all: " << plain;
}

TEST(LoggerCommand, AutoColourNeedsATerminalAndNoNoColor) {
  EXPECT_TRUE(use_color(ColorMode::kAuto, true, nullptr));
  EXPECT_TRUE(use_color(ColorMode::kAuto, true, "")) << "an empty NO_COLOR does not count";
  EXPECT_FALSE(use_color(ColorMode::kAuto, true, "1"));
  EXPECT_FALSE(use_color(ColorMode::kAuto, false, nullptr));
  EXPECT_TRUE(use_color(ColorMode::kAlways, false, "1"));
  EXPECT_FALSE(use_color(ColorMode::kNever, true, nullptr));
}

}  // namespace
}  // namespace netmon::logger
