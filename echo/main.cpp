// netmon-echo: TCP and UDP echo server for tcp_echo / udp_echo checks.
// Parses the command line, sets up logging and signals, runs the EchoServer
// on one loop until SIGINT/SIGTERM, then prints a summary line.

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "common/command_line.hpp"
#include "common/duration.hpp"
#include "common/logging.hpp"
#include "echo/echo_server.hpp"

namespace {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "netmon-echo: %s\nRun with --help for more information.\n", message.c_str());
  return netmon::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace netmon;

  std::string tcp_text(echo::kDefaultTcpListen);
  std::string udp_text(echo::kDefaultUdpListen);
  std::size_t max_clients = echo::kDefaultMaxClients;
  std::string idle_text =
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(echo::kDefaultIdleTimeout).count()) +
      "s";
  std::string level = "info";

  CLI::App app{
      "netmon-echo: TCP and UDP echo server (the target of tcp_echo and udp_echo checks).\n"
      "Every byte a TCP client sends and every datagram a UDP client sends is sent back\n"
      "unchanged. Each TCP client gets one " +
          std::to_string(echo::kDefaultClientBufferBytes / 1024) +
          " KiB buffer and is only read again after its\n"
          "echo was written, so a client that never reads cannot grow the server's memory.\n"
          "SIGINT or SIGTERM stops the server cleanly (exit 0) with a summary line.",
      "netmon-echo"};
  app.add_option("--tcp", tcp_text,
                 "TCP listen address IP:PORT or [IPv6]:PORT (port 0 picks a free port); "
                 "'off' or '' disables TCP")
      ->capture_default_str();
  app.add_option("--udp", udp_text,
                 "UDP listen address IP:PORT or [IPv6]:PORT (port 0 picks a free port); "
                 "'off' or '' disables UDP")
      ->capture_default_str();
  app.add_option("--max-clients", max_clients,
                 "TCP clients served at once; more are closed at once with a log line")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_text,
                 "close a TCP client after this long without traffic (500ms, 30s, 5m)")
      ->capture_default_str();
  add_log_level_option(app, level);

  if (auto exit_code = parse_command_line(app, argc, argv)) return *exit_code;

  auto tcp_address = echo::parse_listen_address(tcp_text);
  if (!tcp_address) return usage_error("--tcp " + tcp_address.error().message);
  auto udp_address = echo::parse_listen_address(udp_text);
  if (!udp_address) return usage_error("--udp " + udp_address.error().message);
  if (!*tcp_address && !*udp_address) {
    return usage_error("--tcp and --udp are both off: nothing to serve");
  }
  auto idle_timeout = parse_duration(idle_text);
  if (!idle_timeout) return usage_error("--idle-timeout " + idle_timeout.error().message);
  if (idle_timeout->count() <= 0) {
    return usage_error("--idle-timeout '" + idle_text + "' must be more than 0");
  }

  setup_logging(level);
  const auto log = component_logger("echo");

  echo::EchoServerOptions options;
  if (*tcp_address) {
    options.tcp = asio::ip::tcp::endpoint((*tcp_address)->address, (*tcp_address)->port);
  }
  if (*udp_address) {
    options.udp = asio::ip::udp::endpoint((*udp_address)->address, (*udp_address)->port);
  }
  options.max_clients = max_clients;
  options.idle_timeout = *idle_timeout;

  try {
    asio::io_context io(1);
    echo::EchoServer server(io, options);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int signal_number) {
      if (ec) return;
      log->info("stopping signal={}", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
      server.stop();
    });

    const auto tcp = server.tcp_endpoint();
    const auto udp = server.udp_endpoint();
    log->info("listening tcp={} udp={} max_clients={} idle_timeout={}",
              tcp ? echo::format_endpoint(tcp->address(), tcp->port()) : "off",
              udp ? echo::format_endpoint(udp->address(), udp->port()) : "off", max_clients,
              format_duration(*idle_timeout));

    io.run();
    log->info("stopped {}", server.summary());
    return 0;
  } catch (const std::exception& error) {
    log->error("{}", error.what());
    return 1;
  }
}
