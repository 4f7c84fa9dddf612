#include "broker/logger/logger_command.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <thread>

#include "common/logging.hpp"
#include "common/signal_wait.hpp"

namespace netmon::logger {
namespace {

constexpr const char* kProgram = "netmon-logger";

constexpr const char* kDescription =
    "netmon-logger – subscribes to the broker's live results feed and prints one line per\n"
    "result, loss record and manager event: timestamped, monitor-tagged human lines, or JSON\n"
    "lines with --json. The live feed is not complete (it starts when the logger connects and\n"
    "PUB/SUB drops on reconnects); a `GAP` line names every range of a monitor's sequence it\n"
    "did not see. The manager's store is complete: `netmon-manager export`.";

}  // namespace

bool use_color(ColorMode mode, bool terminal, const char* no_color) {
  switch (mode) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      break;
  }
  return terminal && (no_color == nullptr || *no_color == '\0');
}

ParsedCommand<LoggerCommand> parse_logger_args(int argc, const char* const* argv) {
  LoggerCommand command;
  LoggerOptions& options = command.options;
  bool json = false;
  std::string status_text;
  CLI::App app{kDescription, kProgram};
  app.add_option("--broker", options.broker, "the broker's XPUB endpoint (results out)")
      ->capture_default_str();
  app.add_flag("--json", json, "one JSON object per line instead of human lines");
  app.add_option("--monitor", options.filter.monitor, "only this monitor's results and events");
  app.add_option("--check", options.filter.check,
                 "only this check id's results and events (no GAP lines: other checks' "
                 "sequence numbers are not seen)");
  app.add_option("--status", status_text,
                 "only results with this status (events, LOSS and GAP "
                 "lines still shown)")
      ->check(CLI::IsMember({"up", "down", "timeout", "error"}));
  app.add_flag("--events,!--no-events", options.filter.events,
               "show the manager's state-change events (default: on)");
  app.add_option("--output", command.output,
                 "write lines to FILE instead of stdout, rotated by size");
  app.add_option("--max-bytes", command.max_bytes,
                 "rotate --output when it would grow past this size (bytes, or 512KiB, 10MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--keep", command.keep, "rotated files kept: FILE.1 (newest) .. FILE.N")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--color",
         [&command](const std::string& text) {
           command.color = text == "always"  ? ColorMode::kAlways
                           : text == "never" ? ColorMode::kNever
                                             : ColorMode::kAuto;
         },
         "colour statuses on human lines: auto (on a terminal, unless NO_COLOR is set), always, "
         "never")
      ->check(CLI::Validator(CLI::IsMember({"auto", "always", "never"})).description(""))
      ->default_str("auto")
      ->type_name("auto|always|never");
  add_log_level_option(app, command.log_level);
  add_local_time_option(app);
  if (auto stop = parse_command_line(app, argc, argv)) return *stop;
  options.format = json ? OutputFormat::kJson : OutputFormat::kHuman;
  if (!status_text.empty()) options.filter.status = parse_check_status(status_text);
  return command;
}

int logger_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<LoggerCommand> parsed = parse_logger_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  LoggerCommand& command = *parsed.options;
  setup_logging(command.log_level);
  // Only the program's own stdout can be a terminal: not --output, nor a
  // stream a test passes in.
  const bool terminal = command.output.empty() && &out == &std::cout && isatty(STDOUT_FILENO) == 1;
  command.options.color = command.options.format == OutputFormat::kHuman &&
                          use_color(command.color, terminal, std::getenv("NO_COLOR"));
  const auto log = component_logger("logger");

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  const SignalWaiter signals({SIGINT, SIGTERM});

  std::unique_ptr<LineSink> sink;
  try {
    if (command.output.empty()) {
      sink = std::make_unique<StreamSink>(out);
    } else {
      sink = std::make_unique<RotatingFileWriter>(command.output, command.max_bytes, command.keep);
    }
  } catch (const std::exception& e) {
    err << kProgram << ": " << e.what() << "\n";
    return kExitFailure;
  }

  try {
    zmq::context_t context;
    LogSubscriber subscriber(context, command.options, *sink);
    std::atomic<bool> signalled{false};
    std::thread signal_thread([&] {
      signals.wait();
      signalled = true;
      subscriber.request_stop();
    });
    const auto result = subscriber.run();
    // The loop ended on its own (the output failed): release the signal thread.
    if (!signalled) pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    const auto stats = subscriber.stats();
    log->info("stopped lines={} results={} events={} losses={} gaps={} missing={} malformed={}",
              stats.lines, stats.results, stats.events, stats.losses, stats.gaps, stats.missing,
              stats.malformed);
    return result ? kExitOk : kExitFailure;
  } catch (const zmq::error_t& e) {
    err << kProgram << ": --broker " << command.options.broker << ": " << e.what()
        << " (expected e.g. tcp://127.0.0.1:5557)\n";
    return kExitFailure;
  }
}

}  // namespace netmon::logger
