#include "tests/support/process_cluster.hpp"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/sqlite_db.hpp"

namespace netmon::cluster {

void write_manager_config(const std::filesystem::path& file,
                          const std::vector<std::string>& names) {
  std::ofstream out(file);
  out << "monitors:\n";
  for (const auto& name : names)
    out << "  " << name << ":\n    checks: []\n";
}

std::vector<std::string> manager_args(const ManagerArgs& a) {
  std::vector<std::string> args{"--config",          a.config.string(),  "--data-dir",
                                a.data_dir.string(), "--control",        a.ports->control,
                                "--broker-in",       a.ports->broker_in, "--broker-out",
                                a.ports->broker_out, "--log-level",      a.log_level};
  if (a.external_broker) args.emplace_back("--external-broker");
  if (!a.sync.empty()) args.insert(args.end(), {"--sync", a.sync});
  return args;
}

std::vector<std::string> monitor_args(const MonitorArgs& a) {
  std::vector<std::string> args{"--name",      a.name,           "--data-dir", a.data_dir.string(),
                                "--manager",   a.ports->control, "--broker",   a.ports->broker_in,
                                "--log-level", a.log_level};
  if (a.synthetic_rate > 0) {
    std::ostringstream rate;
    rate << a.synthetic_rate;
    args.insert(args.end(), {"--synthetic", rate.str()});
  }
  if (!a.produced_log.empty()) args.insert(args.end(), {"--produced-log", a.produced_log.string()});
  if (!a.sync.empty()) args.insert(args.end(), {"--sync", a.sync});
  return args;
}

std::vector<std::string> broker_args(const BusPorts& ports) {
  return {"--in", ports.broker_in, "--out", ports.broker_out};
}

KeyCounts read_produced_log(const std::filesystem::path& file) {
  KeyCounts keys;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: torn
    std::istringstream fields(line);
    RecordKey key;
    if (fields >> key.epoch >> key.seq) ++keys[key];
  }
  return keys;
}

std::uint64_t total(const KeyCounts& keys) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : keys)
    sum += count;
  return sum;
}

std::map<std::string, KeyCounts> parse_export(const std::string& jsonl) {
  std::map<std::string, KeyCounts> by_monitor;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    const auto object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.contains("monitor") || !object.contains("epoch") ||
        !object.contains("seq"))
      continue;
    RecordKey key{object["epoch"].get<std::string>(), object["seq"].get<std::uint64_t>()};
    ++by_monitor[object["monitor"].get<std::string>()][key];
  }
  return by_monitor;
}

Comparison compare(const KeyCounts& produced, const KeyCounts& stored) {
  Comparison c;
  c.produced = total(produced);
  c.stored = total(stored);
  int shown = 0;
  auto note = [&](const char* what, const RecordKey& key, std::uint64_t count) {
    if (shown++ < 5)
      c.examples += std::string(what) + " " + key.epoch + "/" + std::to_string(key.seq) + " x" +
                    std::to_string(count) + "; ";
  };
  for (const auto& [key, count] : produced) {
    const auto at = stored.find(key);
    if (at == stored.end()) {
      ++c.missing;
      note("missing", key, count);
    } else if (at->second != 1 || count != 1) {
      ++c.duplicated;
      note("duplicated", key, at->second);
    }
  }
  for (const auto& [key, count] : stored) {
    if (!produced.contains(key)) {
      ++c.unexpected;
      note("unexpected", key, count);
    }
  }
  return c;
}

std::uint64_t stored_rows(const std::filesystem::path& data_dir) {
  const auto file = data_dir / "netmon.db";
  if (!std::filesystem::exists(file)) return 0;
  try {
    sqlite::Database db(file, {.read_only = true});
    auto count = db.prepare("SELECT count(*) FROM records");
    return count.step() ? static_cast<std::uint64_t>(count.column_int64(0)) : 0;
  } catch (const sqlite::SqliteError&) {
    return 0;
  }
}

std::uint64_t count_file_lines(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t lines = 0;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    const std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i)
      lines += buffer[i] == '\n' ? 1 : 0;
  }
  return lines;
}

std::string summary(const std::map<std::string, Comparison>& comparisons) {
  std::string text;
  for (const auto& [name, c] : comparisons)
    text += name + ": produced " + std::to_string(c.produced) + ", stored " +
            std::to_string(c.stored) + "; ";
  return text;
}

std::string exactly_once_problems(const std::map<std::string, Comparison>& comparisons,
                                  std::uint64_t min_produced) {
  std::string problems;
  for (const auto& [name, c] : comparisons) {
    if (c.exact() && c.produced >= min_produced) continue;
    problems += name + ": produced " + std::to_string(c.produced) + ", stored " +
                std::to_string(c.stored) + ", missing " + std::to_string(c.missing) +
                ", duplicated " + std::to_string(c.duplicated) + ", unexpected " +
                std::to_string(c.unexpected) + (c.examples.empty() ? "" : " (" + c.examples + ")") +
                "\n";
  }
  return problems;
}

ProcessCluster::ProcessCluster(Binaries binaries, std::vector<std::string> names,
                               bool external_broker)
    : binaries_(std::move(binaries)),
      names_(std::move(names)),
      external_broker_(external_broker),
      dir_("netmon-cluster-"),
      monitors_(names_.size()) {
  write_manager_config(config_file(), names_);
}

ChildProcess& ProcessCluster::start_manager() {
  manager_.reset();
  manager_ = start(binaries_.manager, "manager",
                   manager_args({.config = config_file(),
                                 .data_dir = manager_dir(),
                                 .ports = &ports_,
                                 .external_broker = external_broker_,
                                 .sync = kProcessTestSync}),
                   "ready");
  return *manager_;
}

ChildProcess& ProcessCluster::start_monitor(std::size_t i, double synthetic_rate) {
  monitors_.at(i).reset();
  monitors_.at(i) = start(binaries_.monitor, name(i),
                          monitor_args({.name = name(i),
                                        .data_dir = dir_ / name(i),
                                        .ports = &ports_,
                                        .synthetic_rate = synthetic_rate,
                                        .produced_log = produced_log(i),
                                        .sync = kProcessTestSync}),
                          "ready");
  return *monitors_.at(i);
}

void ProcessCluster::start_monitors(double synthetic_rate) {
  for (std::size_t i = 0; i < size(); ++i)
    start_monitor(i, synthetic_rate);
}

std::string ProcessCluster::start_streaming(double synthetic_rate,
                                            std::chrono::milliseconds timeout) {
  start_monitors(synthetic_rate);
  if (std::string problems = await_monitor_line("connected", timeout); !problems.empty())
    return problems;
  return await_stored_progress(2000, timeout) ? "" : "no progress: " + progress();
}

std::string ProcessCluster::await_reconnected(const std::vector<std::size_t>& marks,
                                              std::chrono::milliseconds timeout) {
  if (std::string problems = await_monitor_line("connected", timeout, marks); !problems.empty())
    return problems;
  return await_stored_progress(1000, timeout) ? "" : "no progress: " + progress();
}

std::vector<std::size_t> ProcessCluster::monitor_log_marks() {
  std::vector<std::size_t> marks;
  for (std::size_t i = 0; i < size(); ++i)
    marks.push_back(monitor(i).log_mark());
  return marks;
}

std::string ProcessCluster::await_monitor_line(std::string_view line,
                                               std::chrono::milliseconds timeout,
                                               const std::vector<std::size_t>& marks) {
  std::string problems;
  for (std::size_t i = 0; i < size(); ++i) {
    const std::size_t mark = marks.empty() ? 0 : marks.at(i);
    if (monitor(i).wait_for_line(line, timeout, mark)) continue;
    problems += name(i) + " printed no '" + std::string(line) + "' line";
    // One printed before the mark means it happened before the step under test.
    if (auto earlier = monitor(i).wait_for_line(line, std::chrono::milliseconds(0)))
      problems += " (only before the fault: '" + *earlier + "')";
    problems += "; ";
  }
  return problems;
}

ChildProcess& ProcessCluster::start_broker() {
  broker_.reset();
  const auto end = std::chrono::steady_clock::now() + kStartTimeout;
  while (true) {
    auto process =
        std::make_unique<ChildProcess>(binaries_.broker, broker_args(ports_), next_log("broker"));
    // netmon-broker logs "ready in=... out=..." once bound, like every process.
    if (process->wait_for_line("ready", kStartTimeout)) {
      broker_ = std::move(process);
      return *broker_;
    }
    if (process->running() || std::chrono::steady_clock::now() >= end)
      throw std::runtime_error("netmon-broker did not start:\n" + process->log());
  }
}

ChildProcess& ProcessCluster::start_logger(const std::filesystem::path& output) {
  logger_.reset();
  logger_ = start(binaries_.logger, "logger",
                  {"--broker", ports_.broker_out, "--json", "--output", output.string()}, "ready");
  return *logger_;
}

void ProcessCluster::kill(ChildProcess& process) {
  process.signal(SIGKILL);
  process.wait_exit(std::chrono::seconds(30));
}

std::uint64_t ProcessCluster::produced_total() const {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < size(); ++i)
    sum += produced(i);
  return sum;
}

bool ProcessCluster::await_stored_progress(std::uint64_t more, std::chrono::milliseconds timeout) {
  const std::uint64_t target = produced_total() + more;
  const auto end = std::chrono::steady_clock::now() + timeout;
  if (!await([&] { return produced_total() >= target; }, timeout)) return false;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
  return await([&] { return stored() >= target; }, std::max(left, std::chrono::milliseconds(0)));
}

std::string ProcessCluster::progress() const {
  return "stored " + std::to_string(stored()) + " of " + std::to_string(produced_total()) +
         " produced\n";
}

std::string ProcessCluster::stop_and_drain_monitors(std::chrono::milliseconds timeout) {
  std::string problems = stop_monitors();
  for (std::size_t i = 0; i < size(); ++i)
    start_monitor(i, 0);
  const std::uint64_t expected = produced_total();
  if (!await([&] { return stored() >= expected; }, timeout)) {
    problems += "the store holds " + std::to_string(stored()) + " rows, the produced logs " +
                std::to_string(expected) + " lines after draining for " +
                std::to_string(timeout.count()) + " ms; ";
  }
  return problems + stop_monitors();
}

std::string ProcessCluster::stop_monitors() {
  std::string problems;
  for (auto& monitor : monitors_)
    if (monitor) monitor->signal(SIGTERM);
  for (std::size_t i = 0; i < size(); ++i) {
    if (!monitors_[i]) continue;
    const auto status = monitors_[i]->wait_exit(std::chrono::seconds(30));
    if (status != 0) {
      problems += name(i) + " exited with " +
                  (status ? std::to_string(*status) : std::string("no exit in 30 s")) +
                  " on SIGTERM; ";
    }
  }
  return problems;
}

std::string ProcessCluster::stop_services() {
  std::string problems;
  auto stop = [&](const char* role, std::unique_ptr<ChildProcess>& process) {
    if (!process || !process->running()) return;
    const auto status = process->stop(std::chrono::seconds(30));
    if (status != 0) {
      problems += std::string(role) + " exited with " +
                  (status ? std::to_string(*status) : std::string("no exit in 30 s")) +
                  " on SIGTERM; ";
    }
  };
  stop("logger", logger_);
  stop("manager", manager_);
  stop("broker", broker_);
  return problems;
}

std::string ProcessCluster::export_jsonl() {
  const auto log = next_log("export");
  ChildProcess exporter(binaries_.manager,
                        {"export", "--data-dir", manager_dir().string(), "--format", "jsonl"}, log);
  const auto status = exporter.wait_exit(std::chrono::seconds(60));
  if (status != 0) throw std::runtime_error("netmon-manager export failed:\n" + exporter.log());
  return exporter.log();
}

std::map<std::string, Comparison> ProcessCluster::compare_with_export() {
  auto exported = parse_export(export_jsonl());
  std::map<std::string, Comparison> result;
  for (std::size_t i = 0; i < size(); ++i) {
    result[name(i)] = compare(read_produced_log(produced_log(i)), exported[name(i)]);
    exported.erase(name(i));
  }
  for (const auto& [other, keys] : exported)
    result[other] = compare({}, keys);
  return result;
}

std::string ProcessCluster::drain_stop_and_compare(std::chrono::milliseconds timeout,
                                                   std::uint64_t min_produced) {
  std::string problems = stop_and_drain_monitors(timeout);
  problems += stop_services();
  const auto comparisons = compare_with_export();
  std::cout << summary(comparisons) << "\n";
  return problems + exactly_once_problems(comparisons, min_produced);
}

std::string ProcessCluster::logs() {
  std::string text;
  auto add = [&](const std::string& role, std::unique_ptr<ChildProcess>& process) {
    if (!process) return;
    std::string log = process->log();
    if (log.size() > 3000) log = "..." + log.substr(log.size() - 3000);
    text += "--- " + role + " (" + process->log_path().string() + ")\n" + log;
  };
  add("manager", manager_);
  for (std::size_t i = 0; i < size(); ++i)
    add(name(i), monitors_[i]);
  add("broker", broker_);
  add("logger", logger_);
  return text;
}

std::filesystem::path ProcessCluster::next_log(const std::string& role) {
  return dir_ / (role + "-" + std::to_string(++starts_[role]) + ".log");
}

std::unique_ptr<ChildProcess> ProcessCluster::start(const std::filesystem::path& binary,
                                                    const std::string& role,
                                                    std::vector<std::string> args,
                                                    std::string_view ready) {
  auto process = std::make_unique<ChildProcess>(binary, std::move(args), next_log(role));
  if (!process->wait_for_line(ready, kStartTimeout)) {
    throw std::runtime_error(binary.filename().string() + " (" + role + ") printed no '" +
                             std::string(ready) + "' line:\n" + process->log());
  }
  return process;
}

}  // namespace netmon::cluster
