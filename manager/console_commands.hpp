#pragma once
// The operator console's commands, executed on the manager's loop thread
// (docs/CONSOLE.md lists them, docs/PROTOCOL.md §12 their replies). The loop
// hands each request in and calls tick() every turn; a command answers at
// once, or later: a change when its monitor acknowledged the new config (or
// could not), a store query when the worker thread has read it. The console
// reads the loop's state through ConsoleHost and changes it only by asking
// for a new config, so the loop stays the one owner of state.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/expected.hpp"
#include "common/monotonic_clock.hpp"
#include "common/protocol/ctl_codec.hpp"
#include "manager/ctl_server.hpp"
#include "manager/manager.hpp"
#include "manager/manager_config.hpp"

namespace netmon::manager {

// A change the loop made durable: written to the config file and stored as
// new config versions (monitor -> version) of the monitors it changed.
struct AppliedConfig {
  std::map<std::string, std::uint64_t, std::less<>> versions;
};

struct ConsoleFailure {
  std::string code;  // a ctl error code (ctl_codec.hpp)
  std::string message;
};

template <class T>
using ConsoleResult = std::variant<T, ConsoleFailure>;

// The figures of `status` that are the manager's own.
struct ManagerSummary {
  std::string config_file, data_dir;
  std::chrono::milliseconds uptime{0};
  double ingest_per_s = 0;  // results stored per second over the last 10 s
  std::uint64_t stored = 0;
  std::string control, broker_in, broker_out, ctl;  // endpoints
};

class ConsoleHost {
 public:
  virtual ~ConsoleHost() = default;
  virtual std::vector<MonitorStatus> monitor_rows() = 0;
  virtual std::vector<CheckStatus> check_rows() = 0;
  virtual ManagerSummary summary() = 0;
  virtual const ManagerConfig& running_config() = 0;
  // Writes `config` to the config file (refused when the file changed on
  // disk since it was read) and applies it.
  virtual ConsoleResult<AppliedConfig> commit_config(const ManagerConfig& config) = 0;
  // Re-reads the config file and applies it (as SIGHUP does); the config
  // that ran before, for saying what changed.
  virtual ConsoleResult<ManagerConfig> reload_config_file() = 0;
};

class ConsoleCommands {
 public:
  using TimePoint = MonotonicClock::TimePoint;
  using Send = std::function<void(const std::string& routing_id, const protocol::ctl::Reply&)>;

  // Store queries (events, stats, export) read DATA_DIR's store on a worker
  // thread of their own, so a long one never holds up the loop.
  ConsoleCommands(ConsoleHost& host, std::filesystem::path data_dir, Send send);
  ConsoleCommands(const ConsoleCommands&) = delete;
  ConsoleCommands& operator=(const ConsoleCommands&) = delete;
  ~ConsoleCommands();  // waits for a running query

  void handle(const CtlCall& call, TimePoint now);
  // Answers the changes that were acknowledged (or timed out) and the
  // queries that finished.
  void tick(TimePoint now);

  // How long a change waits for its monitor's CONFIG_ACK before answering
  // that it is still being delivered.
  static constexpr std::chrono::seconds kAckWait{5};

 private:
  struct Command;
  struct Call {
    const CtlCall& ctl;
    TimePoint now;
    const std::vector<std::string>& args() const { return ctl.request.args; }
  };
  using Answer = std::optional<protocol::ctl::Reply>;  // nullopt: answered later

  static const std::vector<Command>& table();
  static const Command* find(std::string_view name);

  Answer help(const Call& call);
  Answer status(const Call& call);
  Answer monitors(const Call& call);
  Answer monitor(const Call& call);
  Answer checks(const Call& call);
  Answer add(const Call& call);
  Answer addconf(const Call& call);
  Answer set(const Call& call);
  Answer del(const Call& call);
  Answer delconf(const Call& call);
  Answer monitor_add(const Call& call);
  Answer monitor_del(const Call& call);
  Answer events(const Call& call);
  Answer stats(const Call& call);
  Answer export_file(const Call& call);
  Answer reload(const Call& call);
  Answer client_side(const Call& call);
  Answer complete(const Call& call);

  // An error reply unless `text` names a configured check (MONITOR/CHECK).
  std::optional<protocol::ctl::Reply> find_check(std::string_view text, std::string_view syntax);
  // Commits `config` and answers for `monitor` once delivered (or not).
  Answer change(const Call& call, const ManagerConfig& config, const std::string& monitor,
                const std::string& check, const std::string& verb);
  // Runs `query` on the worker thread; its reply is sent by tick().
  Answer in_background(const Call& call, std::function<protocol::ctl::Reply()> query);
  std::vector<std::string> complete_words(const std::vector<std::string>& words,
                                          const std::string& word);

  struct PendingChange {
    std::string routing_id;
    std::uint64_t request_id = 0;
    std::string monitor, text;  // text: "added edge-1/web-2"
    std::string data_check;
    std::uint64_t version = 0;
    TimePoint sent;
  };

  ConsoleHost& host_;
  std::filesystem::path data_dir_;
  Send send_;
  std::vector<PendingChange> pending_;

  // The worker: queries in, replies out.
  struct Job {
    std::string routing_id;
    std::uint64_t request_id = 0;
    std::function<protocol::ctl::Reply()> query;
  };
  void work();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::vector<std::pair<std::string, protocol::ctl::Reply>> done_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace netmon::manager
