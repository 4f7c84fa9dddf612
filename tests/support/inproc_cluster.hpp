#pragma once
// Helpers for the in-process cluster tests (tests/cluster/inproc_*_test.cpp):
// unique inproc endpoints per test, the manager's config file,
// awaiting a condition with a deadline instead of sleeping, raw NMP sockets
// that play a monitor or a manager, and reading the manager's store.
// The bodies are in inproc_cluster.cpp, built into netmon_cluster_support:
// only the cluster tests, which link the manager and the agent, use it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "common/protocol/codec.hpp"
#include "manager/manager.hpp"
#include "monitor/agent/monitor_agent.hpp"
#include "tests/support/await.hpp"
#include "tests/support/temp_dir.hpp"

namespace netmon::testing {

using namespace std::chrono_literals;

// inproc names are global to a context: prefix them with the test's name.
std::string unique_endpoint(const std::string& what);

std::string random_hex(std::size_t digits);

void write_file(const std::filesystem::path& path, const std::string& text);

// One (monitor_id, epoch, seq) row of the manager's store.
struct StoredKey {
  std::uint64_t monitor_id = 0;
  std::string epoch;
  std::uint64_t seq = 0;
  std::string check;
};

// Every record in DIR/netmon.db, read through a second, read-only connection
// (WAL lets it read while the manager writes).
std::vector<StoredKey> read_store(const std::filesystem::path& data_dir);

// The seqs stored for one monitor, per epoch.
std::map<std::string, std::vector<std::uint64_t>> stored_seqs(const std::vector<StoredKey>& rows,
                                                              std::uint64_t monitor_id);

// Empty when `seqs` is exactly 1..last, each once; otherwise what is wrong.
std::string exactly_once_problems(std::vector<std::uint64_t> seqs, std::uint64_t last);

// Receives one whole multipart message within `timeout`; nullopt if none came.
std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
                                                std::chrono::milliseconds timeout);

// A raw DEALER that plays a monitor on the manager's control channel.
class FakeMonitor {
 public:
  FakeMonitor(zmq::context_t& context, const std::string& control);

  void send_raw(const std::string& body) { socket_.send(zmq::buffer(body), zmq::send_flags::none); }
  void send(const protocol::ControlMessage& message) { send_raw(protocol::encode(message)); }

  protocol::Hello hello(const std::string& name) const;

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
  FakeManager(zmq::context_t& context, const std::string& control);

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

  void send_raw(const std::string& peer, const std::string& body);
  void send(const std::string& peer, const protocol::ControlMessage& message);

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

  InprocCluster();

  static constexpr const char* kPortCheck = "{id: port-9, type: tcp, host: 127.0.0.1, port: 9}";

  zmq::context_t context;
  TempDir dir{"netmon-inproc-"};
  const std::string control;
  const std::string broker_in;
  const std::string broker_out;

  std::filesystem::path config_file() const { return dir / "netmon.yaml"; }
  std::filesystem::path manager_dir() const { return dir / "manager"; }
  std::filesystem::path monitor_dir(const std::string& name) const;

  // Monitor name -> its checks as YAML flow maps.
  void write_config(const std::map<std::string, std::vector<std::string>>& checks) const;

  manager::ManagerOptions manager_options() const;

  agent::MonitorOptions monitor_options(const std::string& name, double synthetic_rate) const;

  // A started manager. A predecessor's inproc names are released shortly
  // after its sockets close (on libzmq's reaper thread), so construction is
  // retried for a bounded time.
  std::unique_ptr<manager::Manager> start_manager(const manager::ManagerOptions& options);
  std::unique_ptr<manager::Manager> start_manager() { return start_manager(manager_options()); }

  std::unique_ptr<agent::MonitorAgent> start_agent(const agent::MonitorOptions& options);
};

std::optional<manager::MonitorStatus> monitor_status(const manager::Manager& manager,
                                                     const std::string& name);

// "" when the manager does not list `name`.
std::string monitor_state(const manager::Manager& manager, const std::string& name);

// Restarts a stopped monitor on its data dir without new production, waits
// until the manager has acknowledged everything in its outbox, stops it
// cleanly and returns its final stats (outbox_records 0 on success).
agent::MonitorStats drain(InprocCluster& cluster, agent::MonitorOptions options);

// The store holds exactly seqs 1..last_seq of the monitor's epoch, each once,
// and nothing of any other epoch of that monitor.
void expect_stored_exactly_once(const std::filesystem::path& manager_dir,
                                const agent::MonitorStats& final_stats);

}  // namespace netmon::testing
