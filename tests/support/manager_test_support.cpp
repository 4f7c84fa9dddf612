#include "tests/manager/manager_test_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <stdexcept>

#include "common/sqlite_db.hpp"

namespace netmon::manager::testing {

std::string unique_endpoint(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "inproc://manager-test." + std::string(info->test_suite_name()) + "." + info->name() +
         "/" + what;
}

std::string random_hex(std::size_t digits) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string out(digits, '0');
  for (auto& c : out)
    c = "0123456789abcdef"[engine() % 16];
  return out;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

protocol::Record result_record(const std::string& monitor, const std::string& epoch,
                               std::uint64_t seq, const std::string& check,
                               netmon::CheckStatus status,
                               std::chrono::system_clock::time_point ts) {
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

protocol::Record loss_record(const std::string& monitor, const std::string& epoch,
                             std::uint64_t seq, std::uint64_t from, std::uint64_t to) {
  protocol::Record record;
  record.key = {monitor, 0, epoch, seq};
  record.body = protocol::LossRange{from, to, to - from + 1, "outbox_full"};
  return record;
}

ManagerOptions ManagerSetup::options(std::chrono::milliseconds heartbeat) const {
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

std::int64_t stored_rows(const ManagerSetup& setup, const std::string& where) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup.data_dir()), options);
  auto statement = db.prepare("SELECT COUNT(*) FROM records WHERE " + where);
  return statement.step() ? statement.column_int64(0) : -1;
}

std::string stored_text(const ManagerSetup& setup, const std::string& column,
                        const std::string& where) {
  sqlite::OpenOptions options;
  options.read_only = true;
  sqlite::Database db(ResultStore::file_in(setup.data_dir()), options);
  auto statement = db.prepare("SELECT " + column + " FROM records WHERE " + where);
  return statement.step() ? std::string(statement.column_text(0)) : std::string("<no row>");
}

std::optional<MonitorStatus> monitor_status(const Manager& manager, const std::string& name) {
  for (auto& status : manager.monitors()) {
    if (status.name == name) return status;
  }
  return std::nullopt;
}

std::string monitor_state(const Manager& manager, const std::string& name) {
  const auto status = monitor_status(manager, name);
  return status ? status->state : std::string();
}

std::string check_state(const Manager& manager, const std::string& monitor,
                        const std::string& check) {
  for (const auto& status : manager.checks()) {
    if (status.monitor == monitor && status.check == check) return status.last_state;
  }
  return {};
}

std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
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

FakeMonitor::FakeMonitor(zmq::context_t& context, const Manager& manager, std::string name)
    : control_(context, zmq::socket_type::dealer),
      bus_(context, zmq::socket_type::pub),
      name_(std::move(name)) {
  control_.set(zmq::sockopt::linger, 0);
  control_.connect(manager.control_endpoint());
  bus_.set(zmq::sockopt::linger, 0);
  bus_.connect(manager.broker_in_endpoint());
}

protocol::Hello FakeMonitor::hello(std::uint64_t config_version) const {
  protocol::Hello hello;
  hello.name = name_;
  hello.instance = instance;
  hello.epoch = epoch;
  hello.config_version = config_version;
  return hello;
}

std::optional<protocol::Ack> FakeMonitor::await_ack(std::uint64_t seq) {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    auto ack = await_message<protocol::Ack>(10ms);
    if (ack && ack->seq >= seq) return ack;
  }
  return std::nullopt;
}

std::optional<protocol::Welcome> FakeMonitor::connect(std::uint64_t config_version) {
  send(hello(config_version));
  return await_message<protocol::Welcome>();
}

std::optional<protocol::Welcome> FakeMonitor::connect_until_welcomed() {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    send(hello());
    if (auto welcome = await_message<protocol::Welcome>(50ms)) return welcome;
  }
  return std::nullopt;
}

void FakeMonitor::publish(const protocol::Record& record) {
  const std::string topic = protocol::record_topic(record);
  const std::string body = protocol::encode_record(record);
  bus_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  bus_.send(zmq::buffer(body));
}

void FakeMonitor::publish_raw(const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    bus_.send(zmq::buffer(frames[i]),
              i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

bool FakeMonitor::publish_until_acked(const protocol::Record& record) {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    publish(record);
    auto ack = await_message<protocol::Ack>(20ms);
    if (ack && ack->seq >= record.key.seq) return true;
  }
  return false;
}

protocol::Record FakeMonitor::result(std::uint64_t seq, const std::string& check,
                                     netmon::CheckStatus status,
                                     std::chrono::system_clock::time_point ts) const {
  return result_record(name_, epoch, seq, check, status, ts);
}

}  // namespace netmon::manager::testing
