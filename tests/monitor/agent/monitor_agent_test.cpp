#include "monitor/agent/monitor_agent.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "monitor/agent/monitor_state.hpp"
#include "monitor/agent/result_outbox.hpp"
#include "tests/monitor/agent/old_outbox.hpp"
#include "tests/support/await.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::await;

std::string unique_endpoint(const std::string& what) {
  static std::atomic<int> counter{0};
  return "inproc://agent-test-" + what + "-" + std::to_string(counter++);
}

// How long the agent's tests await a condition.
constexpr std::chrono::milliseconds kWait = 10s;

// The manager's end of the control channel: a raw ROUTER speaking the codec.
class FakeManager {
 public:
  FakeManager(zmq::context_t& context, const std::string& endpoint)
      : router_(context, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind(endpoint);
  }

  // The next decodable message within `timeout`, remembering its sender.
  std::optional<protocol::ControlMessage> receive(std::chrono::milliseconds timeout = 10s) {
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 10ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t peer;
      zmq::message_t body;
      if (!router_.recv(peer) || !router_.recv(body)) continue;
      auto decoded = protocol::decode_control(body.to_string_view());
      EXPECT_TRUE(decoded.ok()) << "the agent sent an undecodable message";
      if (!decoded) continue;
      peer_ = peer.to_string();
      return std::move(decoded).value();
    }
    return std::nullopt;
  }

  // The next message of type T; anything else before it fails the test.
  template <class T>
  std::optional<T> await(std::chrono::milliseconds timeout = 10s) {
    auto message = receive(timeout);
    if (!message) return std::nullopt;
    if (!std::holds_alternative<T>(*message)) {
      ADD_FAILURE() << "expected another message type, got " << protocol::type_name(*message);
      return std::nullopt;
    }
    return std::get<T>(std::move(*message));
  }

  void send(const protocol::ControlMessage& message) { send_frames({protocol::encode(message)}); }

  void send_frames(const std::vector<std::string>& frames) {
    router_.send(zmq::buffer(peer_), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      router_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  const std::string& peer() const { return peer_; }
  std::string endpoint() const { return router_.get(zmq::sockopt::last_endpoint); }

 private:
  zmq::socket_t router_;
  std::string peer_;
};

CheckResult make_result(int n) {
  CheckResult result;
  result.check_id = "web";
  result.type = "tcp";
  result.target = "127.0.0.1:80";
  result.status = CheckStatus::kUp;
  result.latency = std::chrono::microseconds(100 + n);
  result.details = {{"n", n}};
  return result;
}

CheckSpec tcp_check(std::string id, std::string port, std::chrono::milliseconds interval = 1h) {
  CheckSpec spec;
  spec.id = std::move(id);
  spec.type = "tcp";
  spec.interval = interval;
  spec.timeout = 50ms;
  spec.params = {{"host", std::string("127.0.0.1")}, {"port", std::move(port)}};
  return spec;
}

std::vector<std::uint64_t> seqs_of(const protocol::Replay& replay) {
  std::vector<std::uint64_t> seqs;
  for (const auto& record : replay.records)
    seqs.push_back(record.key.seq);
  return seqs;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t seq = from; seq <= to; ++seq)
    seqs.push_back(seq);
  return seqs;
}

// The permission bits of `path`, or -1 when it does not exist.
int mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return -1;
  return static_cast<int>(info.st_mode & 07777);
}

// XORs `count` bytes of `file` at `offset` with 0xff.
void flip_bytes(const std::filesystem::path& file, std::uint64_t offset, std::size_t count) {
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes(count, '\0');
  stream.seekg(static_cast<std::streamoff>(offset));
  stream.read(bytes.data(), static_cast<std::streamsize>(count));
  for (char& byte : bytes)
    byte = static_cast<char>(byte ^ 0xff);
  stream.seekp(static_cast<std::streamoff>(offset));
  stream.write(bytes.data(), static_cast<std::streamsize>(count));
}

// Files in `dir` whose names start with `prefix`.
std::vector<std::filesystem::path> files_starting(const std::filesystem::path& dir,
                                                  const std::string& prefix) {
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path());
  }
  return found;
}

// A file size limit for this process (RLIMIT_FSIZE): no file grows past
// `bytes`, as on a full disk; writes beyond fail (SIGXFSZ ignored, as
// netmon-monitor does). Lifted by lift() or at the end of the scope.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limited = previous_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    lift();
    std::signal(SIGXFSZ, previous_handler_);
  }
  void lift() { setrlimit(RLIMIT_FSIZE, &previous_); }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = nullptr;
};

class MonitorAgentTest : public ::testing::Test {
 protected:
  MonitorOptions options() {
    MonitorOptions result;
    result.name = "edge-1";
    result.data_dir = data_dir_;
    result.manager = manager_endpoint_;
    result.broker = bus_endpoint_;
    result.synchronous = sqlite::Synchronous::kNormal;
    result.clock = &clock_;
    return result;
  }

  // Commits `count` results to the data dir's outbox before any agent runs.
  std::string prefill(int count) {
    std::filesystem::create_directories(data_dir_);
    ResultOutbox outbox(data_dir_, "edge-1", {});
    std::vector<CheckResult> results;
    for (int i = 0; i < count; ++i)
      results.push_back(make_result(i));
    (void)outbox.append(results, 0);
    return outbox.epoch();
  }

  // HELLO, then WELCOME with `acked_seq`; returns the HELLO.
  protocol::Hello welcome(MonitorAgent& agent, std::uint64_t acked_seq, std::uint64_t id = 5) {
    auto hello = manager_.await<protocol::Hello>();
    EXPECT_TRUE(hello.has_value());
    manager_.send(protocol::Welcome{id, acked_seq, 1000, 3});
    EXPECT_TRUE(await([&] { return agent.stats().connected; }, kWait));
    return hello.value_or(protocol::Hello{});
  }

  zmq::context_t context_;
  testing::TempDir dir_{"netmon-agent-"};
  std::filesystem::path data_dir_ = dir_ / "data";
  ManualClock clock_;
  std::string manager_endpoint_ = unique_endpoint("manager");
  std::string bus_endpoint_ = unique_endpoint("bus");
  FakeManager manager_{context_, manager_endpoint_};
};

TEST_F(MonitorAgentTest, SaysHelloWithItsIdentityAndOutboxRangeAndNothingElseBeforeWelcome) {
  const std::string epoch = prefill(3);
  MonitorAgent agent(context_, options());
  agent.start();
  auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->name, "edge-1");
  EXPECT_EQ(hello->instance.size(), 32u);
  EXPECT_EQ(hello->monitor_id, 0u);
  EXPECT_EQ(hello->config_version, 0u);
  EXPECT_EQ(hello->epoch, epoch);
  EXPECT_EQ(hello->first_seq, 1u);
  EXPECT_EQ(hello->last_seq, 3u);

  clock_.advance(2500ms);  // heartbeat time, but no WELCOME yet: silence
  EXPECT_FALSE(manager_.receive(300ms).has_value());
  EXPECT_FALSE(agent.stats().connected);
}

TEST_F(MonitorAgentTest, PrintsARejectAndSaysHelloAgainAfterABackoff) {
  MonitorAgent agent(context_, options());
  agent.start();
  ASSERT_TRUE(manager_.await<protocol::Hello>());
  const std::string first_peer = manager_.peer();
  manager_.send(protocol::Reject{"name_in_use", "edge-1 is held by another instance"});
  ASSERT_TRUE(await([&] { return agent.stats().reconnects == 1; }, kWait));
  EXPECT_FALSE(manager_.receive(200ms).has_value());  // not before the backoff
  clock_.advance(1300ms);                             // 1 s + 20 % jitter at most
  auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_NE(manager_.peer(), first_peer);  // a new connection
}

TEST_F(MonitorAgentTest, ReplaysExactlyTheUnackedRangeInBatchesOfAThousandWithFourInFlight) {
  const std::string epoch = prefill(5500);
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 300);
  EXPECT_TRUE(await([&] { return agent.stats().outbox_records == 5200; }, kWait));
  for (std::uint64_t batch = 0; batch < 4; ++batch) {
    auto replay = manager_.await<protocol::Replay>();
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->epoch, epoch);
    EXPECT_EQ(seqs_of(*replay), range(301 + batch * 1000, 1300 + batch * 1000));
  }
  EXPECT_FALSE(manager_.receive(300ms).has_value()) << "a fifth batch before any ACK";

  manager_.send(protocol::Ack{epoch, 1300});
  auto fifth = manager_.await<protocol::Replay>();
  ASSERT_TRUE(fifth);
  EXPECT_EQ(seqs_of(*fifth), range(4301, 5300));
  manager_.send(protocol::Ack{epoch, 2300});
  auto sixth = manager_.await<protocol::Replay>();
  ASSERT_TRUE(sixth);
  EXPECT_EQ(seqs_of(*sixth), range(5301, 5500));

  manager_.send(protocol::Ack{epoch, 5500});
  EXPECT_TRUE(await([&] { return agent.stats().outbox_records == 0; }, kWait));
  EXPECT_EQ(agent.stats().acked_seq, 5500u);
  EXPECT_EQ(agent.stats().replayed, 5200u);
}

TEST_F(MonitorAgentTest, AcksTrimTheOutboxAndReplayRequestsAreAnsweredFromWhatIsLeft) {
  const std::string epoch = prefill(50);
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  auto replay = manager_.await<protocol::Replay>();
  ASSERT_TRUE(replay);
  EXPECT_EQ(seqs_of(*replay), range(1, 50));

  manager_.send(protocol::Ack{epoch, 30});
  ASSERT_TRUE(await([&] { return agent.stats().outbox_records == 20; }, kWait));
  EXPECT_EQ(agent.stats().acked_seq, 30u);

  manager_.send(protocol::ReplayReq{"ffffffffffffffff", 1, 50});  // not our epoch
  manager_.send(protocol::ReplayReq{epoch, 20, 40});
  auto answer = manager_.await<protocol::Replay>();
  ASSERT_TRUE(answer);
  EXPECT_EQ(seqs_of(*answer), range(31, 40));  // 20..30 were acknowledged and trimmed
  EXPECT_TRUE(await([&] { return agent.stats().malformed == 1; }, kWait));
}

TEST_F(MonitorAgentTest, SendsUnacknowledgedReplayBatchesAgainWhenNoAckComesForThreeIntervals) {
  prefill(50);
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  auto replay = manager_.await<protocol::Replay>();
  ASSERT_TRUE(replay);
  EXPECT_EQ(seqs_of(*replay), range(1, 50));

  clock_.advance(2000ms);
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  manager_.send_frames({"alive"});  // keeps the session, acknowledges nothing
  ASSERT_TRUE(await([&] { return agent.stats().malformed == 1; }, kWait));
  clock_.advance(1000ms);  // 3 intervals without ACK progress
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  auto again = manager_.await<protocol::Replay>();
  ASSERT_TRUE(again);
  EXPECT_EQ(seqs_of(*again), range(1, 50));
  EXPECT_TRUE(agent.stats().connected);
}

TEST_F(MonitorAgentTest, KeepsCheckingAtTheOutboxCapAndCommitsALossRecordForWhatItDropped) {
  MonitorOptions opts = options();
  opts.outbox_max_records = 100;
  opts.synthetic_rate = 5000;
  {
    MonitorAgent agent(context_, opts);
    agent.start();
    ASSERT_TRUE(await([&] { return agent.stats().produced >= 400; }, kWait));
    agent.stop();
    const MonitorStats stats = agent.stats();
    EXPECT_GT(stats.dropped_by_cap, 0u);
    EXPECT_LE(stats.outbox_records, 100u);
  }
  ResultOutbox outbox(data_dir_, "edge-1", {.max_records = 100});
  std::uint64_t losses = 0;
  std::uint64_t covered = 0;
  for (const OutboxRecord& held : outbox.read(1, 1000, std::size_t{1} << 30).records) {
    auto record = protocol::decode_record(held.body);
    ASSERT_TRUE(record.ok());
    if (!record->is_loss()) continue;
    const auto& loss = std::get<protocol::LossRange>(record->body);
    EXPECT_EQ(loss.reason, "outbox_full");
    ++losses;
    covered = std::max(covered, loss.to_seq);
  }
  EXPECT_GT(losses, 0u);
  // The newest loss record covers everything up to the oldest record still held.
  EXPECT_EQ(covered + 1, outbox.first_seq());
}

TEST_F(MonitorAgentTest, ContinuesAfterTheManagersAckedSeqWhenItsOutboxLostCommits) {
  const std::string epoch = prefill(5);
  {
    MonitorAgent agent(context_, options());
    agent.start();
    welcome(agent, 20);  // the manager stored seqs this outbox no longer has
    EXPECT_TRUE(await([&] { return agent.stats().last_seq == 20; }, kWait));
    EXPECT_EQ(agent.stats().acked_seq, 20u);
    EXPECT_EQ(agent.stats().outbox_records, 0u);
  }
  ASSERT_TRUE(manager_.await<protocol::Bye>());
  MonitorAgent agent(context_, options());
  agent.start();
  auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->epoch, epoch);
  EXPECT_EQ(hello->first_seq, 21u);
  EXPECT_EQ(hello->last_seq, 20u);
}

TEST_F(MonitorAgentTest, PersistsAConfigBeforeAckingItWithTheDigestOfEveryCheck) {
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  const protocol::Config config{3, {tcp_check("web", "80"), tcp_check("ssh", "22")}};
  manager_.send(config);
  auto ack = manager_.await<protocol::ConfigAck>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->version, 3u);
  EXPECT_TRUE(ack->error.empty()) << ack->error;
  const std::map<std::string, std::string> digests{
      {"web", protocol::check_digest(config.checks[0])},
      {"ssh", protocol::check_digest(config.checks[1])}};
  EXPECT_EQ(ack->digests, digests);
  EXPECT_TRUE(await([&] { return agent.stats().config_version == 3; }, kWait));
  // Already durable when the ACK left: read it from the file while the agent runs.
  MonitorState stored(data_dir_, sqlite::Synchronous::kNormal);
  EXPECT_EQ(stored.config(), config);
}

TEST_F(MonitorAgentTest, RefusesAnInvalidConfigNamingCheckAndFieldAndKeepsTheOldOne) {
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  const protocol::Config good{3, {tcp_check("web", "80")}};
  manager_.send(good);
  ASSERT_TRUE(manager_.await<protocol::ConfigAck>());
  manager_.send(protocol::Config{4, {tcp_check("web", "80"), tcp_check("db", "70000")}});
  auto ack = manager_.await<protocol::ConfigAck>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->version, 4u);
  EXPECT_NE(ack->error.find("db"), std::string::npos) << ack->error;
  EXPECT_NE(ack->error.find("port"), std::string::npos) << ack->error;
  EXPECT_EQ(agent.stats().config_version, 3u);
  agent.stop();
  MonitorState stored(data_dir_, sqlite::Synchronous::kNormal);
  EXPECT_EQ(stored.config(), good);
}

TEST_F(MonitorAgentTest,
       SendsHeartbeatsWhenIdleAndDeclaresTheManagerLostAfterThreeSilentIntervals) {
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  clock_.advance(1000ms);
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  clock_.advance(1999ms);  // 2999 ms of silence from the manager
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  EXPECT_TRUE(agent.stats().connected);
  EXPECT_EQ(agent.stats().reconnects, 0u);

  clock_.advance(1ms);  // 3 intervals
  ASSERT_TRUE(await([&] { return !agent.stats().connected; }, kWait));
  EXPECT_EQ(agent.stats().reconnects, 1u);
  clock_.advance(1300ms);  // the first backoff, at most 1 s + 20 %
  auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->monitor_id, 5u);
}

TEST_F(MonitorAgentTest, SaysHelloToAManagerRestartedOnTheSameEndpointWithinASecond) {
  // Over tcp, where the manager's going shows as the connection dropping. The
  // manual clock never reaches the three silent intervals: only the dropped
  // connection can make the agent say HELLO again.
  auto first = std::make_unique<FakeManager>(context_, "tcp://127.0.0.1:*");
  const std::string endpoint = first->endpoint();
  MonitorOptions tcp = options();
  tcp.manager = endpoint;
  MonitorAgent agent(context_, tcp);
  agent.start();
  ASSERT_TRUE(first->await<protocol::Hello>());
  first->send(protocol::Welcome{5, 0, 1000, 3});
  ASSERT_TRUE(await([&] { return agent.stats().connected; }, kWait));

  first.reset();  // the manager's process ends: its sockets close
  ASSERT_TRUE(await([&] { return agent.stats().reconnects == 1; }, kWait))
      << "the agent did not notice the dropped connection";
  EXPECT_FALSE(agent.stats().connected);
  clock_.advance(240ms);  // the quick reconnect delay, 200 ms + 20 % jitter at most

  // The restarted manager binds the same port (once the old listener is gone).
  std::unique_ptr<FakeManager> second;
  const auto bind_end = Clock::now() + kWait;
  while (!second && Clock::now() < bind_end) {
    try {
      second = std::make_unique<FakeManager>(context_, endpoint);
    } catch (const zmq::error_t&) {
      std::this_thread::yield();
    }
  }
  ASSERT_TRUE(second) << "cannot bind " << endpoint << " again";
  const auto bound = Clock::now();
  auto hello = second->await<protocol::Hello>(1000ms);
  ASSERT_TRUE(hello) << "no HELLO within 1 s of the manager's return";
  EXPECT_LT(Clock::now() - bound, 1000ms);
  EXPECT_EQ(hello->monitor_id, 5u);
  second->send(protocol::Welcome{5, 0, 1000, 3});
  EXPECT_TRUE(await([&] { return agent.stats().connected; }, kWait));
}

TEST_F(MonitorAgentTest, ItsHeartbeatNamesTheOutboxEpochAndTheNewestCommittedSeq) {
  const std::string epoch = prefill(7);
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 7);  // the manager holds all 7: nothing to replay
  clock_.advance(1000ms);
  const auto heartbeat = manager_.await<protocol::Heartbeat>();
  ASSERT_TRUE(heartbeat);
  EXPECT_EQ(heartbeat->epoch, epoch);
  EXPECT_EQ(heartbeat->last_seq, 7u) << "the manager could not notice a lost tail";
}

TEST_F(MonitorAgentTest, AnyMessageFromTheManagerCountsAsAHeartbeat) {
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  clock_.advance(2000ms);
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  manager_.send_frames({"not msgpack"});  // even a malformed one proves the peer is there
  ASSERT_TRUE(await([&] { return agent.stats().malformed == 1; }, kWait));
  clock_.advance(2500ms);  // 4.5 s in, 2.5 s since the manager spoke
  ASSERT_TRUE(manager_.await<protocol::Heartbeat>());
  EXPECT_TRUE(agent.stats().connected);
  clock_.advance(500ms);
  EXPECT_TRUE(await([&] { return !agent.stats().connected; }, kWait));
}

TEST_F(MonitorAgentTest, CountsAndDropsMalformedTruncatedOversizedAndUnknownControlInput) {
  MonitorAgent agent(context_, options());
  agent.start();
  welcome(agent, 0);
  const std::string config = protocol::encode(protocol::Config{2, {tcp_check("web", "80")}});
  msgpack::sbuffer unknown;
  Packer packer(unknown);
  packer.pack_map(3);
  packer.pack(std::string("proto"));
  packer.pack(std::string("NMP"));
  packer.pack(std::string("v"));
  packer.pack(1);
  packer.pack(std::string("type"));
  packer.pack(std::string("BOGUS"));
  std::string other_version = protocol::encode(protocol::Heartbeat{});
  other_version[other_version.find('\x01')] = '\x02';  // v: 1 -> 2

  manager_.send_frames({"\xc1\xff garbage"});
  manager_.send_frames({config.substr(0, config.size() / 2)});
  manager_.send_frames({std::string(protocol::kMaxMessageBytes + 1, 'x')});
  manager_.send_frames({std::string(unknown.data(), unknown.size())});
  manager_.send_frames({other_version});
  manager_.send_frames({protocol::encode(protocol::Heartbeat{}), "second frame"});
  manager_.send(protocol::Hello{"edge-1", "x", 0, 0, "e", 1, 0});  // not a manager's message
  manager_.send_frames({config});

  auto ack = manager_.await<protocol::ConfigAck>();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->version, 2u);
  EXPECT_TRUE(await([&] { return agent.stats().malformed >= 7; }, kWait));
  EXPECT_EQ(agent.stats().malformed, 7u);
  EXPECT_TRUE(agent.stats().connected);
}

TEST_F(MonitorAgentTest, RestartOnTheSameDataDirKeepsInstanceEpochSequenceAndConfig) {
  prefill(3);
  protocol::Hello first;
  const protocol::Config config{2, {tcp_check("web", "80")}};
  {
    MonitorAgent agent(context_, options());
    agent.start();
    first = welcome(agent, 0, 9);
    manager_.send(config);
    ASSERT_TRUE(manager_.await<protocol::Replay>());
    ASSERT_TRUE(manager_.await<protocol::ConfigAck>());
    agent.stop();
    EXPECT_TRUE(manager_.await<protocol::Bye>()) << "a clean stop says BYE";
  }
  MonitorAgent agent(context_, options());
  EXPECT_EQ(agent.stats().monitor_id, 9u);
  agent.start();
  EXPECT_EQ(agent.stats().config_version, 2u);  // resumed before any manager answers
  auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->instance, first.instance);
  EXPECT_EQ(hello->epoch, first.epoch);
  EXPECT_EQ(hello->monitor_id, 9u);
  EXPECT_EQ(hello->config_version, 2u);
  EXPECT_EQ(hello->first_seq, 1u);  // replayed, never acknowledged
  EXPECT_EQ(hello->last_seq, 3u);
}

TEST_F(MonitorAgentTest, ResumesCheckingWithItsStoredConfigWhileTheManagerIsAway) {
  std::filesystem::create_directories(data_dir_);
  {
    MonitorState state(data_dir_, sqlite::Synchronous::kNormal);
    const auto port = std::to_string(testing::free_tcp_port());
    state.save_config(protocol::Config{4, {tcp_check("closed", port, 100ms)}});
  }
  MonitorAgent agent(context_, options());
  agent.start();
  ASSERT_TRUE(manager_.await<protocol::Hello>());  // never answered
  EXPECT_TRUE(await([&] { return agent.stats().produced >= 2; }, kWait));
  EXPECT_EQ(agent.stats().config_version, 4u);
  EXPECT_FALSE(agent.stats().connected);
}

TEST_F(MonitorAgentTest, PublishesOnlyCommittedRecordsAndLogsEveryCommittedSeq) {
  zmq::socket_t bus(context_, zmq::socket_type::xsub);
  bus.bind(bus_endpoint_);
  const char subscribe_all = '\x01';
  bus.send(zmq::buffer(&subscribe_all, 1), zmq::send_flags::none);

  MonitorOptions opts = options();
  opts.synthetic_rate = 5000;
  opts.produced_log = dir_ / "produced.log";
  std::vector<std::pair<std::string, std::string>> published;
  {
    MonitorAgent agent(context_, opts);
    agent.start();
    const auto end = Clock::now() + 10s;
    while (published.size() < 300 && Clock::now() < end) {
      zmq::pollitem_t item{bus.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 10ms);
      zmq::message_t topic;
      zmq::message_t body;
      while (bus.recv(topic, zmq::recv_flags::dontwait)) {
        ASSERT_TRUE(topic.more());
        ASSERT_TRUE(bus.recv(body));
        published.emplace_back(topic.to_string(), body.to_string());
      }
    }
    agent.stop();
    EXPECT_EQ(agent.stats().published, agent.stats().produced);
  }
  ASSERT_GE(published.size(), 300u);

  ResultOutbox outbox(data_dir_, "edge-1", {});
  const auto held = outbox.read(1, 1'000'000, std::size_t{1} << 30).records;
  ASSERT_EQ(held.size(), outbox.last_seq());  // nothing was acknowledged: all still held
  for (const auto& [topic, body] : published) {
    auto record = protocol::decode_record(body);
    ASSERT_TRUE(record.ok()) << record.error().message;
    EXPECT_EQ(topic, protocol::record_topic(*record));
    EXPECT_EQ(topic.rfind("res/edge-1/synthetic-", 0), 0u) << topic;
    EXPECT_EQ(record->key.epoch, outbox.epoch());
    ASSERT_GE(record->key.seq, 1u);
    ASSERT_LE(record->key.seq, held.size());
    EXPECT_EQ(held[record->key.seq - 1].body, body) << "published bytes differ from the committed";
  }

  std::ifstream log(dir_ / "produced.log");
  std::string epoch;
  std::uint64_t seq = 0;
  std::uint64_t expected = 1;
  while (log >> epoch >> seq) {
    EXPECT_EQ(epoch, outbox.epoch());
    EXPECT_EQ(seq, expected++);
  }
  EXPECT_EQ(expected - 1, outbox.last_seq());
}

TEST_F(MonitorAgentTest, TheDropHookSkipsPublishingEveryNthRecordButCommitsAll) {
  MonitorOptions opts = options();
  opts.synthetic_rate = 5000;
  opts.drop_every_nth_publish = 10;
  MonitorAgent agent(context_, opts);
  agent.start();
  ASSERT_TRUE(await([&] { return agent.stats().produced >= 200; }, kWait));
  agent.stop();
  const MonitorStats stats = agent.stats();
  EXPECT_EQ(stats.published, stats.produced - stats.produced / 10);
  EXPECT_EQ(stats.last_seq, stats.produced);
}

TEST_F(MonitorAgentTest, ItsDataDirAndEveryDatabaseFileAreTheOwnersOnly) {
  const mode_t previous_umask = ::umask(022);
  {
    MonitorAgent agent(context_, options());
    agent.start();
    welcome(agent, 0);  // writes the monitor id: monitor.db has a WAL now
    EXPECT_EQ(mode_of(data_dir_), 0700);
    EXPECT_EQ(mode_of(data_dir_ / "monitor.lock"), 0600);
    for (const char* file : {"monitor.db", "outbox.db"}) {
      for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string path = (data_dir_ / file).string() + suffix;
        EXPECT_EQ(mode_of(path), 0600) << path;
      }
    }
  }
  // A data dir made by an older version is tightened at the next start.
  ::chmod(data_dir_.c_str(), 0755);
  ::chmod((data_dir_ / "outbox.db").c_str(), 0644);
  MonitorAgent agent(context_, options());
  EXPECT_EQ(mode_of(data_dir_), 0700);
  EXPECT_EQ(mode_of(data_dir_ / "outbox.db"), 0600);
  ::umask(previous_umask);
}

TEST_F(MonitorAgentTest, AForwardWallClockStepEvictsNothingUnacknowledged) {
  // Results committed a minute ago by the monotonic clock, but stamped an
  // hour ago: the wall clock stepped forward by an hour since.
  std::filesystem::create_directories(data_dir_);
  netmon::testing::write_pre_clock_outbox(data_dir_ / ResultOutbox::kFileName, "00112233445566aa",
                                          50, [](std::int64_t) { return std::chrono::hours(1); });
  MonitorOptions opts = options();
  opts.outbox_max_age = std::chrono::minutes(30);
  opts.synthetic_rate = 1000;
  {
    MonitorAgent agent(context_, opts);
    agent.start();
    ASSERT_TRUE(await([&] { return agent.stats().produced >= 20; }, kWait));
    agent.stop();
    EXPECT_EQ(agent.stats().dropped_by_cap, 0u);
  }
  ResultOutbox outbox(data_dir_, "edge-1", {});
  EXPECT_EQ(outbox.first_seq(), 1u) << "unacknowledged results were evicted by a wall-clock step";
}

class CorruptOutbox : public MonitorAgentTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(CorruptOutbox, IsSetAsideAndTheAgentRunsOnANewEpoch) {
  const std::string old_epoch = prefill(3000);  // closed: everything is in the main file
  const auto file = data_dir_ / ResultOutbox::kFileName;
  constexpr std::uint64_t kPage = 4096;
  if (std::string(GetParam()) == "header") {
    flip_bytes(file, 0, 100);
  } else {
    ASSERT_GT(std::filesystem::file_size(file), 8 * kPage);
    for (std::uint64_t page = 3; page < std::filesystem::file_size(file) / kPage; page += 2)
      flip_bytes(file, page * kPage, 16);  // the b-tree page headers
  }
  MonitorOptions opts = options();
  opts.synthetic_rate = 1000;
  MonitorAgent agent(context_, opts);
  const auto aside = files_starting(data_dir_, "outbox.db.corrupt-");
  ASSERT_EQ(aside.size(), 1u) << "the corrupt outbox was not kept";
  EXPECT_GT(std::filesystem::file_size(aside.front()), 8 * kPage);
  agent.start();
  const auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_NE(hello->epoch, old_epoch);
  EXPECT_EQ(hello->epoch, agent.stats().epoch);
  ASSERT_TRUE(await([&] { return agent.stats().produced >= 10; }, kWait)) << "it does not run";
  EXPECT_FALSE(agent.failure());
}

INSTANTIATE_TEST_SUITE_P(MonitorAgentTest, CorruptOutbox, ::testing::Values("header", "data"));

// What the set-aside outbox held can have no loss record of its own epoch:
// the HELLOs name the epoch and its newest seq at the last clean stop, so the
// manager can store the loss (fault suite: corrupt-outbox lost silently).
TEST_F(MonitorAgentTest, ACorruptOutboxIsNamedInItsHelloWithTheLastSeqOfTheLastCleanStop) {
  std::string old_epoch;
  std::uint64_t old_last = 0;
  {
    MonitorOptions opts = options();
    opts.synthetic_rate = 1000;
    MonitorAgent agent(context_, opts);
    agent.start();
    ASSERT_TRUE(manager_.await<protocol::Hello>());
    ASSERT_TRUE(await([&] { return agent.stats().produced >= 50; }, kWait));
    agent.stop();
    old_epoch = agent.stats().epoch;
    old_last = agent.stats().last_seq;
  }
  flip_bytes(data_dir_ / ResultOutbox::kFileName, 0, 100);
  MonitorAgent agent(context_, options());
  agent.start();
  const auto hello = manager_.await<protocol::Hello>();
  ASSERT_TRUE(hello);
  EXPECT_NE(hello->epoch, old_epoch);
  EXPECT_EQ(hello->ended_epoch, old_epoch);
  EXPECT_EQ(hello->ended_last_seq, old_last);
  EXPECT_GE(old_last, 50u);
}

TEST_F(MonitorAgentTest, AnOutboxThatFailsToBeReadStopsTheAgentWithAFailureNotSilently) {
  prefill(10);
  MonitorAgent agent(context_, options());
  agent.start();
  ASSERT_TRUE(manager_.await<protocol::Hello>());
  {
    // Damage the agent's outbox under it, from another connection.
    sqlite::Database other(data_dir_ / ResultOutbox::kFileName, {});
    other.exec("DROP TABLE records");
  }
  manager_.send(protocol::Welcome{5, 0, 1000, 3});  // asks for a replay of 1..10
  ASSERT_TRUE(await([&] { return agent.failure().has_value(); }, kWait))
      << "the agent thread died and nobody noticed";
  EXPECT_NE(agent.failure()->find("no such table"), std::string::npos) << *agent.failure();
  agent.stop();
}

// Loss records with `reason` in the data dir's outbox: how many results they cover.
std::uint64_t covered_by_losses(const std::filesystem::path& data_dir, const std::string& reason) {
  ResultOutbox outbox(data_dir, "edge-1", {});
  std::uint64_t covered = 0;
  for (std::uint64_t from = outbox.first_seq(); from <= outbox.last_seq();) {
    const auto records = outbox.read(from, 1000, std::size_t{1} << 30).records;
    if (records.empty()) break;
    for (const OutboxRecord& held : records) {
      auto record = protocol::decode_record(held.body);
      if (record && record->is_loss()) {
        const auto& loss = std::get<protocol::LossRange>(record->body);
        if (loss.reason == reason) covered += loss.count;
      }
    }
    from = records.back().seq + 1;
  }
  return covered;
}

class OutboxFailing : public MonitorAgentTest {
 protected:
  MonitorOptions failing_options() {
    MonitorOptions opts = options();
    opts.synthetic_rate = 5000;
    opts.max_pending_results = 500;
    return opts;
  }
  // WELCOME with a liveness long enough for the test's clock jumps.
  void welcome_patiently(MonitorAgent& agent) {
    ASSERT_TRUE(manager_.await<protocol::Hello>());
    manager_.send(protocol::Welcome{5, 0, 1000, 1'000'000});
    ASSERT_TRUE(await([&] { return agent.stats().connected; }, kWait));
  }
  // Moves the clock on until the outbox is stuck failing (a WAL checkpoint
  // cannot free space any more: many retries in a row failed) and results
  // are being shed.
  bool await_failing(MonitorAgent& agent) {
    return await(
        [&] {
          clock_.advance(50ms);
          const MonitorStats stats = agent.stats();
          return stats.commit_failures_in_a_row >= 12 && stats.shed_results > 0;
        },
        30s);
  }
  // The first HEARTBEAT (other messages skipped) whose outbox_error is empty or not.
  std::optional<protocol::Heartbeat> await_heartbeat(bool with_error) {
    const auto end = Clock::now() + 10s;
    while (Clock::now() < end) {
      auto message = manager_.receive(100ms);
      if (!message) continue;
      if (const auto* heartbeat = std::get_if<protocol::Heartbeat>(&*message)) {
        if (heartbeat->outbox_error.empty() != with_error) return *heartbeat;
      }
    }
    return std::nullopt;
  }
};

TEST_F(OutboxFailing, BacksOffBoundsWhatItHoldsReportsItAndRecoversWhenSpaceReturns) {
  std::filesystem::create_directories(data_dir_);
  FileSizeLimit disk_full(256 * 1024);
  MonitorAgent agent(context_, failing_options());
  agent.start();
  welcome_patiently(agent);
  ASSERT_TRUE(await_failing(agent)) << "the outbox never failed under a 256 KiB file limit";

  // With the clock standing still no retry is due: the loop sleeps in its
  // poll instead of trying (and failing) a commit per wakeup.
  const MonitorStats before = agent.stats();
  ASSERT_TRUE(await([&] { return agent.stats().turns >= before.turns + 30; }, kWait));
  const MonitorStats after = agent.stats();
  EXPECT_LE(after.commit_attempts - before.commit_attempts, 1u) << "it spins on the failing outbox";
  EXPECT_LE(after.pending_results, 500u) << "what it holds in memory is not bounded";
  EXPECT_GT(after.shed_results, before.shed_results) << "it stopped taking results";

  const auto failing = await_heartbeat(true);
  ASSERT_TRUE(failing) << "no HEARTBEAT said the outbox is failing";
  EXPECT_EQ(failing->outbox_error, after.outbox_error);

  disk_full.lift();
  ASSERT_TRUE(await(
      [&] {
        clock_.advance(100ms);
        const MonitorStats stats = agent.stats();
        return stats.outbox_error.empty() && stats.pending_results < 500;
      },
      30s))
      << "it did not recover when space came back: " << agent.stats().outbox_error;
  EXPECT_TRUE(await_heartbeat(false)) << "no HEARTBEAT said the outbox works again";
  agent.stop();
  const MonitorStats stats = agent.stats();
  EXPECT_EQ(stats.lost_unrecorded, 0u);
  EXPECT_EQ(covered_by_losses(data_dir_, "outbox_error"), stats.shed_results)
      << "results shed from memory without a loss record";
}

TEST_F(OutboxFailing, AtAStopWhatTheOutboxRefusedIsALossRecordOrCountedAsUnrecorded) {
  std::filesystem::create_directories(data_dir_);
  MonitorStats stats;
  {
    FileSizeLimit disk_full(256 * 1024);
    MonitorAgent agent(context_, failing_options());
    agent.start();
    welcome_patiently(agent);
    ASSERT_TRUE(await_failing(agent));
    agent.stop();
    stats = agent.stats();
  }
  EXPECT_GT(stats.shed_results, 0u);
  // Every result it dropped is in a loss record, or was counted (and logged)
  // when not even a loss record could be written.
  EXPECT_EQ(covered_by_losses(data_dir_, "outbox_error") + stats.lost_unrecorded,
            stats.shed_results);
}

TEST_F(MonitorAgentTest, AnOutboxFoundDamagedAtACommitStopsTheAgentSoARestartSetsItAside) {
  MonitorOptions opts = options();
  opts.synthetic_rate = 1000;
  std::string old_epoch;
  {
    MonitorAgent agent(context_, opts);
    agent.start();
    ASSERT_TRUE(await([&] { return agent.stats().produced >= 10; }, kWait));
    {
      // A schema SQLite cannot parse: SQLITE_CORRUPT at the agent's next
      // commit (a new schema version makes its connection read it again).
      sqlite::Database other(data_dir_ / ResultOutbox::kFileName, {});
      auto version = other.prepare("PRAGMA schema_version");
      ASSERT_TRUE(version.step());
      const std::int64_t next = version.column_int64(0) + 1;
      version.reset();
      other.exec(
          "PRAGMA writable_schema = ON;"
          "UPDATE sqlite_schema SET sql = 'CREATE TABLE records (' WHERE name = 'records';"
          "PRAGMA schema_version = " +
          std::to_string(next));
    }
    ASSERT_TRUE(await([&] { return agent.failure().has_value(); }, kWait))
        << "a damaged outbox is retried forever instead of ending the agent";
    EXPECT_NE(agent.failure()->find("malformed"), std::string::npos) << *agent.failure();
    agent.stop();
    old_epoch = agent.stats().epoch;
  }
  MonitorAgent restarted(context_, options());
  const auto aside = files_starting(data_dir_, "outbox.db.corrupt-");
  EXPECT_EQ(aside.size(), 3u) << "the outbox, its -wal and its -shm are kept together";
  EXPECT_NE(restarted.stats().epoch, old_epoch);
}

TEST_F(MonitorAgentTest, StartupErrorsNameTheFlagAndTheFix) {
  auto error_of = [&](MonitorOptions opts) -> std::string {
    try {
      MonitorAgent agent(context_, std::move(opts));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  MonitorOptions bad_name = options();
  bad_name.name = "edge 1";
  EXPECT_NE(error_of(bad_name).find("--name"), std::string::npos);

  std::ofstream(dir_ / "a-file") << "x";
  MonitorOptions file_dir = options();
  file_dir.data_dir = dir_ / "a-file";
  EXPECT_NE(error_of(file_dir).find("--data-dir"), std::string::npos);

  MonitorOptions bad_broker = options();
  bad_broker.broker = "nonsense";
  EXPECT_NE(error_of(bad_broker).find("--broker"), std::string::npos);

  MonitorAgent holder(context_, options());
  const std::string in_use = error_of(options());
  EXPECT_NE(in_use.find("--data-dir"), std::string::npos);
  EXPECT_NE(in_use.find("another netmon-monitor"), std::string::npos) << in_use;
}

}  // namespace
}  // namespace netmon::agent
