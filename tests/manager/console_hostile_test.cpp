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
#include "tests/manager/ctl_test_client.hpp"
#include "tests/manager/fake_console_host.hpp"
#include "tests/manager/manager_test_support.hpp"
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

TEST_F(ConsoleHostileTest, AFloodOfChangesToAMonitorThatNeverAcknowledgesIsRefusedAsBusy) {
  host_.acks = false;
  std::size_t busy = 0;
  for (int i = 0; i < 1000; ++i) {
    console_.handle(
        CtlCall{
            "c",
            ctl::Request{++next_id_, "set", {"edge-1/web-1", "port=" + std::to_string(1000 + i)}}},
        MonotonicClock::TimePoint{});
  }
  for (const ctl::Reply& reply : replies_)
    busy += reply.code == "busy" ? 1 : 0;
  // Without a bound all 1000 wait (and are 1000 writes of the file).
  EXPECT_GE(busy, 900U);
  EXPECT_EQ(replies_.size(), busy);
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

class ConsoleSocketHostileTest : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> start() {
    ManagerOptions options = setup_.options();
    options.ctl = ctl::default_ctl_endpoint(setup_.data_dir());
    auto manager = std::make_unique<Manager>(context_, options);
    manager->start();
    return manager;
  }

  ManagerSetup setup_;
  zmq::context_t context_;
};

TEST_F(ConsoleSocketHostileTest, FiftyClientsAtOnceAreAllAnswered) {
  auto manager = start();
  std::vector<std::unique_ptr<CtlClient>> clients;
  std::vector<std::vector<std::uint64_t>> ids(50);
  for (int i = 0; i < 50; ++i)
    clients.push_back(std::make_unique<CtlClient>(context_, manager->ctl_endpoint()));
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i)
      ids[i].push_back(clients[i]->send(round % 2 ? "checks" : "status"));
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    for (const std::uint64_t id : ids[i]) {
      const ctl::Reply reply = clients[i]->await_reply(id);
      EXPECT_TRUE(reply.ok) << "client " << i << " request " << id << ": " << reply.message;
    }
  }
}

TEST_F(ConsoleSocketHostileTest, AClientThatNeverReadsItsRepliesStopsNeitherMonitorsNorOthers) {
  auto manager = start();
  FakeMonitor monitor(context_, *manager, "edge-1");
  ASSERT_TRUE(monitor.connect());
  CtlClient flooder(context_, manager->ctl_endpoint());
  constexpr int kFlood = 10'000;
  for (int i = 0; i < kFlood; ++i)
    (void)flooder.send("help");  // the largest reply there is; never read
  CtlClient other(context_, manager->ctl_endpoint());
  EXPECT_TRUE(other.call("status").ok);
  EXPECT_TRUE(monitor.publish_until_acked(monitor.result(1)));
  EXPECT_TRUE(await([&] { return manager->stats().ctl_requests >= kFlood; }));
  // After the flood: the monitor is still CONNECTED and the others still served.
  EXPECT_TRUE(monitor.publish_until_acked(monitor.result(2)));
  const ctl::Reply monitors = other.call("monitors");
  ASSERT_TRUE(monitors.ok) << monitors.message;
  const json list = json::parse(monitors.data);
  bool connected = false;
  for (const auto& m : list["monitors"]) {
    if (m["name"] == "edge-1") connected = m["state"] == "CONNECTED";
  }
  EXPECT_TRUE(connected) << monitors.data;
}

TEST_F(ConsoleSocketHostileTest, RequestsAtTheLimitsAreServedAndJustOverAreRefused) {
  auto manager = start();
  CtlClient client(context_, manager->ctl_endpoint());
  // 256 arguments: served (a usage error is an answer); 257: bad_request.
  EXPECT_NE(client.call("help", std::vector<std::string>(ctl::kMaxArgs, "x")).code, "bad_request");
  EXPECT_EQ(client.call("help", std::vector<std::string>(ctl::kMaxArgs + 1, "x")).code,
            "bad_request");
  // Exactly 64 KiB of request: served; one byte more: bad_request.
  const std::string empty = ctl::encode_request(ctl::Request{1000, "complete", {""}});
  std::string word(ctl::kMaxRequestBytes - empty.size(), 'a');
  std::string body = ctl::encode_request(ctl::Request{1000, "complete", {word}});
  // The str header grew from 1 to 3 bytes: take that off the word.
  word.resize(word.size() - (body.size() - ctl::kMaxRequestBytes));
  body = ctl::encode_request(ctl::Request{1000, "complete", {word}});
  ASSERT_EQ(body.size(), ctl::kMaxRequestBytes);
  client.send_raw(body);
  EXPECT_TRUE(client.await_reply(1000).ok);
  client.send_raw(ctl::encode_request(ctl::Request{1001, "complete", {word + "a"}}));
  EXPECT_EQ(client.await_reply(1001).code, "bad_request");
}

TEST_F(ConsoleSocketHostileTest, AMessageOfTwoMebibytesLosesItsConnectionNotTheManager) {
  auto manager = start();
  {
    CtlClient big(context_, manager->ctl_endpoint());
    big.send_raw(std::string(2 * 1024 * 1024, 'x'));
    EXPECT_EQ(big.await_reply(0, 500ms).code, "timeout");  // disconnected, not answered
  }
  CtlClient client(context_, manager->ctl_endpoint());
  EXPECT_TRUE(client.call("status").ok);
}

}  // namespace
}  // namespace netmon::manager::testing
