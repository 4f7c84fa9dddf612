#include "tests/support/inproc_cluster.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/protocol/zmq_sockets.hpp"
#include "common/sqlite_db.hpp"

namespace netmon::testing {

std::string unique_endpoint(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "inproc://" + std::string(info->test_suite_name()) + "." + info->name() + "/" + what;
}

std::string random_hex(std::size_t digits) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (auto& c : out) {
    c = kHex[engine() % 16];
  }
  return out;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::vector<StoredKey> read_store(const std::filesystem::path& data_dir) {
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

std::map<std::string, std::vector<std::uint64_t>> stored_seqs(const std::vector<StoredKey>& rows,
                                                              std::uint64_t monitor_id) {
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (const auto& row : rows) {
    if (row.monitor_id == monitor_id) {
      out[row.epoch].push_back(row.seq);
    }
  }
  return out;
}

std::string exactly_once_problems(std::vector<std::uint64_t> seqs, std::uint64_t last) {
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

std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
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

FakeMonitor::FakeMonitor(zmq::context_t& context, const std::string& control)
    : socket_(context, zmq::socket_type::dealer) {
  protocol::apply_input_limits(socket_);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(control);
}

protocol::Hello FakeMonitor::hello(const std::string& name) const {
  protocol::Hello hello;
  hello.name = name;
  hello.instance = instance_;
  hello.epoch = epoch_;
  hello.first_seq = 1;
  hello.last_seq = 0;
  return hello;
}

FakeManager::FakeManager(zmq::context_t& context, const std::string& control)
    : socket_(context, zmq::socket_type::router) {
  protocol::apply_input_limits(socket_);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(control);
}

void FakeManager::send_raw(const std::string& peer, const std::string& body) {
  socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(body), zmq::send_flags::none);
}

void FakeManager::send(const std::string& peer, const protocol::ControlMessage& message) {
  send_raw(peer, protocol::encode(message));
}

InprocCluster::InprocCluster()
    : control(unique_endpoint("control")),
      broker_in(unique_endpoint("broker-in")),
      broker_out(unique_endpoint("broker-out")) {
  write_config({{"edge-1", {kPortCheck}}, {"edge-2", {kPortCheck}}});
}

std::filesystem::path InprocCluster::monitor_dir(const std::string& name) const {
  return dir / ("monitor-" + name);
}

void InprocCluster::write_config(
    const std::map<std::string, std::vector<std::string>>& checks) const {
  std::string yaml = "defaults: {interval: 10s, timeout: 1s, retries: 1}\nmonitors:\n";
  for (const auto& [name, lines] : checks) {
    yaml += "  " + name + ":\n    checks:\n";
    for (const auto& line : lines) {
      yaml += "      - " + line + "\n";
    }
  }
  write_file(config_file(), yaml);
}

manager::ManagerOptions InprocCluster::manager_options() const {
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

agent::MonitorOptions InprocCluster::monitor_options(const std::string& name,
                                                     double synthetic_rate) const {
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

std::unique_ptr<manager::Manager> InprocCluster::start_manager(
    const manager::ManagerOptions& options) {
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

std::unique_ptr<agent::MonitorAgent> InprocCluster::start_agent(
    const agent::MonitorOptions& options) {
  auto agent = std::make_unique<agent::MonitorAgent>(context, options);
  agent->start();
  return agent;
}

std::optional<manager::MonitorStatus> monitor_status(const manager::Manager& manager,
                                                     const std::string& name) {
  for (auto& status : manager.monitors()) {
    if (status.name == name) {
      return status;
    }
  }
  return std::nullopt;
}

std::string monitor_state(const manager::Manager& manager, const std::string& name) {
  const auto status = monitor_status(manager, name);
  return status ? status->state : std::string();
}

agent::MonitorStats drain(InprocCluster& cluster, agent::MonitorOptions options) {
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

void expect_stored_exactly_once(const std::filesystem::path& manager_dir,
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
