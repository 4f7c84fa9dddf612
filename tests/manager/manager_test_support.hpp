#pragma once
// Helpers for the manager's tests: a temp dir with a config file, unique
// inproc endpoints, awaiting a condition with a deadline, and a fake monitor
// made of raw sockets (DEALER on the control channel, PUB on the bus) that
// speaks NMP through the common codec. The bodies are in
// tests/support/manager_test_support.cpp, built into
// netmon_manager_test_support.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "manager/manager.hpp"
#include "manager/result_store.hpp"
#include "tests/support/await.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::manager::testing {

using namespace std::chrono_literals;

using netmon::testing::await;
inline constexpr std::chrono::milliseconds kDeadline = netmon::testing::kAwaitDeadline;

std::string unique_endpoint(const std::string& what);

std::string random_hex(std::size_t digits);

void write_file(const std::filesystem::path& path, const std::string& text);

protocol::Record result_record(
    const std::string& monitor, const std::string& epoch, std::uint64_t seq,
    const std::string& check, netmon::CheckStatus status = netmon::CheckStatus::kUp,
    std::chrono::system_clock::time_point ts = std::chrono::system_clock::now());

protocol::Record loss_record(const std::string& monitor, const std::string& epoch,
                             std::uint64_t seq, std::uint64_t from, std::uint64_t to);

// The checks of monitors edge-1 and edge-2, as the tests' config file has them.
inline constexpr const char* kConfigText = R"(defaults: {interval: 10s, timeout: 1s, retries: 2}
monitors:
  edge-1:
    checks:
      - {id: port-9, type: tcp, host: 127.0.0.1, port: 9}
      - {id: port-10, type: tcp, host: 127.0.0.1, port: 10, retries: 1}
  edge-2:
    checks:
      - {id: port-9, type: tcp, host: 127.0.0.1, port: 9}
)";

// A temp dir with the config file and per-test endpoints.
struct ManagerSetup {
  netmon::testing::TempDir dir{"netmon-manager-test-"};
  std::string control = unique_endpoint("control");
  std::string broker_in = unique_endpoint("broker-in");
  std::string broker_out = unique_endpoint("broker-out");

  ManagerSetup() { write_file(config_file(), kConfigText); }
  std::filesystem::path config_file() const { return dir / "netmon.yaml"; }
  std::filesystem::path data_dir() const { return dir / "data"; }

  ManagerOptions options(std::chrono::milliseconds heartbeat = 100ms) const;
};

// Read through a second, read-only connection to the manager's store.
std::int64_t stored_rows(const ManagerSetup& setup, const std::string& where = "1");

std::string stored_text(const ManagerSetup& setup, const std::string& column,
                        const std::string& where);

std::optional<MonitorStatus> monitor_status(const Manager& manager, const std::string& name);

std::string monitor_state(const Manager& manager, const std::string& name);

// The check's state as the results made it (UP/DOWN/UNKNOWN), STALE or not:
// a fake monitor that sends no HEARTBEAT is LOST within 3 heartbeats.
std::string check_state(const Manager& manager, const std::string& monitor,
                        const std::string& check);

// Receives one whole multipart message within `timeout`.
std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
                                                std::chrono::milliseconds timeout);

// A monitor made of raw sockets.
class FakeMonitor {
 public:
  FakeMonitor(zmq::context_t& context, const Manager& manager, std::string name);

  const std::string& name() const { return name_; }
  std::string instance = random_hex(32);
  std::string epoch = random_hex(16);

  protocol::Hello hello(std::uint64_t config_version = 0) const;

  void send_raw(const std::string& body) { control_.send(zmq::buffer(body)); }
  void send(const protocol::ControlMessage& message) { send_raw(protocol::encode(message)); }

  // The next message of type T within `timeout`, skipping others.
  template <class T>
  std::optional<T> await_message(std::chrono::milliseconds timeout = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto frames = receive(control_, 5ms);
      if (!frames || frames->size() != 1) continue;
      auto decoded = protocol::decode_control(frames->front());
      if (!decoded) continue;
      if (auto* message = std::get_if<T>(&decoded.value())) return *message;
    }
    return std::nullopt;
  }

  // An ACK covering at least `seq` within the deadline.
  std::optional<protocol::Ack> await_ack(std::uint64_t seq);

  // HELLO, then the WELCOME.
  std::optional<protocol::Welcome> connect(std::uint64_t config_version = 0);

  // HELLO again after each REJECT, as a real monitor does: the manager learns
  // that an earlier connection of this instance closed asynchronously.
  std::optional<protocol::Welcome> connect_until_welcomed();

  // Closes the control connection, as a monitor that exits does.
  void close_control() { control_.close(); }

  void publish(const protocol::Record& record);
  void publish_raw(const std::vector<std::string>& frames);

  // PUB drops until the broker's subscription reached it: publishes `record`
  // until the manager acknowledges it (repeats are stored once).
  bool publish_until_acked(const protocol::Record& record);

  protocol::Record result(
      std::uint64_t seq, const std::string& check = "port-9",
      netmon::CheckStatus status = netmon::CheckStatus::kUp,
      std::chrono::system_clock::time_point ts = std::chrono::system_clock::now()) const;

 private:
  zmq::socket_t control_;
  zmq::socket_t bus_;
  std::string name_;
};

}  // namespace netmon::manager::testing
