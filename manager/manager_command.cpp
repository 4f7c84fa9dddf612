#include "manager/manager_command.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <optional>
#include <thread>

#include "common/duration.hpp"
#include "common/logging.hpp"
#include "common/protocol/ctl_codec.hpp"
#include "common/signal_wait.hpp"
#include "manager/console/console_shell.hpp"
#include "manager/manager_config.hpp"

namespace netmon::manager {
namespace {

constexpr const char* kProgram = "netmon-manager";
constexpr const char* kExportProgram = "netmon-manager export";

constexpr const char* kDescription =
    "netmon-manager – holds the monitors' configuration and the result history.\n"
    "Monitors connect to --control; their results arrive through the broker (embedded by\n"
    "default: --broker-in for publishers, --broker-out for subscribers) and are stored in\n"
    "DIR/netmon.db. SIGHUP reloads the config file; SIGINT/SIGTERM stop.\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.";

constexpr const char* kExportDescription =
    "print stored results (works while the manager runs, too). Every row is printed (as valid "
    "JSON or CSV); a damaged row (text not UTF-8, NULL, wrong type, details not JSON) gets the key "
    "\"damaged\" naming each repair, and their count goes to stderr. Exit codes: 0 every row "
    "printed (damaged ones too), 1 the store cannot be read (what was printed stays valid "
    "JSON or CSV), 2 usage error";

struct RawArgs {
  std::string heartbeat = "1s";
  std::string status_interval = "10s";
  bool external_broker = false;
  bool check_config = false;
  bool shell = false;
  std::string ctl;
  ExportFlags export_flags;
};

int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  auto counts = export_records(options, out);
  if (!counts) {
    err << kExportProgram << ": " << counts.error().message << "\n";
    return kExitFailure;
  }
  // Damaged rows are printed (and stay in the store): a warning, not a failure,
  // so one bad row cannot make every later export of the store fail.
  if (counts->damaged > 0) {
    err << kExportProgram << ": " << counts->damaged << " of " << counts->records
        << " records are damaged in the store; they are printed with the key \"damaged\" "
           "naming each repaired column\n";
  }
  return kExitOk;
}

void log_stopped(spdlog::logger& log, const Manager& manager) {
  const auto stats = manager.stats();
  log.info(
      "stopped stored={} duplicates={} replay_requests={} malformed_control={} "
      "malformed_results={} unknown_peers={}",
      stats.stored, stats.duplicates, stats.replay_requests, stats.malformed_control,
      stats.malformed_results, stats.unknown_peers);
}

void reload(spdlog::logger& log, Manager& manager) {
  if (auto reloaded = manager.reload_config(); !reloaded) {
    log.error("config not reloaded (the running config stays): {}", reloaded.error().message);
  }
}

// The manager with its console shell in the foreground: the shell is a ctl
// client like netmon-ctl (it never touches the loop's state), takes SIGINT
// itself (Ctrl+C clears the line), and its `exit` stops the manager. A
// thread takes SIGTERM (stops the shell, then the manager) and SIGHUP.
int run_with_shell(ManagerOptions options, std::ostream& out, std::ostream& err) {
  const SignalWaiter signals({SIGTERM, SIGHUP});
  // Log lines are printed above the prompt, not through the line being typed.
  route_logs_to(console::shell_log_sink());
  auto log = component_logger("manager");
  zmq::context_t context;
  if (options.ctl.empty()) {
    // --ctl off: nobody else may connect, but the shell needs a way in.
    static std::atomic<std::uint64_t> shells{0};
    options.ctl = "inproc://netmon-manager-shell-" + std::to_string(shells++);
  }
  Manager manager(context, options);
  manager.start();
  const console::ShellStop stop;
  std::atomic<bool> shell_done{false};
  bool loop_failed = false;
  std::thread signal_thread([&] {
    while (!shell_done) {
      const auto received = signals.wait_for(std::chrono::milliseconds(200));
      if (!received) {
        if (manager.running()) continue;
        loop_failed = true;
        log->critical("the manager loop failed; exiting");
      } else if (*received == SIGHUP) {
        reload(*log, manager);
        continue;
      }
      stop.request();
      return;
    }
  });
  console::ShellOptions shell;
  shell.endpoint = manager.ctl_endpoint();
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    shell.history_file = std::filesystem::path(home) / ".netmon_history";
  }
  shell.exit_stops_manager = true;
  shell.context = &context;
  shell.stop = &stop;
  (void)console::run_shell(shell, out, err);
  shell_done = true;
  signal_thread.join();
  manager.stop();
  log_stopped(*log, manager);
  route_logs_to(nullptr);
  return loop_failed ? kExitFailure : kExitOk;
}

int run_manager(const ManagerOptions& options, std::ostream& err) {
  // The loop thread inherits the mask; signals are taken here.
  const SignalWaiter signals({SIGINT, SIGTERM, SIGHUP});

  auto log = component_logger("manager");
  try {
    zmq::context_t context;
    Manager manager(context, options);
    manager.start();
    for (;;) {
      // Wakes every second to notice a loop that died of a fatal error.
      const auto received = signals.wait_for(std::chrono::seconds(1));
      if (!received) {
        if (manager.running()) continue;
        log->critical("the manager loop failed; exiting");
        return kExitFailure;
      }
      if (*received != SIGHUP) break;
      reload(*log, manager);
    }
    manager.stop();
    log_stopped(*log, manager);
  } catch (const std::exception& e) {
    err << kProgram << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

ParsedCommand<ManagerCommand> parse_manager_args(int argc, const char* const* argv) {
  ManagerCommand command;
  ManagerOptions& options = command.options;
  RawArgs raw;
  CLI::App app{kDescription, kProgram};
  app.add_option("--config", options.config_file, "config file (YAML, see CONFIGURATION.md)");
  app.add_option("--data-dir", options.data_dir, "directory of the store (DIR/netmon.db)");
  app.add_option("--control", options.control, "endpoint monitors connect to (ROUTER)")
      ->capture_default_str();
  app.add_option("--broker-in", options.broker_in, "endpoint publishers connect to")
      ->capture_default_str();
  app.add_option("--broker-out", options.broker_out, "endpoint subscribers connect to")
      ->capture_default_str();
  app.add_option("--ctl", raw.ctl,
                 "operator console endpoint for netmon-ctl (default ipc://DATA_DIR/ctl.sock, "
                 "mode 0660); off serves none");
  CLI::Option* shell_flag = app.add_flag(
      "--shell,!--no-shell", raw.shell,
      "run the console shell (as netmon-ctl's) in the foreground; its exit stops the "
      "manager. Default: on when stdin and stdout are the terminal and the manager runs "
      "in its foreground");
  app.add_flag("--external-broker", raw.external_broker,
               "connect to a running netmon-broker at --broker-in and --broker-out instead of "
               "embedding one");
  add_sync_option(app, options.synchronous,
                  "store durability: full (survives power loss) or normal");
  app.add_option("--heartbeat", raw.heartbeat,
                 "heartbeat interval; a monitor silent for 3 intervals is LOST")
      ->capture_default_str();
  app.add_option("--status-interval", raw.status_interval,
                 "how often the status table is printed; 0 turns it off")
      ->capture_default_str();
  app.add_flag("--check-config", raw.check_config,
               "validate --config, print the result and exit (0 valid, 2 invalid)");
  add_log_level_option(app, command.log_level);
  add_local_time_option(app);

  CLI::App* export_command = app.add_subcommand("export", kExportDescription);
  ExportFlags& flags = raw.export_flags;
  export_command
      ->add_option("--data-dir", command.export_options.data_dir, "the manager's data dir")
      ->required();
  export_command
      ->add_option(
          "--since", flags.since,
          "only results at or after TIME: RFC 3339 (2026-11-21T08:00:00Z, offsets allowed) or a "
          "duration back from now (90s, 15m, 1h, 2d)")
      ->type_name("TIME");
  export_command
      ->add_option("--until", flags.until, "only results before TIME (the forms of --since)")
      ->type_name("TIME");
  export_command->add_option("--monitor", flags.monitor, "only this monitor's records")
      ->type_name("NAME");
  export_command
      ->add_option(
          "--check", flags.check,
          "only this check id's records, and the loss records (check _loss) of the monitors")
      ->type_name("ID");
  export_command
      ->add_option("--format", flags.format,
                   "jsonl: one object per line; json: one array; csv: RFC 4180 with a header "
                   "row, timings and details as JSON text. Keys: monitor, epoch, seq, check, "
                   "type, target, timestamp, status, reason, error, latency_ms, timings, details "
                   "(and damaged)")
      ->type_name("jsonl|json|csv")
      ->capture_default_str();
  add_local_time_option(*export_command);
  app.require_subcommand(0, 1);
  if (auto stop = parse_command_line(app, argc, argv)) return *stop;

  if (export_command->parsed()) {
    // Checked before the store is opened.
    auto checked = make_export_options(flags, std::chrono::system_clock::now());
    if (!checked) return usage_error(kExportProgram, checked.error().message);
    checked->data_dir = command.export_options.data_dir;
    command.export_options = std::move(*checked);
    command.mode = ManagerCommand::Mode::kExport;
    return command;
  }
  if (options.config_file.empty() || (options.data_dir.empty() && !raw.check_config)) {
    return usage_error(kProgram, "--config and --data-dir are required");
  }
  if (raw.check_config) {
    command.mode = ManagerCommand::Mode::kCheckConfig;
    return command;
  }
  options.embedded_broker = !raw.external_broker;
  command.shell = shell_flag->count() > 0
                      ? raw.shell
                      : ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1 &&
                            ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  if (raw.ctl.empty()) {
    options.ctl = protocol::ctl::default_ctl_endpoint(options.data_dir);
  } else if (raw.ctl != "off") {
    options.ctl = raw.ctl;
  }
  if (auto heartbeat = parse_duration(raw.heartbeat); !heartbeat) {
    return usage_error(kProgram, "--heartbeat " + heartbeat.error().message);
  } else {
    options.heartbeat = *heartbeat;
  }
  if (raw.status_interval == "0") {
    options.status_interval = std::chrono::milliseconds::zero();
  } else if (auto interval = parse_duration(raw.status_interval); !interval) {
    return usage_error(kProgram, "--status-interval " + interval.error().message);
  } else {
    options.status_interval = *interval;
  }
  return command;
}

int manager_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<ManagerCommand> parsed = parse_manager_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  const ManagerCommand& command = *parsed.options;
  if (command.mode == ManagerCommand::Mode::kExport) {
    return run_export(command.export_options, out, err);
  }

  setup_logging(command.log_level);
  const auto& config_file = command.options.config_file;
  auto config = load_manager_config(config_file);
  if (!config) {
    err << config.error().message << "\n";
    return kExitUsage;
  }
  if (command.mode == ManagerCommand::Mode::kCheckConfig) {
    out << config_file.string() << ": valid, " << config->monitors.size() << " monitors\n";
    return kExitOk;
  }
  if (command.shell) {
    try {
      return run_with_shell(command.options, out, err);
    } catch (const std::exception& e) {
      route_logs_to(nullptr);
      err << kProgram << ": " << e.what() << "\n";
      return kExitFailure;
    }
  }
  return run_manager(command.options, err);
}

}  // namespace netmon::manager
