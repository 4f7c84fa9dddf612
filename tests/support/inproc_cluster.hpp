#pragma once
// Helpers for the in-process cluster tests (tests/cluster/inproc_*_test.cpp):
// unique inproc endpoints per test, the manager's config file,
// awaiting a condition with a deadline instead of sleeping, raw NMP sockets
// that play a monitor or a manager, and reading the manager's store.
// Header-only: only the cluster tests, which link the manager and the agent,
// include it.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/codec.hpp"
#include "common/protocol/zmq_sockets.hpp"
#include "common/sqlite_db.hpp"
#include "manager/manager.hpp"
#include "monitor/agent/monitor_agent.hpp"
#include "tests/support/await.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::testing {

using namespace std::chrono_literals;

// inproc names are global to a context: prefix them with the test's name.
inline std::string unique_endpoint(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "inproc://" + std::string(info->test_suite_name()) + "." + info->name() + "/" + what;
}

inline std::string random_hex(std::size_t digits) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (auto& c : out) {
    c = kHex[engine() % 16];
  }
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

// One (monitor_id, epoch, seq) row of the manager's store.
struct StoredKey {
  std::uint64_t monitor_id = 0;
  std::string epoch;
  std::uint64_t seq = 0;
  std::string check;
};

// Every record in DIR/netmon.db, read through a second, read-only connection
// (WAL lets it read while the manager writes).
inline std::vector<StoredKey> read_store(const std::filesystem::path& data_dir) {
  std::vector<StoredKey> rows;
  const auto file = data_dir / "netmon.db";
  if (!std::filesystem::exists(file)) {
    return rows;
  }
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(file, options);
  auto statement = db.prepare(
      "SELECT monitor_id, epoch, seq, \"check\" FROM records ORDER BY monitor_id, epoch, seq");
  while (statement.step()) {
    rows.push_back({static_cast<std::uint64_t>(statement.column_int64(0)),
                    std::string(statement.column_text(1)),
                    static_cast<std::uint64_t>(statement.column_int64(2)),
                    std::string(statement.column_text(3))});
  }
  return rows;
}

// The seqs stored for one monitor, per epoch.
inline std::map<std::string, std::vector<std::uint64_t>> stored_seqs(
    const std::vector<StoredKey>& rows, std::uint64_t monitor_id) {
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (const auto& row : rows) {
    if (row.monitor_id == monitor_id) {
      out[row.epoch].push_back(row.seq);
    }
  }
  return out;
}

// Empty when `seqs` is exactly 1..last, each once; otherwise what is wrong.
inline std::string exactly_once_problems(std::vector<std::uint64_t> seqs, std::uint64_t last) {
  std::sort(seqs.begin(), seqs.end());
  std::ostringstream problems;
  std::uint64_t duplicates = 0, missing = 0, extra = 0;
  std::optional<std::uint64_t> first_missing;
  std::uint64_t expected = 1;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0 && seqs[i] == seqs[i - 1]) {
      ++duplicates;
      continue;
    }
    if (seqs[i] > last || seqs[i] == 0) {
      ++extra;
      continue;
    }
    if (seqs[i] > expected && !first_missing) {
      first_missing = expected;
    }
    missing += seqs[i] - expected;
    expected = seqs[i] + 1;
  }
  if (expected <= last) {
    if (!first_missing) {
      first_missing = expected;
    }
    missing += last + 1 - expected;
  }
  if (duplicates || missing || extra) {
    problems << "stored " << seqs.size() << " of 1.." << last << ": " << missing << " missing";
    if (first_missing) {
      problems << " (first " << *first_missing << ")";
    }
    problems << ", " << duplicates << " duplicated, " << extra << " outside the range";
  }
  return problems.str();
}

// Receives one whole multipart message within `timeout`; nullopt if none came.
inline std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
                                                       std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) {
    return std::nullopt;
  }
  std::vector<std::string> frames;
  while (true) {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) {
      break;
    }
    frames.push_back(frame.to_string());
    if (!frame.more()) {
      break;
    }
  }
  return frames;
}

// A raw DEALER that plays a monitor on the manager's control channel.
class FakeMonitor {
 public:
  FakeMonitor(zmq::context_t& context, const std::string& control)
      : socket_(context, zmq::socket_type::dealer) {
    protocol::apply_input_limits(socket_);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(control);
  }

  void send_raw(const std::string& body) { socket_.send(zmq::buffer(body), zmq::send_flags::none); }
  void send(const protocol::ControlMessage& message) { send_raw(protocol::encode(message)); }

  protocol::Hello hello(const std::string& name) const {
    protocol::Hello hello;
    hello.name = name;
    hello.instance = instance_;
    hello.epoch = epoch_;
    hello.first_seq = 1;
    hello.last_seq = 0;
    return hello;
  }

  // The next decodable control message of type T within `timeout`, skipping
  // others (heartbeats, a CONFIG we do not care about yet).
  template <class T>
  std::optional<T> await_message(std::chrono::milliseconds timeout = kAwaitDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto frames = receive(socket_, 10ms);
      if (!frames || frames->size() != 1) {
        continue;
      }
      auto decoded = protocol::decode_control(frames->front());
      if (!decoded) {
        continue;
      }
      if (auto* message = std::get_if<T>(&decoded.value())) {
        return *message;
      }
    }
    return std::nullopt;
  }

 private:
  zmq::socket_t socket_;
  std::string instance_ = random_hex(32);
  std::string epoch_ = random_hex(16);
};

// A raw ROUTER that plays the manager for one agent.
class FakeManager {
 public:
  FakeManager(zmq::context_t& context, const std::string& control)
      : socket_(context, zmq::socket_type::router) {
    protocol::apply_input_limits(socket_);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(control);
  }

  // The next decodable message of type T from any peer within `timeout`,
  // with the peer's routing id; other messages are skipped.
  template <class T>
  std::optional<std::pair<std::string, T>> await_message(
      std::chrono::milliseconds timeout = kAwaitDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto frames = receive(socket_, 10ms);
      if (!frames || frames->size() != 2) {
        continue;
      }
      auto decoded = protocol::decode_control((*frames)[1]);
      if (!decoded) {
        continue;
      }
      if (auto* message = std::get_if<T>(&decoded.value())) {
        return std::make_pair((*frames)[0], *message);
      }
    }
    return std::nullopt;
  }

  void send_raw(const std::string& peer, const std::string& body) {
    socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  void send(const std::string& peer, const protocol::ControlMessage& message) {
    send_raw(peer, protocol::encode(message));
  }

 private:
  zmq::socket_t socket_;
};

// One cluster per test: a shared context, a temp dir, unique inproc endpoints
// and the manager's config file. The context is the first member, so it
// outlives every component a test makes.
class InprocCluster {
 public:
  // Short enough that liveness, gap repair and reconnects happen within a
  // test; long enough that a loaded ASan run does not lose peers spuriously.
  static constexpr std::chrono::milliseconds kHeartbeat{250};
  // Synthetic rate of a monitor that should produce nothing more: one
  // result per ~12 days.
  static constexpr double kQuietRate = 1e-6;

  InprocCluster()
      : control(unique_endpoint("control")),
        broker_in(unique_endpoint("broker-in")),
        broker_out(unique_endpoint("broker-out")) {
    write_config({{"edge-1", {kPortCheck}}, {"edge-2", {kPortCheck}}});
  }

  static constexpr const char* kPortCheck = "{id: port-9, type: tcp, host: 127.0.0.1, port: 9}";

  zmq::context_t context;
  TempDir dir{"netmon-inproc-"};
  const std::string control;
  const std::string broker_in;
  const std::string broker_out;

  std::filesystem::path config_file() const { return dir / "netmon.yaml"; }
  std::filesystem::path manager_dir() const { return dir / "manager"; }
  std::filesystem::path monitor_dir(const std::string& name) const {
    return dir / ("monitor-" + name);
  }

  // Monitor name -> its checks as YAML flow maps.
  void write_config(const std::map<std::string, std::vector<std::string>>& checks) const {
    std::string yaml = "defaults: {interval: 10s, timeout: 1s, retries: 1}\nmonitors:\n";
    for (const auto& [name, lines] : checks) {
      yaml += "  " + name + ":\n    checks:\n";
      for (const auto& line : lines) {
        yaml += "      - " + line + "\n";
      }
    }
    write_file(config_file(), yaml);
  }

  manager::ManagerOptions manager_options() const {
    manager::ManagerOptions options;
    options.config_file = config_file();
    options.data_dir = manager_dir();
    options.control = control;
    options.broker_in = broker_in;
    options.broker_out = broker_out;
    options.embedded_broker = true;
    options.heartbeat = kHeartbeat;
    // Tests kill and restart at will; what they check is delivery, not power loss.
    options.synchronous = sqlite::Synchronous::kNormal;
    return options;
  }

  agent::MonitorOptions monitor_options(const std::string& name, double synthetic_rate) const {
    agent::MonitorOptions options;
    options.name = name;
    options.data_dir = monitor_dir(name);
    options.manager = control;
    options.broker = broker_in;
    options.synchronous = sqlite::Synchronous::kNormal;
    options.reconnect_min = std::chrono::milliseconds(50);
    options.reconnect_max = std::chrono::milliseconds(500);
    options.synthetic_rate = synthetic_rate;
    return options;
  }

  // A started manager. A predecessor's inproc names are released shortly
  // after its sockets close (on libzmq's reaper thread), so construction is
  // retried for a bounded time.
  std::unique_ptr<manager::Manager> start_manager(const manager::ManagerOptions& options) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      try {
        auto manager = std::make_unique<manager::Manager>(context, options);
        manager->start();
        return manager;
      } catch (const std::exception& e) {
        if (std::chrono::steady_clock::now() >= end) {
          ADD_FAILURE() << "manager did not start: " << e.what();
          return nullptr;
        }
        std::this_thread::sleep_for(10ms);  // backoff between binds
      }
    }
  }
  std::unique_ptr<manager::Manager> start_manager() { return start_manager(manager_options()); }

  std::unique_ptr<agent::MonitorAgent> start_agent(const agent::MonitorOptions& options) {
    auto agent = std::make_unique<agent::MonitorAgent>(context, options);
    agent->start();
    return agent;
  }
};

inline std::optional<manager::MonitorStatus> monitor_status(const manager::Manager& manager,
                                                            const std::string& name) {
  for (auto& status : manager.monitors()) {
    if (status.name == name) {
      return status;
    }
  }
  return std::nullopt;
}

// "" when the manager does not list `name`.
inline std::string monitor_state(const manager::Manager& manager, const std::string& name) {
  const auto status = monitor_status(manager, name);
  return status ? status->state : std::string();
}

// Restarts a stopped monitor on its data dir without new production, waits
// until the manager has acknowledged everything in its outbox, stops it
// cleanly and returns its final stats (outbox_records 0 on success).
inline agent::MonitorStats drain(InprocCluster& cluster, agent::MonitorOptions options) {
  options.synthetic_rate = InprocCluster::kQuietRate;
  options.drop_every_nth_publish = 0;
  auto agent = cluster.start_agent(options);
  const bool drained = await([&] {
    const auto stats = agent->stats();
    return stats.connected && stats.outbox_records == 0 && stats.acked_seq == stats.last_seq;
  });
  const auto before_stop = agent->stats();
  EXPECT_TRUE(drained) << options.name
                       << ": outbox not drained: outbox_records=" << before_stop.outbox_records
                       << " acked_seq=" << before_stop.acked_seq
                       << " last_seq=" << before_stop.last_seq
                       << " connected=" << before_stop.connected;
  agent->stop();
  return agent->stats();
}

// The store holds exactly seqs 1..last_seq of the monitor's epoch, each once,
// and nothing of any other epoch of that monitor.
inline void expect_stored_exactly_once(const std::filesystem::path& manager_dir,
                                       const agent::MonitorStats& final_stats) {
  const auto by_epoch = stored_seqs(read_store(manager_dir), final_stats.monitor_id);
  ASSERT_NE(final_stats.monitor_id, 0u);
  EXPECT_EQ(by_epoch.size(), 1u) << "monitor " << final_stats.monitor_id << " has records of "
                                 << by_epoch.size() << " epochs";
  const auto it = by_epoch.find(final_stats.epoch);
  ASSERT_NE(it, by_epoch.end()) << "nothing stored for epoch " << final_stats.epoch;
  EXPECT_EQ(exactly_once_problems(it->second, final_stats.last_seq), "")
      << "monitor " << final_stats.monitor_id << " epoch " << final_stats.epoch;
}

}  // namespace netmon::testing
