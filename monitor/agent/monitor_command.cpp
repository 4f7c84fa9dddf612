#include "monitor/agent/monitor_command.hpp"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <csignal>

#include "common/duration.hpp"
#include "common/logging.hpp"
#include "common/protocol/monitor_name.hpp"
#include "common/signal_wait.hpp"

namespace netmon::agent {
namespace {

constexpr const char* kDescription =
    "netmon-monitor: runs the checks the manager assigns to --name and reports every result.\n"
    "\n"
    "Each result is committed to a durable outbox in --data-dir (SQLite) before it is\n"
    "published to the broker; it stays there until the manager acknowledges it has stored\n"
    "it, and whatever the manager missed is replayed over the control channel. The last\n"
    "config, the monitor's identity and its sequence numbers live in --data-dir too, so after\n"
    "a restart it resumes checking at once, even while the manager is away. When the outbox\n"
    "reaches --outbox-max-records or --outbox-max-age, the oldest results are dropped and a\n"
    "loss record tells the manager how many: checks never stop, loss is never silent.\n"
    "While the outbox cannot be written (a full disk), results wait in memory (a bounded\n"
    "number; a loss record covers what is shed), commits are retried with backoff, and the\n"
    "manager's status shows the outbox failing until it works again.\n";

constexpr const char* kFooter =
    "Examples:\n"
    "  netmon-monitor --name edge-1 --data-dir /var/lib/netmon/edge-1\n"
    "  netmon-monitor --name edge-2 --data-dir ./edge-2 --manager tcp://10.0.0.5:5555 \\\n"
    "                 --broker tcp://10.0.0.5:5556 --outbox-max-age 2d\n"
    "\n"
    "Console: 'ready' once started; 'connected' (manager, monitor id), 'config version V\n"
    "applied (N checks: ids)', 'manager lost', 'buffering N results' (every 10 s while the\n"
    "manager is away), 'replayed N results', and the manager's text when it refuses the\n"
    "monitor (it retries with backoff, 1 s doubling to 32 s).\n"
    "Ctrl+C or SIGTERM stops cleanly: pending results are committed and the manager is told.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when the monitor cannot start (data dir, endpoints)\n"
    "or stopped on an internal error (an outbox it cannot read), 2 for usage errors.\n";

constexpr const char* kProgram = "netmon-monitor";

constexpr std::chrono::milliseconds kFailureCheckInterval{200};

struct RawArgs {
  std::string max_records;
  std::string max_age;
  std::string synthetic;
};

CommandExit usage_error(const std::string& problem) {
  return netmon::usage_error(kProgram, problem);
}

}  // namespace

ParsedCommand<MonitorCommand> parse_monitor_args(int argc, const char* const* argv) {
  MonitorCommand command;
  MonitorOptions& options = command.options;
  RawArgs raw;
  std::string data_dir;
  std::string produced_log;
  CLI::App app(kDescription, kProgram);
  app.footer(kFooter);
  app.add_option("--name", options.name,
                 "This monitor's name: its checks are the manager config's monitors.NAME "
                 "(1..64 of A-Z a-z 0-9 - _ .)")
      ->required();
  app.add_option("--data-dir", data_dir,
                 "Directory for identity, last config and outbox (created if missing; one "
                 "monitor per directory)")
      ->required();
  app.add_option("--manager", options.manager, "The manager's control endpoint")
      ->capture_default_str();
  app.add_option("--broker", options.broker, "The broker's results-in endpoint (XSUB)")
      ->capture_default_str();
  app.add_option("--outbox-max-records", raw.max_records,
                 "Most records the outbox holds while unacknowledged [default: 1000000]")
      ->type_name("N");
  app.add_option("--outbox-max-age", raw.max_age,
                 "Oldest an unacknowledged record may get: 30s, 12h, 7d ... [default: 7d]; "
                 "counts the time the monitor runs (a wall-clock step ages nothing)")
      ->type_name("DURATION");
  add_sync_option(app, options.synchronous,
                  "Outbox durability: full survives power loss, normal only a crash of the "
                  "process (faster)");
  app.add_option("--synthetic", raw.synthetic,
                 "Emit RATE synthetic results/s instead of running checks (benchmarks)")
      ->type_name("RATE");
  app.add_option("--produced-log", produced_log,
                 "Append '<epoch> <seq>' per committed record to FILE (tests compare it with "
                 "'netmon-manager export')")
      ->type_name("FILE");
  add_log_level_option(app, command.log_level);
  add_local_time_option(app);
  if (auto stop = parse_command_line(app, argc, argv)) return *stop;
  if (auto valid = protocol::check_monitor_name(options.name); !valid) {
    return usage_error("--name: " + valid.error().message);
  }
  options.data_dir = data_dir;
  options.produced_log = produced_log;
  if (!raw.max_records.empty()) {
    const auto& text = raw.max_records;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0) {
      return usage_error("--outbox-max-records '" + text +
                         "': a whole number of records, at "
                         "least 1");
    }
    options.outbox_max_records = value;
  }
  if (!raw.max_age.empty()) {
    auto age = parse_duration(raw.max_age);
    if (!age || *age < std::chrono::seconds(1)) {
      return usage_error("--outbox-max-age '" + raw.max_age +
                         "': a duration of at least 1s, like 30s, 12h or 7d");
    }
    options.outbox_max_age = std::chrono::duration_cast<std::chrono::seconds>(*age);
  }
  if (!raw.synthetic.empty()) {
    double rate = 0;
    const auto& text = raw.synthetic;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
    if (ec != std::errc{} || end != text.data() + text.size() || !(rate >= 0) || rate > 1e7) {
      return usage_error("--synthetic '" + text + "': a rate in results/s, 0..10000000");
    }
    options.synthetic_rate = rate;
  }
  return command;
}

int monitor_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<MonitorCommand> parsed = parse_monitor_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  setup_logging(parsed.options->log_level);

  // A file size limit (ulimit -f) is then a write error the outbox handles
  // like a full disk, not a signal that kills the monitor.
  std::signal(SIGXFSZ, SIG_IGN);
  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only the wait below sees them.
  const SignalWaiter signals({SIGINT, SIGTERM});

  try {
    zmq::context_t context;
    MonitorAgent agent(context, std::move(parsed.options->options));
    agent.start();
    // Woken by a stop signal, or now and then to see whether the agent died.
    std::optional<int> received;
    while (!(received = signals.wait_for(kFailureCheckInterval)) && !agent.failure()) {
    }
    if (received) component_logger("monitor")->info("stopping on signal {}", *received);
    agent.stop();
    if (const auto failure = agent.failure()) {
      err << kProgram << ": stopped on an internal error: " << *failure << "\n" << std::flush;
      return kExitFailure;
    }
  } catch (const std::exception& e) {
    err << kProgram << ": " << e.what() << "\n" << std::flush;
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace netmon::agent
