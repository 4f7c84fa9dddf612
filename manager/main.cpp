// netmon-manager: runs the manager (config, sessions, store, embedded broker)
// or, with `export`, prints the stored results. Exit codes: 0 ok, 1 runtime
// failure, 2 usage or config error.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "common/command_line.hpp"
#include "common/duration.hpp"
#include "common/logging.hpp"
#include "common/signal_wait.hpp"
#include "manager/manager.hpp"
#include "manager/manager_config.hpp"
#include "manager/result_export.hpp"

namespace {

using netmon::kExitUsage;

constexpr int kExitRuntime = 1;

int run_export(const std::filesystem::path& data_dir, const std::string& since,
               const std::string& format) {
  netmon::manager::ExportOptions options;
  options.data_dir = data_dir;
  auto parsed_format = netmon::manager::parse_export_format(format);
  if (!parsed_format) {
    std::cerr << "netmon-manager export: " << parsed_format.error().message << "\n";
    return kExitUsage;
  }
  options.format = *parsed_format;
  if (!since.empty()) {
    auto parsed = netmon::manager::parse_since(since, std::chrono::system_clock::now());
    if (!parsed) {
      std::cerr << "netmon-manager export: " << parsed.error().message << "\n";
      return kExitUsage;
    }
    options.since = *parsed;
  }
  auto counts = netmon::manager::export_records(options, std::cout);
  if (!counts) {
    std::cerr << "netmon-manager export: " << counts.error().message << "\n";
    return kExitRuntime;
  }
  // Damaged rows are printed (and stay in the store): a warning, not a failure,
  // so one bad row cannot make every later export of the store fail.
  if (counts->damaged > 0) {
    std::cerr << "netmon-manager export: " << counts->damaged << " of " << counts->records
              << " records are damaged in the store; they are printed with the key \"damaged\" "
                 "naming each repaired column\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "netmon-manager – holds the monitors' configuration and the result history.\n"
      "Monitors connect to --control; their results arrive through the broker (embedded by\n"
      "default: --broker-in for publishers, --broker-out for subscribers) and are stored in\n"
      "DIR/netmon.db. SIGHUP reloads the config file; SIGINT/SIGTERM stop.\n"
      "Exit codes: 0 ok, 1 runtime failure, 2 usage or config error."};
  netmon::manager::ManagerOptions options;
  std::string log_level = "info";
  std::string sync = "full";
  std::string heartbeat = "1s";
  std::string status_interval = "10s";
  bool check_config = false;
  app.add_option("--config", options.config_file, "config file (YAML, see CONFIGURATION.md)");
  app.add_option("--data-dir", options.data_dir, "directory of the store (DIR/netmon.db)");
  app.add_option("--control", options.control, "endpoint monitors connect to (ROUTER)")
      ->capture_default_str();
  app.add_option("--broker-in", options.broker_in, "endpoint publishers connect to")
      ->capture_default_str();
  app.add_option("--broker-out", options.broker_out, "endpoint subscribers connect to")
      ->capture_default_str();
  bool external_broker = false;
  app.add_flag("--external-broker", external_broker,
               "connect to a running netmon-broker at --broker-in and --broker-out instead of "
               "embedding one");
  app.add_option("--sync", sync, "store durability: full (survives power loss) or normal")
      ->capture_default_str();
  app.add_option("--heartbeat", heartbeat,
                 "heartbeat interval; a monitor silent for 3 intervals is LOST")
      ->capture_default_str();
  app.add_option("--status-interval", status_interval,
                 "how often the status table is printed; 0 turns it off")
      ->capture_default_str();
  app.add_flag("--check-config", check_config,
               "validate --config, print the result and exit (0 valid, 2 invalid)");
  netmon::add_log_level_option(app, log_level);

  CLI::App* export_command = app.add_subcommand(
      "export",
      "print stored results (works while the manager runs, too). Every row is printed as valid "
      "JSON; a damaged row (text not UTF-8, NULL, wrong type, details not JSON) gets the key "
      "\"damaged\" naming each repair, and their count goes to stderr. Exit codes: 0 every row "
      "printed (damaged ones too), 1 the store cannot be read (what was printed stays valid "
      "JSON), 2 usage error");
  std::filesystem::path export_dir;
  std::string since;
  std::string format = "jsonl";
  export_command->add_option("--data-dir", export_dir, "the manager's data dir")->required();
  export_command->add_option(
      "--since", since,
      "only results at or after TIME: RFC 3339 (2026-11-21T08:00:00Z, offsets allowed) or a "
      "duration back from now (90s, 15m, 1h, 2d)");
  export_command
      ->add_option("--format", format,
                   "jsonl: one object per line; json: one array. Keys: monitor, epoch, seq, "
                   "check, type, target, ts, status, reason, latency_ms, details (and damaged)")
      ->capture_default_str();
  app.require_subcommand(0, 1);
  if (auto exit_code = netmon::parse_command_line(app, argc, argv)) return *exit_code;
  if (export_command->parsed()) return run_export(export_dir, since, format);

  netmon::setup_logging(log_level);
  if (options.config_file.empty() || (options.data_dir.empty() && !check_config)) {
    std::cerr << "netmon-manager: --config and --data-dir are required (see --help)\n";
    return kExitUsage;
  }
  if (auto config = netmon::manager::load_manager_config(options.config_file); !config) {
    std::cerr << config.error().message << "\n";
    return kExitUsage;
  } else if (check_config) {
    std::cout << options.config_file.string() << ": valid, " << config->monitors.size()
              << " monitors\n";
    return 0;
  }
  options.embedded_broker = !external_broker;
  if (sync == "full") {
    options.synchronous = netmon::sqlite::Synchronous::kFull;
  } else if (sync == "normal") {
    options.synchronous = netmon::sqlite::Synchronous::kNormal;
  } else {
    std::cerr << "netmon-manager: --sync '" << sync << "' is unknown (allowed: full, normal)\n";
    return kExitUsage;
  }
  for (auto [text, target, flag] :
       {std::tuple{&heartbeat, &options.heartbeat, "--heartbeat"},
        std::tuple{&status_interval, &options.status_interval, "--status-interval"}}) {
    if (*text == "0" && target == &options.status_interval) {
      *target = std::chrono::milliseconds::zero();
      continue;
    }
    auto parsed = netmon::parse_duration(*text);
    if (!parsed) {
      std::cerr << "netmon-manager: " << flag << " " << parsed.error().message << "\n";
      return kExitUsage;
    }
    *target = *parsed;
  }

  // The loop thread inherits the mask; signals are taken here.
  const netmon::SignalWaiter signals({SIGINT, SIGTERM, SIGHUP});

  auto log = netmon::component_logger("manager");
  try {
    zmq::context_t context;
    netmon::manager::Manager manager(context, options);
    manager.start();
    for (;;) {
      // Wakes every second to notice a loop that died of a fatal error.
      const auto received = signals.wait_for(std::chrono::seconds(1));
      if (!received) {
        if (manager.running()) continue;
        log->critical("the manager loop failed; exiting");
        return kExitRuntime;
      }
      if (*received != SIGHUP) break;
      if (auto reloaded = manager.reload_config(); !reloaded) {
        log->error("config not reloaded (the running config stays): {}", reloaded.error().message);
      }
    }
    manager.stop();
    const auto stats = manager.stats();
    log->info(
        "stopped stored={} duplicates={} replay_requests={} malformed_control={} "
        "malformed_results={} unknown_peers={}",
        stats.stored, stats.duplicates, stats.replay_requests, stats.malformed_control,
        stats.malformed_results, stats.unknown_peers);
  } catch (const std::exception& e) {
    std::cerr << "netmon-manager: " << e.what() << "\n";
    return kExitRuntime;
  }
  return 0;
}
