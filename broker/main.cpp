// netmon-broker: the standalone results bus (the manager embeds the same broker by default).
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "broker/result_broker.hpp"
#include "common/command_line.hpp"
#include "common/logging.hpp"
#include "common/signal_wait.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "netmon-broker – forwards live results from monitors (XSUB, --in) to any subscriber "
      "(XPUB, --out).\nThe manager embeds a broker by default; run this one for larger or "
      "multi-subscriber setups and start the manager with --external-broker."};
  netmon::BrokerEndpoints endpoints;
  std::string log_level = "info";
  app.add_option("--in", endpoints.in, "endpoint publishers connect to")->capture_default_str();
  app.add_option("--out", endpoints.out, "endpoint subscribers connect to")->capture_default_str();
  netmon::add_log_level_option(app, log_level);
  if (auto exit_code = netmon::parse_command_line(app, argc, argv)) return *exit_code;
  netmon::setup_logging(log_level);

  const netmon::SignalWaiter signals({SIGINT, SIGTERM});  // the broker thread inherits the mask

  try {
    zmq::context_t context;
    netmon::ResultBroker broker(context, endpoints);
    netmon::component_logger("broker")->info("ready in={} out={}", broker.in_endpoint(),
                                             broker.out_endpoint());
    signals.wait();
    broker.stop();
  } catch (const zmq::error_t& e) {
    std::cerr << "netmon-broker: cannot bind: " << e.what() << " (in=" << endpoints.in
              << " out=" << endpoints.out << ")\n";
    return 1;
  }
  return 0;
}
