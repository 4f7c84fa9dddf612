// The console attacked: requests an operator would never type, on the
// console's command handling in-process (a fake host) and on a real
// manager's ctl socket. Every request gets exactly one reply that is valid
// msgpack with valid UTF-8 texts and a valid JSON document; nothing is
// written beside what the operator named.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/monotonic_clock.hpp"
#include "common/protocol/ctl_codec.hpp"
#include "common/text.hpp"
#include "manager/result_store.hpp"
#include "tests/manager/fake_console_host.hpp"
#include "tests/support/await.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::manager::testing {
namespace {

namespace ctl = protocol::ctl;
using json = nlohmann::json;

class ConsoleHostileTest : public ::testing::Test {
 protected:
  ConsoleHostileTest()
      : console_(host_, dir_.path(), [this](const std::string&, const ctl::Reply& reply) {
          replies_.push_back(reply);
        }) {}

  // One request in, its one reply out (after the worker, for store queries).
  ctl::Reply call(std::string command, std::vector<std::string> args = {}) {
    const std::size_t before = replies_.size();
    const CtlCall request{"client", ctl::Request{++next_id_, std::move(command), std::move(args)}};
    console_.handle(request, MonotonicClock::TimePoint{});
    const bool answered = netmon::testing::await([&] {
      console_.tick(MonotonicClock::TimePoint{});
      return replies_.size() > before;
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(replies_.size(), before + 1);
    if (!answered) return ctl::Reply{0, false, "timeout", "no reply", ""};
    return replies_.back();
  }

  // A reply a client can read: decodes, texts are UTF-8, data is JSON.
  static void expect_readable(const ctl::Reply& reply) {
    auto decoded = ctl::decode_reply(ctl::encode_reply(reply));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(is_valid_utf8(reply.message)) << reply.message;
    EXPECT_TRUE(is_valid_utf8(reply.code)) << reply.code;
    EXPECT_TRUE(is_valid_utf8(reply.data)) << reply.data;
    if (!reply.data.empty()) {
      EXPECT_FALSE(json::parse(reply.data, nullptr, false).is_discarded()) << reply.data;
    }
  }

  netmon::testing::TempDir dir_;
  ResultStore store_{dir_.path(), sqlite::Synchronous::kOff};  // an empty store to export
  FakeConsoleHost host_;
  std::vector<ctl::Reply> replies_;
  ConsoleCommands console_;
  std::uint64_t next_id_ = 0;
};

const std::string kBadUtf8 = "edge-\xff\xfe";
const std::string kNul = std::string("web\0x", 5);

TEST_F(ConsoleHostileTest, CompletingAnInvalidUtf8WordAnswersWithValidJson) {
  // The data document echoes the word being typed: strict dump() threw on it.
  const ctl::Reply reply = call("complete", {"monitor " + kBadUtf8});
  EXPECT_TRUE(reply.ok) << reply.code << ": " << reply.message;
  expect_readable(reply);
}

TEST_F(ConsoleHostileTest, InvalidUtf8AndNulBytesInEveryArgumentGiveReadableReplies) {
  const std::vector<std::string> commands = {
      "help",  "status", "monitors", "monitor",     "checks",      "add",    "addconf",
      "set",   "del",    "delconf",  "monitor-add", "monitor-del", "events", "tail",
      "stats", "reload", "exit",     "complete",    kBadUtf8,      kNul};
  for (const std::string& command : commands) {
    for (const std::string& bad : {kBadUtf8, kNul, std::string("edge-1/") + kBadUtf8}) {
      SCOPED_TRACE(command + " " + bad);
      expect_readable(call(command, {bad}));
      expect_readable(call(command, {"edge-1", bad, "tcp", "host=" + bad, bad + "=1"}));
    }
  }
}

TEST_F(ConsoleHostileTest, AnUnknownCommandCutToSixtyFourBytesStaysValidUtf8) {
  // 63 ASCII bytes and then a 2-byte character: a cut at 64 splits it.
  const ctl::Reply reply = call(std::string(63, 'x') + "\xc3\xa9tail");
  EXPECT_EQ(reply.code, "unknown_command");
  expect_readable(reply);
}

TEST_F(ConsoleHostileTest, ExportToADirectoryFailsAndLeavesNoPartialFile) {
  const auto target = dir_ / "a-directory";
  std::filesystem::create_directory(target);
  const ctl::Reply reply = call("export", {target.string()});
  EXPECT_FALSE(reply.ok);
  expect_readable(reply);
  EXPECT_TRUE(std::filesystem::is_directory(target));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
}

// What `export /dev/full` did as root: renamed a new regular file over the
// device node. A FIFO stands in for the device (no test touches /dev).
TEST_F(ConsoleHostileTest, ExportOverSomethingThatIsNotAPlainFileIsRefusedAndLeavesItBe) {
  const auto fifo = dir_ / "a-fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const ctl::Reply reply = call("export", {fifo.string()});
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.code, "export_failed");
  expect_readable(reply);
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
}

TEST_F(ConsoleHostileTest, ExportDoesNotOverwriteAFileTheOperatorDidNotName) {
  // FILE.partial is not FILE: a file of that name that was there stays.
  const auto file = dir_ / "out.jsonl";
  const auto bystander = dir_ / "out.jsonl.partial";
  {
    std::ofstream out(bystander);
    out << "keep me\n";
  }
  (void)call("export", {file.string()});
  ASSERT_TRUE(std::filesystem::exists(bystander));
  std::ifstream in(bystander);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "keep me");
}

TEST_F(ConsoleHostileTest, ThousandsOfParametersAndAHugeLineAreAnswered) {
  std::vector<std::string> args = {"edge-1", "web-9", "tcp"};
  for (int i = 0; i < 5000; ++i)
    args.push_back("p" + std::to_string(i) + "=" + std::to_string(i));
  expect_readable(call("add", args));
  expect_readable(call("complete", {std::string(1 << 20, 'a')}));
  expect_readable(call("complete", {std::string(1 << 16, ' ') + "add edge-1 web tcp "}));
}

TEST_F(ConsoleHostileTest, AFloodOfStoreQueriesIsRefusedAsBusyNotQueuedWithoutBound) {
  // Every request gets an answer: queued ones later, the rest `busy` at once.
  const std::size_t before = replies_.size();
  constexpr int kRequests = 500;
  for (int i = 0; i < kRequests; ++i) {
    console_.handle(CtlCall{"c" + std::to_string(i), ctl::Request{++next_id_, "stats", {}}},
                    MonotonicClock::TimePoint{});
  }
  EXPECT_TRUE(netmon::testing::await([&] {
    console_.tick(MonotonicClock::TimePoint{});
    return replies_.size() == before + kRequests;
  }));
  for (std::size_t i = before; i < replies_.size(); ++i)
    expect_readable(replies_[i]);
}

}  // namespace
}  // namespace netmon::manager::testing
