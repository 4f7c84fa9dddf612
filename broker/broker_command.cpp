#include "broker/broker_command.hpp"

#include <csignal>

#include "common/logging.hpp"
#include "common/signal_wait.hpp"

namespace netmon {
namespace {

constexpr const char* kProgram = "netmon-broker";

}  // namespace

ParsedCommand<BrokerCommand> parse_broker_args(int argc, const char* const* argv) {
  BrokerCommand command;
  CLI::App app{
      "netmon-broker – forwards live results from monitors (XSUB, --in) to any subscriber "
      "(XPUB, --out).\nThe manager embeds a broker by default; run this one for larger or "
      "multi-subscriber setups and start the manager with --external-broker.",
      kProgram};
  app.add_option("--in", command.endpoints.in, "endpoint publishers connect to")
      ->capture_default_str();
  app.add_option("--out", command.endpoints.out, "endpoint subscribers connect to")
      ->capture_default_str();
  add_log_level_option(app, command.log_level);
  add_local_time_option(app);
  if (auto stop = parse_command_line(app, argc, argv)) return *stop;
  return command;
}

int broker_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<BrokerCommand> parsed = parse_broker_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  const BrokerEndpoints& endpoints = parsed.options->endpoints;
  setup_logging(parsed.options->log_level);

  const SignalWaiter signals({SIGINT, SIGTERM});  // the broker thread inherits the mask
  try {
    zmq::context_t context;
    ResultBroker broker(context, endpoints);
    component_logger("broker")->info("ready in={} out={}", broker.in_endpoint(),
                                     broker.out_endpoint());
    signals.wait();
    broker.stop();
  } catch (const zmq::error_t& e) {
    err << kProgram << ": cannot bind: " << e.what() << " (in=" << endpoints.in
        << " out=" << endpoints.out << ")\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace netmon
