#include "echo/echo_command.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <exception>

#include "common/duration.hpp"
#include "common/logging.hpp"

namespace netmon::echo {
namespace {

constexpr const char* kProgram = "netmon-echo";

std::string description() {
  return "netmon-echo: TCP and UDP echo server (the target of tcp_echo and udp_echo checks).\n"
         "Every byte a TCP client sends and every datagram a UDP client sends is sent back\n"
         "unchanged. Each TCP client gets one " +
         std::to_string(kDefaultClientBufferBytes / 1024) +
         " KiB buffer and is only read again after its\n"
         "echo was written, so a client that never reads cannot grow the server's memory.\n"
         "SIGINT or SIGTERM stops the server cleanly (exit 0) with a summary line.";
}

}  // namespace

ParsedCommand<EchoCommand> parse_echo_args(int argc, const char* const* argv) {
  EchoCommand command;
  EchoServerOptions& options = command.options;
  std::string tcp_text(kDefaultTcpListen);
  std::string udp_text(kDefaultUdpListen);
  std::string idle_text =
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(kDefaultIdleTimeout).count()) +
      "s";

  CLI::App app{description(), kProgram};
  app.add_option("--tcp", tcp_text,
                 "TCP listen address IP:PORT or [IPv6]:PORT (port 0 picks a free port); "
                 "'off' or '' disables TCP")
      ->capture_default_str();
  app.add_option("--udp", udp_text,
                 "UDP listen address IP:PORT or [IPv6]:PORT (port 0 picks a free port); "
                 "'off' or '' disables UDP")
      ->capture_default_str();
  app.add_option("--max-clients", options.max_clients,
                 "TCP clients served at once; more are closed at once with a log line")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_text,
                 "close a TCP client after this long without traffic (500ms, 30s, 5m)")
      ->capture_default_str();
  add_log_level_option(app, command.log_level);
  add_local_time_option(app);
  if (auto stop = parse_command_line(app, argc, argv)) return *stop;

  auto tcp_address = parse_listen_address(tcp_text);
  if (!tcp_address) return usage_error(kProgram, "--tcp " + tcp_address.error().message);
  auto udp_address = parse_listen_address(udp_text);
  if (!udp_address) return usage_error(kProgram, "--udp " + udp_address.error().message);
  if (!*tcp_address && !*udp_address) {
    return usage_error(kProgram, "--tcp and --udp are both off: nothing to serve");
  }
  auto idle_timeout = parse_duration(idle_text);
  if (!idle_timeout) {
    return usage_error(kProgram, "--idle-timeout " + idle_timeout.error().message);
  }
  if (idle_timeout->count() <= 0) {
    return usage_error(kProgram, "--idle-timeout '" + idle_text + "' must be more than 0");
  }
  if (*tcp_address) {
    options.tcp = asio::ip::tcp::endpoint((*tcp_address)->address, (*tcp_address)->port);
  }
  if (*udp_address) {
    options.udp = asio::ip::udp::endpoint((*udp_address)->address, (*udp_address)->port);
  }
  options.idle_timeout = *idle_timeout;
  return command;
}

int echo_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<EchoCommand> parsed = parse_echo_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  const EchoServerOptions& options = parsed.options->options;
  setup_logging(parsed.options->log_level);
  const auto log = component_logger("echo");

  try {
    asio::io_context io(1);
    EchoServer server(io, options);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int signal_number) {
      if (ec) return;
      log->info("stopping signal={}", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
      server.stop();
    });

    const auto tcp = server.tcp_endpoint();
    const auto udp = server.udp_endpoint();
    log->info("listening tcp={} udp={} max_clients={} idle_timeout={}",
              tcp ? format_endpoint(tcp->address(), tcp->port()) : "off",
              udp ? format_endpoint(udp->address(), udp->port()) : "off", options.max_clients,
              format_duration(options.idle_timeout));

    io.run();
    log->info("stopped {}", server.summary());
    return kExitOk;
  } catch (const std::exception& error) {
    log->error("{}", error.what());
    return kExitFailure;
  }
}

}  // namespace netmon::echo
