// netmon-broker as a real process: what subscribers that stop reading cost it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/check_result.hpp"
#include "common/protocol/codec.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ChildProcess;
using testing::TempDir;

// A /proc/PID/status field in KiB (VmRSS, VmHWM); nullopt if absent.
std::optional<std::uint64_t> status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return std::nullopt;
}

// A RESULT as a tcp_echo check publishes it (470 bytes).
std::string realistic_result_body() {
  CheckResult result;
  result.check_id = "echo-7";
  result.type = "tcp_echo";
  result.target = "127.0.0.1:12345";
  result.timestamp = std::chrono::system_clock::now();
  result.status = CheckStatus::kDown;
  result.reason = "payload_mismatch";
  result.error = "echo reply differs from the payload sent at byte 17 (sent 64 bytes, got 64)";
  result.latency = std::chrono::microseconds(412);
  result.timings.resolve = std::chrono::microseconds(3);
  result.timings.connect = std::chrono::microseconds(180);
  result.timings.total = std::chrono::microseconds(412);
  result.details = {{"rtt_us", 412},
                    {"match", false},
                    {"sent_bytes", 64},
                    {"received_bytes", 64},
                    {"payload", "The quick brown fox jumps over the lazy dog, twice over."}};
  protocol::Record record;
  record.key = {"edge-1", 1, "0123456789abcdef0123456789abcdef", 4242};
  record.body = result;
  return protocol::encode_record(record);
}

bool receive_one(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return false;
  zmq::message_t part;
  do {
    if (!socket.recv(part)) return false;
  } while (part.more());
  return true;
}

// Subscribers that stop reading must cost the broker at most its
// high-water mark each (PROTOCOL.md §9), while one that reads gets every
// result. Before the bound a stalled netmon-logger grew a broker by 200 MB.
TEST(NetmonBrokerProcess,
     SubscribersThatStopReadingCostAtMostTheHighWaterMarkAndReadersGetEverything) {
  constexpr int kStalledSubscribers = 3;
  constexpr std::uint64_t kResults = 200'000;
  constexpr std::uint64_t kBatch = 1'000;
  // The queue PROTOCOL.md §9 documents for each subscriber and publisher.
  constexpr std::uint64_t kQueuedMessages = 10'000;
  // What a queued message costs beyond its bytes: libzmq's message and pipe
  // entries and the allocator's header, rounded up.
  constexpr std::uint64_t kOverheadBytesPerMessage = 256;
  // Allocator slack and libzmq's per-connection buffers.
  constexpr std::uint64_t kSlackKib = 16 * 1024;

#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in a 256 MB quarantine that would count as the
  // broker's; with a small one the broker's RSS measures its queues.
  const char* asan_options = std::getenv("ASAN_OPTIONS");
  const std::string options =
      std::string(asan_options ? asan_options : "") + ":quarantine_size_mb=1";
  ::setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
  TempDir dir;
  const std::string in = testing::loopback_endpoint(testing::free_tcp_port());
  const std::string out = testing::loopback_endpoint(testing::free_tcp_port());
  ChildProcess broker(NETMON_BROKER_BINARY, {"--in", in, "--out", out}, dir / "broker.log");
  ASSERT_TRUE(broker.wait_for_line("ready", std::chrono::seconds(10))) << broker.log();

  zmq::context_t context;
  zmq::socket_t publisher(context, zmq::socket_type::pub);
  publisher.set(zmq::sockopt::sndhwm, 0);  // the test paces itself; never drop here
  publisher.connect(in);
  std::vector<zmq::socket_t> stalled;
  for (int i = 0; i < kStalledSubscribers; ++i) {
    stalled.emplace_back(context, zmq::socket_type::sub);
    stalled.back().set(zmq::sockopt::subscribe, "res/");
    stalled.back().connect(out);
  }
  zmq::socket_t reader(context, zmq::socket_type::sub);
  reader.set(zmq::sockopt::rcvhwm, 0);
  reader.set(zmq::sockopt::subscribe, "res/");
  reader.connect(out);

  // Every subscriber is joined once it received a probe (the slow joiner);
  // the stalled ones never read again after that.
  const auto join_deadline = Clock::now() + std::chrono::seconds(10);
  std::vector<zmq::socket_t*> waiting{&reader};
  for (auto& socket : stalled)
    waiting.push_back(&socket);
  while (!waiting.empty() && Clock::now() < join_deadline) {
    publisher.send(zmq::str_buffer("res/probe"), zmq::send_flags::sndmore);
    publisher.send(zmq::str_buffer("probe"), zmq::send_flags::none);
    std::erase_if(waiting, [](zmq::socket_t* socket) {
      return receive_one(*socket, std::chrono::milliseconds(5));
    });
  }
  ASSERT_TRUE(waiting.empty()) << waiting.size() << " subscribers never joined";
  while (receive_one(reader, std::chrono::milliseconds(50))) {
  }
  const std::uint64_t baseline_kib = status_kib(broker.pid(), "VmRSS").value();

  // Batches the reader must receive whole before the next goes out: a fair
  // reader loses nothing, whatever the stalled ones do.
  const std::string body = realistic_result_body();
  std::uint64_t received = 0;
  for (std::uint64_t sent = 0; sent < kResults;) {
    for (std::uint64_t i = 0; i < kBatch; ++i, ++sent) {
      publisher.send(zmq::str_buffer("res/edge-1/echo"), zmq::send_flags::sndmore);
      publisher.send(zmq::buffer(body), zmq::send_flags::none);
    }
    const auto batch_deadline = Clock::now() + std::chrono::seconds(20);
    while (received < sent && Clock::now() < batch_deadline) {
      if (receive_one(reader, std::chrono::milliseconds(100))) ++received;
    }
    ASSERT_EQ(received, sent) << "the reading subscriber fell behind at " << sent;
  }
  EXPECT_FALSE(receive_one(reader, std::chrono::milliseconds(100))) << "more than was sent";

  const std::uint64_t peak_kib = status_kib(broker.pid(), "VmHWM").value();
  // Queues: each stalled subscriber's, the reader's and the publisher's.
  const std::uint64_t queues = kStalledSubscribers + 2;
  const std::uint64_t bound_kib =
      baseline_kib + kSlackKib +
      queues * kQueuedMessages * (body.size() + kOverheadBytesPerMessage) / 1024;
  EXPECT_LE(peak_kib, bound_kib) << "baseline " << baseline_kib << " KiB, peak " << peak_kib
                                 << " KiB, " << body.size() << "-byte results";
  std::cout << "[ broker   ] " << body.size() << "-byte results: RSS baseline " << baseline_kib
            << " KiB, peak " << peak_kib << " KiB, bound " << bound_kib << " KiB\n";
  EXPECT_EQ(broker.stop(), 0) << broker.log();
}

}  // namespace
}  // namespace netmon
