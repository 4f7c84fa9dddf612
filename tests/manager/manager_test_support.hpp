#pragma once
// Helpers for the manager's tests: a temp dir with a config file, unique
// inproc endpoints, awaiting a condition with a deadline, and a fake monitor
// made of raw sockets (DEALER on the control channel, PUB on the bus) that
// speaks NMP through the common codec.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
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

inline std::string unique_endpoint(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "inproc://manager-test." + std::string(info->test_suite_name()) + "." + info->name() +
         "/" + what;
}

inline std::string random_hex(std::size_t digits) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string out(digits, '0');
  for (auto& c : out)
    c = "0123456789abcdef"[engine() % 16];
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline protocol::Record result_record(
    const std::string& monitor, const std::string& epoch, std::uint64_t seq,
    const std::string& check, netmon::CheckStatus status = netmon::CheckStatus::kUp,
    std::chrono::system_clock::time_point ts = std::chrono::system_clock::now()) {
  protocol::Record record;
  record.key = {monitor, 0, epoch, seq};
  CheckResult result;
  result.check_id = check;
  result.type = "tcp";
  result.target = "127.0.0.1:9";
  result.timestamp = ts;
  result.status = status;
  result.reason = status == netmon::CheckStatus::kUp ? "" : "connect_refused";
  result.latency = std::chrono::microseconds(1500);
  result.details = {{"port", 9}};
  record.body = result;
  return record;
}

inline protocol::Record loss_record(const std::string& monitor, const std::string& epoch,
                                    std::uint64_t seq, std::uint64_t from, std::uint64_t to) {
  protocol::Record record;
  record.key = {monitor, 0, epoch, seq};
  record.body = protocol::LossRange{from, to, to - from + 1, "outbox_full"};
  return record;
}

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

  ManagerOptions options(std::chrono::milliseconds heartbeat = 100ms) const {
    ManagerOptions options;
    options.config_file = config_file();
    options.data_dir = data_dir();
    options.control = control;
    options.broker_in = broker_in;
    options.broker_out = broker_out;
    options.heartbeat = heartbeat;
    options.synchronous = sqlite::Synchronous::kNormal;
    options.status_interval = std::chrono::milliseconds::zero();
    return options;
  }
};

// Read through a second, read-only connection to the manager's store.
inline std::int64_t stored_rows(const ManagerSetup& setup, const std::string& where = "1") {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup.data_dir()), options);
  auto statement = db.prepare("SELECT COUNT(*) FROM records WHERE " + where);
  return statement.step() ? statement.column_int64(0) : -1;
}

inline std::string stored_text(const ManagerSetup& setup, const std::string& column,
                               const std::string& where) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup.data_dir()), options);
  auto statement = db.prepare("SELECT " + column + " FROM records WHERE " + where);
  return statement.step() ? std::string(statement.column_text(0)) : std::string("<no row>");
}

inline std::optional<MonitorStatus> monitor_status(const Manager& manager,
                                                   const std::string& name) {
  for (auto& status : manager.monitors()) {
    if (status.name == name) return status;
  }
  return std::nullopt;
}

inline std::string monitor_state(const Manager& manager, const std::string& name) {
  const auto status = monitor_status(manager, name);
  return status ? status->state : std::string();
}

inline std::string check_state(const Manager& manager, const std::string& monitor,
                               const std::string& check) {
  for (const auto& status : manager.checks()) {
    if (status.monitor == monitor && status.check == check) return status.state;
  }
  return {};
}

// Receives one whole multipart message within `timeout`.
inline std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
                                                       std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  std::vector<std::string> frames;
  zmq::message_t frame;
  do {
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) break;
    frames.push_back(frame.to_string());
  } while (frame.more());
  return frames;
}

// A monitor made of raw sockets.
class FakeMonitor {
 public:
  FakeMonitor(zmq::context_t& context, const Manager& manager, std::string name)
      : control_(context, zmq::socket_type::dealer),
        bus_(context, zmq::socket_type::pub),
        name_(std::move(name)) {
    control_.set(zmq::sockopt::linger, 0);
    control_.connect(manager.control_endpoint());
    bus_.set(zmq::sockopt::linger, 0);
    bus_.connect(manager.broker_in_endpoint());
  }

  const std::string& name() const { return name_; }
  std::string instance = random_hex(32);
  std::string epoch = random_hex(16);

  protocol::Hello hello(std::uint64_t config_version = 0) const {
    protocol::Hello hello;
    hello.name = name_;
    hello.instance = instance;
    hello.epoch = epoch;
    hello.config_version = config_version;
    return hello;
  }

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
  std::optional<protocol::Ack> await_ack(std::uint64_t seq) {
    const auto end = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < end) {
      auto ack = await_message<protocol::Ack>(10ms);
      if (ack && ack->seq >= seq) return ack;
    }
    return std::nullopt;
  }

  // HELLO, then the WELCOME.
  std::optional<protocol::Welcome> connect(std::uint64_t config_version = 0) {
    send(hello(config_version));
    return await_message<protocol::Welcome>();
  }

  // HELLO again after each REJECT, as a real monitor does: the manager learns
  // that an earlier connection of this instance closed asynchronously.
  std::optional<protocol::Welcome> connect_until_welcomed() {
    const auto end = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < end) {
      send(hello());
      if (auto welcome = await_message<protocol::Welcome>(50ms)) return welcome;
    }
    return std::nullopt;
  }

  // Closes the control connection, as a monitor that exits does.
  void close_control() { control_.close(); }

  void publish(const protocol::Record& record) {
    const std::string topic = protocol::record_topic(record);
    const std::string body = protocol::encode_record(record);
    bus_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    bus_.send(zmq::buffer(body));
  }
  void publish_raw(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      bus_.send(zmq::buffer(frames[i]),
                i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  // PUB drops until the broker's subscription reached it: publishes `record`
  // until the manager acknowledges it (repeats are stored once).
  bool publish_until_acked(const protocol::Record& record) {
    const auto end = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < end) {
      publish(record);
      auto ack = await_message<protocol::Ack>(20ms);
      if (ack && ack->seq >= record.key.seq) return true;
    }
    return false;
  }

  protocol::Record result(
      std::uint64_t seq, const std::string& check = "port-9",
      netmon::CheckStatus status = netmon::CheckStatus::kUp,
      std::chrono::system_clock::time_point ts = std::chrono::system_clock::now()) const {
    return result_record(name_, epoch, seq, check, status, ts);
  }

 private:
  zmq::socket_t control_;
  zmq::socket_t bus_;
  std::string name_;
};

}  // namespace netmon::manager::testing
